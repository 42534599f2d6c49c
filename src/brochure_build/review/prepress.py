"""Prepress rules: what a print shop's intake finds in the press files (print and imposed).

One place for the rules the preflight applies beyond boxes and colour spaces, each named in its
messages, `<file>: [page N: ]<rule>: <what is wrong>`:

| rule | fails when |
|---|---|
| PDF/X-4 (ISO 15930-7) identification | Info lacks GTS_PDFXVersion "PDF/X-4" or /Trapped True or False, |
| | or the XMP lacks pdfxid:GTS_PDFXVersion |
| PDF/X-4 (ISO 15930-7) metadata | the XMP lacks xmp:CreatorTool, CreateDate, ModifyDate, xmpMM:DocumentID, |
| | InstanceID, VersionID or RenditionClass |
| print shop: annotations | a page of a press file has annotations (links, notes …): the press file has none |
| print shop: image interpolation | an image asks the RIP to smooth it (/Interpolate true) |
| print shop: bleed | colour that reaches the trim stops before the bleed edge: rendered, page by page, edge by edge |
| print shop: marks outside the bleed | a mark of an imposed sheet enters the BleedBox |
| print shop: gripper margin | a mark of an imposed sheet lies within GRIPPER_MM of the sheet's edge |
| print shop: colour control strip | an imposed sheet side lacks solid C, M, Y and K patches outside the bleed |
| print shop: registration targets | an imposed sheet side lacks two registration targets (circles in /Separation /All) |

The bleed check renders each print page with pypdfium2 (only the strips along its edges: EdgeStrips)
and compares, along every edge, the pixels just inside the trim with those at the bleed edge: where
the first are inked and the second are paper, a background stops at the trim and the cut leaves a
white sliver.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

import pikepdf

from brochure_build.output import touch, write_text_atomic

PT_PER_MM = 72 / 25.4
GRIPPER_MM = 10.0  # the press holds the sheet here: no mark within it, on any edge (turned or tumbled backs)

PDFX_IDENTIFICATION = "PDF/X-4 (ISO 15930-7) identification"
PDFX_METADATA = "PDF/X-4 (ISO 15930-7) metadata"
ANNOTATIONS = "print shop: annotations"
INTERPOLATION = "print shop: image interpolation"
BLEED = "print shop: bleed"
MARKS_IN_BLEED = "print shop: marks outside the bleed"
GRIPPER = "print shop: gripper margin"
CONTROL_STRIP = "print shop: colour control strip"
REGISTRATION = "print shop: registration targets"

RENDER_SCALE = 4 / PT_PER_MM  # 4 px per mm (about 100 dpi): the bleed is 12 px, a sliver of 0.25 mm shows
INSIDE_TRIM_MM = 0.5  # where "just inside the trim" is sampled
PAPER = 250  # a rendered pixel with every channel at or above this is paper
MIN_SLIVER_MM = 1.0  # shorter runs along an edge are anti-aliasing, not a missing bleed

XMP_REQUIRED = {
    "{http://ns.adobe.com/xap/1.0/}CreatorTool": "xmp:CreatorTool",
    "{http://ns.adobe.com/xap/1.0/}CreateDate": "xmp:CreateDate",
    "{http://ns.adobe.com/xap/1.0/}ModifyDate": "xmp:ModifyDate",
    "{http://ns.adobe.com/xap/1.0/mm/}DocumentID": "xmpMM:DocumentID",
    "{http://ns.adobe.com/xap/1.0/mm/}InstanceID": "xmpMM:InstanceID",
    "{http://ns.adobe.com/xap/1.0/mm/}VersionID": "xmpMM:VersionID",
    "{http://ns.adobe.com/xap/1.0/mm/}RenditionClass": "xmpMM:RenditionClass",
}
PDFXID_VERSION = "{http://www.npes.org/pdfx/ns/id/}GTS_PDFXVersion"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
PROCESS_SOLIDS = {(1.0, 0.0, 0.0, 0.0): "C", (0.0, 1.0, 0.0, 0.0): "M", (0.0, 0.0, 1.0, 0.0): "Y", (0.0, 0.0, 0.0, 1.0): "K"}


def press_problems(print_pdf: Path, imposed_pdf: Path, cache: Path | None = None) -> list[tuple[str, str]]:
    """Every prepress rule on an edition's press files: (preflight check, message) pairs; the
    check is "colour" for the file's standard and content, "boxes" for what lies where. `cache`:
    where the bleed check keeps each page's finding (bleed_problems)."""
    problems = []
    for variant, pdf in (("print", print_pdf), ("imposed", imposed_pdf)):
        with pikepdf.open(pdf) as document:
            problems += [("colour", f"{variant}: {message}") for message in pdfx_problems(document)]
            problems += [("colour", f"{variant}: {message}") for message in annotation_problems(document)]
            problems += [("colour", f"{variant}: {message}") for message in interpolation_problems(document)]
            if variant == "imposed":
                problems += [("boxes", f"{variant}: {message}") for message in sheet_problems(document)]
    problems += [("boxes", f"print: {message}") for message in bleed_problems(print_pdf, cache)]
    return problems


