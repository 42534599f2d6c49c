"""Postprocess stage (pypdf): what WeasyPrint's variant switches leave undone.

- print (PDF/X-4): BleedBox = TrimBox + bleed on every side (WeasyPrint caps it at 10 pt); the
  output intent names its registered condition (FOGRA39 …) instead of the profile's description,
  and embeds the profile file as it is; the Info dictionary declares GTS_PDFXVersion (WeasyPrint
  writes it only in the XMP), the XMP names the creator tool and an instance ID; no annotations
  (WeasyPrint writes the divider's links: a press file has none) and no image interpolation (the
  RIP must place the pixels as they are).
- screen (PDF/UA-1): the viewer shows the document title, pages with links tab in structure
  order, and the XMP metadata carries the language.
- both: bookmark titles read as plain text: the invisible characters the layouts set in headings
  to steer line breaks (a word joiner after a range's dash, `no_runt`) taken out, no-break spaces
  made spaces (WeasyPrint copies a heading's text as it is);
- both: the XMP DocumentID and InstanceID and the file identifier are derived from the content
  (WeasyPrint writes a random DocumentID into PDF/X files), so two builds of the same sources are
  identical.
"""

from __future__ import annotations

import hashlib
import io
import re
import uuid
from importlib.metadata import version
from pathlib import Path

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    ByteStringObject,
    DictionaryObject,
    NameObject,
    RectangleObject,
    TextStringObject,
)

from brochure_build import __version__
from brochure_build.render.fontsubsets import name_subsets
from brochure_build.render.layoutcheck import WORD_JOINER
from brochure_build.source.model import Edition

PT_PER_MM = 72 / 25.4
ICC_REGISTRY = "http://www.color.org"
DOCUMENT_ID = re.compile(rb"xmp\.did:[0-9a-f-]{36}")
INSTANCE_ID = re.compile(rb"xmp\.iid:[0-9a-f-]{36}")
PDFX_VERSION = "PDF/X-4"
INVISIBLE = {WORD_JOINER, "\u200b", "\u00ad"}  # word joiner, zero-width space, soft hyphen
NO_BREAK_SPACE = "\u00a0"


def finish(path: Path, edition: Edition, variant: str, profile_root: Path) -> None:
    """Rewrite the PDF at `path` (a temporary file) in place for `variant`; `profile_root` is
    the project folder the output profile is read from."""
    data = path.read_bytes()
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.pdf_header = data[:8]  # %PDF-1.6 for PDF/X-4, 1.7 for PDF/UA-1 (pypdf would write 1.3)
    if variant == "print":
        set_bleed_boxes(writer, edition.settings.bleed_mm * PT_PER_MM)
        profile = (profile_root / "assets" / edition.settings.print.output_profile).read_bytes()
        name_output_intent(writer, edition.settings.print.output_condition, profile)
        declare_pdfx(writer)
        remove_annotations(writer)
        remove_interpolation(writer)
    else:
        writer.root_object.setdefault(NameObject("/ViewerPreferences"), DictionaryObject())
        writer.root_object["/ViewerPreferences"][NameObject("/DisplayDocTitle")] = BooleanObject(True)
        for page in writer.pages:
            if "/Annots" in page:
                page[NameObject("/Tabs")] = NameObject("/S")
    plain_bookmark_titles(writer)
    name_subsets(writer)  # both variants: a subset's name is a hash of its glyphs, in every file
    write_with_content_id(writer, path, edition.language.tag)


def set_bleed_boxes(writer: PdfWriter, bleed_pt: float) -> None:
    for page in writer.pages:
        trim = page.trimbox
        page.bleedbox = RectangleObject([trim.left - bleed_pt, trim.bottom - bleed_pt, trim.right + bleed_pt, trim.top + bleed_pt])
        page.mediabox = page.bleedbox


def name_output_intent(writer: PdfWriter, condition: str, profile: bytes) -> None:
    """Name the registered condition, and embed the profile file byte for byte (WeasyPrint
    embeds LittleCMS's re-serialisation of it, twice the size and not the file the shop sent)."""
    for intent in writer.root_object.get("/OutputIntents", []):
        intent = intent.get_object()
        intent["/DestOutputProfile"].get_object().set_data(profile)
        description = str(intent.get("/Info", condition))
        intent[NameObject("/OutputConditionIdentifier")] = TextStringObject(condition)
        intent[NameObject("/RegistryName")] = TextStringObject(ICC_REGISTRY)
        intent[NameObject("/Info")] = TextStringObject(description)


