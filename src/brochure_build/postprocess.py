"""Postprocess stage (pypdf): what WeasyPrint's variant switches leave undone.

- print (PDF/X-4): BleedBox = TrimBox + bleed on every side (WeasyPrint caps it at 10 pt); the
  output intent names its registered condition (FOGRA39 …) instead of the profile's description,
  and embeds the profile file as it is.
- screen (PDF/UA-1): the viewer shows the document title, pages with links tab in structure
  order, and the XMP metadata carries the language.
- both: the XMP DocumentID and the file identifier are derived from the content (WeasyPrint
  writes a random DocumentID into PDF/X files), so two builds of the same sources are identical.
"""

from __future__ import annotations

import hashlib
import io
import re
import uuid
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

from brochure_build.model import Edition

PT_PER_MM = 72 / 25.4
ICC_REGISTRY = "http://www.color.org"
DOCUMENT_ID = re.compile(rb"xmp\.did:[0-9a-f-]{36}")


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
    else:
        writer.root_object.setdefault(NameObject("/ViewerPreferences"), DictionaryObject())
        writer.root_object["/ViewerPreferences"][NameObject("/DisplayDocTitle")] = BooleanObject(True)
        for page in writer.pages:
            if "/Annots" in page:
                page[NameObject("/Tabs")] = NameObject("/S")
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


def rewrite_xmp(writer: PdfWriter, digest: bytes, language: str) -> None:
    """Set the XMP DocumentID from `digest` and add dc:language."""
    metadata = writer.root_object.get("/Metadata")
    if metadata is None:
        return
    stream = metadata.get_object()
    xmp = stream.get_data()
    document_id = f"xmp.did:{uuid.UUID(bytes=digest[:16])}".encode()
    xmp = DOCUMENT_ID.sub(document_id, xmp)
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