def xmp_properties(xmp: bytes) -> dict[str, str]:
    """Properties of an XMP packet, written as elements or as attributes of rdf:Description."""
    properties: dict[str, str] = {}
    try:
        root = ElementTree.fromstring(re.sub(rb"<\?xpacket[^>]*\?>", b"", xmp).strip())
    except ElementTree.ParseError:
        return properties
    for description in root.iter(f"{RDF}Description"):
        for key, value in description.attrib.items():
            if not key.startswith(RDF):
                properties[key] = value
        for child in description:
            properties[child.tag] = "".join(child.itertext()).strip()
    return properties


def pdfx_problems(document: pikepdf.Pdf) -> list[str]:
    """PDF/X-4 version in Info and XMP, the trapping state, and the XMP identifiers."""
    problems = []
    info = document.trailer.get("/Info") or {}
    if str(info.get("/GTS_PDFXVersion", "")) != "PDF/X-4":
        problems.append(f"{PDFX_IDENTIFICATION}: the Info dictionary has no /GTS_PDFXVersion (PDF/X-4)")
    if str(info.get("/Trapped", "")) not in ("/True", "/False"):
        problems.append(f"{PDFX_IDENTIFICATION}: the Info dictionary's /Trapped is not /True or /False")
    metadata = document.Root.get("/Metadata")
    properties = xmp_properties(metadata.read_bytes()) if metadata is not None else {}
    if properties.get(PDFXID_VERSION) != "PDF/X-4":
        problems.append(f"{PDFX_IDENTIFICATION}: the XMP metadata has no pdfxid:GTS_PDFXVersion PDF/X-4")
    missing = [name for key, name in XMP_REQUIRED.items() if not properties.get(key)]
    if missing:
        problems.append(f"{PDFX_METADATA}: the XMP metadata lacks {', '.join(missing)}")
    return problems


def annotation_problems(document: pikepdf.Pdf) -> list[str]:
    problems = []
    for number, page in enumerate(document.pages, 1):
        annotations = list(page.obj.get("/Annots") or [])
        if annotations:
            kinds = sorted({str(annotation.get("/Subtype", "?")).lstrip("/") for annotation in annotations})
            objects = ", ".join(str(a.objgen[0]) for a in annotations[:3] if a.is_indirect)
            problems.append(f"page {number}: {ANNOTATIONS}: {len(annotations)} {'/'.join(kinds)} annotations "
                            f"(objects {objects}{' …' if len(annotations) > 3 else ''}): a press file has none")
    return problems


def interpolation_problems(document: pikepdf.Pdf) -> list[str]:
    problems = []
    for obj in document.objects:
        if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == "/Image" and bool(obj.get("/Interpolate", False)):
            problems.append(f"image object {obj.objgen[0]}: {INTERPOLATION}: /Interpolate true: the RIP would smooth "
                            "the photo's pixels; remove the key")
    return problems


# -- rendered bleed --------------------------------------------------------------------------------

def inked(pixel: tuple[int, ...]) -> bool:
    return min(pixel[:3]) < PAPER


def bleed_problems(print_pdf: Path, cache: Path | None = None) -> list[str]:
    """Per page and edge: where the rendered page is inked just inside the trim but paper at the
    bleed edge, over MIN_SLIVER_MM or more of the edge's length. With `cache` (a folder), each
    page's finding is kept under a digest of everything the page draws (page_digest): after an
    edit, only the pages whose drawing changed are rendered again."""
    import pypdfium2 as pdfium

    problems = []
    document = None
    with pikepdf.open(print_pdf) as boxes:
        for number, record in enumerate(boxes.pages, 1):
            media = [float(v) for v in record.obj.get("/MediaBox")]
            trim = [float(v) for v in record.obj.get("/TrimBox", record.obj.get("/MediaBox"))]
            entry = cache / f"{page_digest(record.obj, media, trim)}.json" if cache is not None else None
            try:
                found = dict(json.loads(entry.read_text(encoding="utf-8"))) if entry is not None else None
                if entry is not None:
                    touch(entry)  # recently used: kept by preflight's pruning
            except (OSError, ValueError, TypeError):
                found = None
            if found is None:
                document = document or pdfium.PdfDocument(str(print_pdf))
                found = missing_bleed(EdgeStrips(document[number - 1], media, trim), media, trim)
                if entry is not None:
                    write_text_atomic(entry, json.dumps(sorted(found.items())))
            for edge, millimetres in found.items():
                problems.append(f"page {number}: {BLEED}: colour reaches the trim along the {edge} edge but stops before "
                                f"the bleed edge over {millimetres:.0f} mm: the background must run "
                                f"{(trim[0] - media[0]) / PT_PER_MM:.0f} mm past the trim (a white sliver after cutting)")
    return problems