def declare_pdfx(writer: PdfWriter) -> None:
    """GTS_PDFXVersion in the Info dictionary as well as the XMP (intake preflights read both),
    and xmp:CreatorTool and xmpMM:InstanceID in the XMP; the instance ID is set from the file's
    content by write_with_content_id."""
    tool = f"brochure_build {__version__} (WeasyPrint {version('weasyprint')})"
    writer.add_metadata({"/GTS_PDFXVersion": PDFX_VERSION, "/Creator": tool})  # /Creator: the XMP's CreatorTool
    metadata = writer.root_object.get("/Metadata")
    if metadata is None:
        return
    stream = metadata.get_object()
    xmp = stream.get_data()
    if b"xmpMM:InstanceID" not in xmp:
        description = (
            '<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/" '
            f'rdf:about=""><xmp:CreatorTool>{tool}</xmp:CreatorTool>'
            f"<xmpMM:InstanceID>xmp.iid:{uuid.UUID(bytes=bytes(16))}</xmpMM:InstanceID></rdf:Description>").encode()
        xmp = xmp.replace(b"</rdf:RDF>", description + b"</rdf:RDF>", 1)
        stream.set_data(xmp)


def plain_text(title: str) -> str:
    """A heading's text as a bookmark shows it: without the invisible format characters that
    steer line breaks (word joiner, zero-width space, soft hyphen), no-break spaces as spaces."""
    return "".join(" " if char == NO_BREAK_SPACE else char for char in title if char not in INVISIBLE)


def plain_bookmark_titles(writer: PdfWriter) -> None:
    outlines = writer.root_object.get("/Outlines")
    stack = [outlines.get_object().get("/First")] if outlines is not None else []
    while stack:
        item = stack.pop()
        item = item.get_object() if item is not None else None
        if item is None:
            continue
        title = str(item.get("/Title", ""))
        if plain_text(title) != title:
            item[NameObject("/Title")] = TextStringObject(plain_text(title))
        stack += [item.get("/Next"), item.get("/First")]


def remove_annotations(writer: PdfWriter) -> None:
    for page in writer.pages:
        if "/Annots" in page:
            del page[NameObject("/Annots")]


def remove_interpolation(writer: PdfWriter) -> None:
    """Drop /Interpolate from every image, in the pages' resources and the forms they use."""
    seen: set[int] = set()
    stack = [page.get("/Resources") for page in writer.pages]
    while stack:
        resources = stack.pop()
        resources = resources.get_object() if resources is not None else None
        if not resources or id(resources) in seen:
            continue
        seen.add(id(resources))
        for xobject in (resources.get("/XObject") or {}).values():
            xobject = xobject.get_object()
            if xobject.get("/Subtype") == "/Image":
                xobject.pop(NameObject("/Interpolate"), None)
                if "/SMask" in xobject:
                    xobject["/SMask"].get_object().pop(NameObject("/Interpolate"), None)
            elif xobject.get("/Subtype") == "/Form":
                stack.append(xobject.get("/Resources"))


def rewrite_xmp(writer: PdfWriter, digest: bytes, language: str) -> None:
    """Set the XMP DocumentID (and InstanceID, when there is one) from `digest`, and add dc:language."""
    metadata = writer.root_object.get("/Metadata")
    if metadata is None:
        return
    stream = metadata.get_object()
    xmp = stream.get_data()
    document_id = f"xmp.did:{uuid.UUID(bytes=digest[:16])}".encode()
    xmp = DOCUMENT_ID.sub(document_id, xmp)
    xmp = INSTANCE_ID.sub(f"xmp.iid:{uuid.UUID(bytes=digest[16:32].ljust(16, bytes(1)))}".encode(), xmp)
    if b"<dc:language>" not in xmp:
        language_xml = (
            '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" rdf:about="">'
            f"<dc:language><rdf:Bag><rdf:li>{language}</rdf:li></rdf:Bag></dc:language></rdf:Description>").encode()
        xmp = xmp.replace(b"</rdf:RDF>", language_xml + b"</rdf:RDF>", 1)
    stream.set_data(xmp)  # keeps the stream's filter: none in PDF/X files, whose XMP must stay readable


def write_with_content_id(writer: PdfWriter, path: Path, language: str) -> None:
    """Write with the XMP DocumentID and the file identifier (ISO 32000 14.4) derived from the
    file's own bytes, written first with placeholders: same content, same identifiers."""
    # pypdf has no public setter for the identifier (its own is random); pyproject pins pypdf.
    placeholder = ByteStringObject(bytes(16))
    writer._ID = ArrayObject([placeholder, placeholder])
    rewrite_xmp(writer, bytes(16), language)
    buffer = io.BytesIO()
    writer.write(buffer)
    digest = hashlib.sha256(buffer.getvalue()).digest()
    rewrite_xmp(writer, digest, language)
    identifier = ByteStringObject(digest[:16])
    writer._ID = ArrayObject([identifier, identifier])
    with path.open("wb") as handle:
        writer.write(handle)