def page_digest(page: pikepdf.Dictionary, media: list[float], trim: list[float]) -> str:
    """A digest of what a page draws: its content streams and every resource they reach (fonts,
    images, forms, colour spaces), byte for byte; its boxes; and the rules of the bleed check
    and the renderer's version, so a change to either checks every page again."""
    import pypdfium2

    digest = hashlib.sha256(repr((media, trim, RENDER_SCALE, INSIDE_TRIM_MM, PAPER, MIN_SLIVER_MM,
                                  pypdfium2.version.PDFIUM_INFO.build)).encode())
    numbering: dict[tuple[int, int], int] = {}  # an object reached twice: its first number, not its bytes again

    def visit(value) -> None:
        if not isinstance(value, pikepdf.Object):  # a number or boolean, as pikepdf hands them out
            digest.update(repr(value).encode() + b" ")
            return
        if value.is_indirect:
            if value.objgen in numbering:
                digest.update(b"@%d" % numbering[value.objgen])
                return
            numbering[value.objgen] = len(numbering)
        if isinstance(value, pikepdf.Stream):
            digest.update(b"stream%d:" % len(value.read_raw_bytes()) + value.read_raw_bytes())
            visit_dictionary(value.stream_dict)
        elif isinstance(value, pikepdf.Dictionary):
            visit_dictionary(value)
        elif isinstance(value, pikepdf.Array):
            digest.update(b"[")
            for item in value:
                visit(item)
            digest.update(b"]")
        else:
            digest.update(repr(value).encode() + b" ")

    def visit_dictionary(dictionary) -> None:
        digest.update(b"<<")
        for key in sorted(dictionary.keys()):
            if key not in PAGE_LINKS:
                digest.update(key.encode())
                visit(dictionary[key])
        digest.update(b">>")

    visit_dictionary(page)
    return digest.hexdigest()[:32]


PAGE_LINKS = {"/Parent", "/StructParents", "/Annots", "/Length"}  # where a page sits, not what it draws


class EdgeStrips:
    """A print page rendered at RENDER_SCALE, but only the four strips along its edges that
    missing_bleed reads: from each edge of the media box to just past the point sampled inside the
    trim (a quarter of the page's pixels at most; 12 pages in 0.5 s rather than 1.9 s). Reads like
    the whole page's image: `size` and `load()[x, y]`; pdfium places each strip on the whole page's
    pixel grid (crop moves the bitmap, not the page), so the pixels are those of the whole render."""

    def __init__(self, page, media: list[float], trim: list[float]):
        # The whole page's size in pixels, as pypdfium2 computes it for render(scale=RENDER_SCALE).
        self.size = (math.ceil(page.get_width() * RENDER_SCALE), math.ceil(page.get_height() * RENDER_SCALE))
        width, height = self.size
        scale = width / (media[2] - media[0])
        inset = INSIDE_TRIM_MM * PT_PER_MM
        # How many pixels each strip takes from its edge: past the sampled point, and past the
        # pixel sampled at the bleed edge (the second from the edge).
        self.top = max(round((media[3] - (trim[3] - inset)) * scale), 1) + 1
        self.bottom = height - min(round((media[3] - (trim[1] + inset)) * scale), height - 2)
        self.left = max(round((trim[0] + inset - media[0]) * scale), 1) + 1
        self.right = width - min(round((trim[2] - inset - media[0]) * scale), width - 2)
        self.strips = {
            "top": self.render(page, (0, 0, 0, height - self.top)),
            "bottom": self.render(page, (0, height - self.bottom, 0, 0)),
            "left": self.render(page, (0, 0, width - self.left, 0)),
            "right": self.render(page, (width - self.right, 0, 0, 0)),
        }

    @staticmethod
    def render(page, crop_px: tuple[int, int, int, int]):
        """The part of the page left after cutting `crop_px` pixels off (left, top, right, bottom)."""
        left, top, right, bottom = crop_px
        # pypdfium2 crops by ceil(points × scale) pixels; half a pixel less than the count is exact.
        crop = tuple((px - 0.5) / RENDER_SCALE if px > 0 else 0 for px in (left, bottom, right, top))
        return page.render(scale=RENDER_SCALE, crop=crop).to_pil().convert("RGB").load()

    def load(self) -> EdgeStrips:
        return self

    def __getitem__(self, point: tuple[int, int]) -> tuple[int, ...]:
        x, y = point
        width, height = self.size
        if y < self.top:
            return self.strips["top"][x, y]
        if y >= height - self.bottom:
            return self.strips["bottom"][x, y - (height - self.bottom)]
        if x < self.left:
            return self.strips["left"][x, y]
        if x >= width - self.right:
            return self.strips["right"][x - (width - self.right), y]
        raise IndexError(f"pixel {point} is in no edge strip")


def missing_bleed(image, media: list[float], trim: list[float]) -> dict[str, float]:
    """Edge -> length (mm) along which `image` (the page rendered at RENDER_SCALE, whole or its
    EdgeStrips) is inked just inside the trim and paper at the bleed edge."""
    width, height = image.size
    scale = width / (media[2] - media[0])

    def x_px(x: float) -> int:
        return round((x - media[0]) * scale)

    def y_px(y: float) -> int:  # PDF y grows upwards, image rows downwards
        return round((media[3] - y) * scale)

    inset = INSIDE_TRIM_MM * PT_PER_MM
    left, right = x_px(trim[0]), x_px(trim[2])
    top, bottom = y_px(trim[3]), y_px(trim[1])
    pixels = image.load()
    edges = {
        # edge: (points just inside the trim, the matching points at the bleed edge)
        "top": ([(x, y_px(trim[3] - inset)) for x in range(left, right)], [(x, 1) for x in range(left, right)]),
        "bottom": ([(x, y_px(trim[1] + inset)) for x in range(left, right)], [(x, height - 2) for x in range(left, right)]),
        "left": ([(x_px(trim[0] + inset), y) for y in range(top, bottom)], [(1, y) for y in range(top, bottom)]),
        "right": ([(x_px(trim[2] - inset), y) for y in range(top, bottom)], [(width - 2, y) for y in range(top, bottom)]),
    }
    bleed_px = {"top": top, "bottom": height - bottom, "left": left, "right": width - right}
    found = {}
    for edge, (inside, outside) in edges.items():
        if bleed_px[edge] < 3:
            continue  # no bleed on this edge (a screen page): nothing to compare
        short = sum(1 for a, b in zip(inside, outside, strict=True) if inked(pixels[a]) and not inked(pixels[b]))
        millimetres = short / scale / PT_PER_MM
        if millimetres >= MIN_SLIVER_MM:
            found[edge] = millimetres
    return found


# -- imposed sheets --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mark:
    """One subpath painted on the sheet itself (not inside a placed page)."""

    box: tuple[float, float, float, float]  # left, bottom, right, top in sheet coordinates
    painted: str  # "stroke" or "fill"
    colour: tuple[float, ...] | str  # CMYK values for a DeviceCMYK fill, or the colour space's name
    curved: bool


def multiply(m: tuple[float, ...], n: tuple[float, ...]) -> tuple[float, ...]:
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (a * a2 + b * c2, a * b2 + b * d2, c * a2 + d * c2, c * b2 + d * d2, e * a2 + f * c2 + e2, e * b2 + f * d2 + f2)


def colour_space_label(resources, name) -> str:
    """'registration' for /Separation /All, else the family's name."""
    space = ((resources or {}).get("/ColorSpace") or {}).get(str(name), name)
    if isinstance(space, pikepdf.Array) and len(space) >= 2 and space[0] == "/Separation":
        return "registration" if space[1] == "/All" else f"separation {space[1]}"
    return str(space[0] if isinstance(space, pikepdf.Array) else space)


def sheet_marks(page: pikepdf.Page) -> list[Mark]:
    """Every subpath the sheet's own content paints, with its colour; the placed pages (Do) are skipped."""
    resources = page.obj.get("/Resources")
    marks: list[Mark] = []
    state = {"ctm": (1, 0, 0, 1, 0, 0), "fill": "DeviceGray", "stroke": "DeviceGray"}
    stack = []
    subpaths: list[tuple[list[tuple[float, float]], bool]] = []

    def point(x, y):
        a, b, c, d, e, f = state["ctm"]
        return (a * x + c * y + e, b * x + d * y + f)

    for operands, operator in pikepdf.parse_content_stream(page):
        op = str(operator)
        values = [float(v) for v in operands if not isinstance(v, (pikepdf.Name, pikepdf.Object))] \
            if op in {"m", "l", "c", "v", "y", "re", "cm", "k", "K"} else []
        if op == "q":
            stack.append(dict(state))
        elif op == "Q" and stack:
            state = stack.pop()
        elif op == "cm":
            state["ctm"] = multiply(tuple(values), state["ctm"])
        elif op == "k":
            state["fill"] = tuple(values)
        elif op == "K":
            state["stroke"] = tuple(values)
        elif op == "cs":
            state["fill"] = colour_space_label(resources, operands[0])
        elif op == "CS":
            state["stroke"] = colour_space_label(resources, operands[0])
        elif op == "m":
            subpaths.append(([point(*values)], False))
        elif op in {"l", "c", "v", "y"} and subpaths:
            points, curved = subpaths[-1]
            points += [point(values[i], values[i + 1]) for i in range(0, len(values), 2)]
            subpaths[-1] = (points, curved or op != "l")
        elif op == "re":
            x, y, w, h = values
            subpaths.append(([point(x, y), point(x + w, y), point(x + w, y + h), point(x, y + h)], False))
        elif op in {"S", "s", "f", "F", "f*", "B", "B*", "b", "b*", "n"}:
            painted = "stroke" if op in {"S", "s"} else "fill"
            if op != "n":
                for points, curved in subpaths:
                    xs, ys = [p[0] for p in points], [p[1] for p in points]
                    marks.append(Mark((min(xs), min(ys), max(xs), max(ys)), painted, state[painted], curved))
            subpaths = []
    return marks


def overlaps(box: tuple[float, ...], area: list[float], tolerance: float = 0.01) -> bool:
    return box[0] < area[2] - tolerance and box[2] > area[0] + tolerance and box[1] < area[3] - tolerance and box[3] > area[1] + tolerance


def sheet_problems(document: pikepdf.Pdf) -> list[str]:
    """Marks outside the bleed and the gripper margin; a control strip and registration targets."""
    problems = []
    gripper = GRIPPER_MM * PT_PER_MM
    for number, page in enumerate(document.pages, 1):
        media = [float(v) for v in page.obj.MediaBox]
        bleed = [float(v) for v in page.obj.get("/BleedBox", page.obj.MediaBox)]
        marks = sheet_marks(page)
        in_bleed = [mark for mark in marks if overlaps(mark.box, bleed)]
        if in_bleed:
            problems.append(f"sheet side {number}: {MARKS_IN_BLEED}: {len(in_bleed)} marks inside the BleedBox "
                            f"(the first at {describe(in_bleed[0].box)})")
        free = [media[0] + gripper, media[1] + gripper, media[2] - gripper, media[3] - gripper]
        outside = [mark for mark in marks
                   if mark.box[0] < free[0] or mark.box[1] < free[1] or mark.box[2] > free[2] or mark.box[3] > free[3]]
        if outside:
            closest = min(min(mark.box[0] - media[0], mark.box[1] - media[1], media[2] - mark.box[2], media[3] - mark.box[3])
                          for mark in outside)
            problems.append(f"sheet side {number}: {GRIPPER}: {len(outside)} marks within {GRIPPER_MM:g} mm of the sheet's "
                            f"edge (the closest {max(closest, 0) / PT_PER_MM:.1f} mm from it)")
        solids = {PROCESS_SOLIDS[mark.colour] for mark in marks
                  if mark.painted == "fill" and isinstance(mark.colour, tuple) and mark.colour in PROCESS_SOLIDS
                  and not overlaps(mark.box, bleed)}
        if solids != set(PROCESS_SOLIDS.values()):
            lacking = "".join(ink for ink in "CMYK" if ink not in solids)
            problems.append(f"sheet side {number}: {CONTROL_STRIP}: no solid patch of {', '.join(lacking)} outside the bleed "
                            "(the press measures each ink's density on it)")
        targets = [mark for mark in marks if mark.painted == "stroke" and mark.colour == "registration" and mark.curved]
        if len(targets) < 2:
            problems.append(f"sheet side {number}: {REGISTRATION}: {len(targets)} registration targets in the registration "
                            "colour (/Separation /All), at least 2 needed to check the plates' register")
    return problems


def describe(box: tuple[float, ...]) -> str:
    return f"{box[0] / PT_PER_MM:.1f}, {box[1] / PT_PER_MM:.1f} mm from the sheet's lower left corner"
