"""Imposition stage: the print file's pages as saddle-stitch printer spreads.

A saddle-stitched booklet of N pages (a multiple of 4) is N/4 sheets folded in half and nested.
Sheet s (from the outside in) carries, front: N-2s | 1+2s, back: 2+2s | N-1-2s. A right-to-left
edition (Arabic) binds on the right, so every spread mirrors: 1+2s | N-2s and so on.

Each page is placed as a form XObject clipped to its trim plus the bleed on the three outer
sides (at the spine the pages meet at the trim). The sheet keeps the print file's output intent.
Around the spread, outside the bleed and never RGB: crop and fold marks and registration targets
in the registration colour (/Separation /All, on every plate), and a colour control strip of
process-ink patches (solids, tints, overprints) across the sheet, for the press to measure ink
density zone by zone. No mark enters the gripper margin, kept free on every edge of the sheet (the
back is printed after the sheet is turned or tumbled, so the gripper edge may be any long edge).
Boxes: TrimBox = the spread's trim, BleedBox = TrimBox + bleed.
"""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    RectangleObject,
)

from brochure_build.errors import BuildError
from brochure_build.press.postprocess import write_with_content_id
from brochure_build.review.prepress import GRIPPER_MM  # the rule the preflight checks
from brochure_build.source.model import Edition

PT_PER_MM = 72 / 25.4
MARK_OFFSET_MM = 2.0  # gap between the bleed's edge and a mark
MARK_LENGTH_MM = 5.0
MARK_WIDTH_PT = 0.25
TARGET_RADIUS_MM = 2.5  # registration target: a circle and a cross-hair reaching 1 mm past it
PATCH_MM = 5.0  # control strip: square patches, one row, above the top crop marks
STRIP_GAP_MM = 1.0  # between the crop marks' ends and the strip
# Control strip patches (C, M, Y, K): solids, 50 % tints, two-colour overprints, a three-colour
# grey beside a black tint of about the same density, repeated across the sheet.
PATCHES = ((1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1),
           (0.5, 0, 0, 0), (0, 0.5, 0, 0), (0, 0, 0.5, 0), (0, 0, 0, 0.5),
           (1, 1, 0, 0), (1, 0, 1, 0), (0, 1, 1, 0), (0.5, 0.4, 0.4, 0), (0, 0, 0, 0.5))


def sheet_order(page_count: int, right_to_left: bool = False) -> list[tuple[int, int]]:
    """(left, right) page numbers of every sheet side, front then back, outermost sheet first."""
    if page_count % 4:
        raise BuildError(f"saddle stitching needs a multiple of 4 pages; the print file has {page_count}: "
                         "change the page plan in brochure/brochure.yaml")
    sides = []
    for s in range(page_count // 4):
        front = (page_count - 2 * s, 1 + 2 * s)
        back = (2 + 2 * s, page_count - 1 - 2 * s)
        sides += [front, back]
    return [(right, left) for left, right in sides] if right_to_left else sides


def impose(print_pdf: Path, target: Path, edition: Edition) -> int:
    """Write the imposed sheets of `print_pdf` to `target`; returns the number of sheet sides."""
    reader = PdfReader(print_pdf)
    settings = edition.settings
    bleed = settings.bleed_mm * PT_PER_MM
    trim = reader.pages[0].trimbox
    width, height = float(trim.width), float(trim.height)
    sheet_w, sheet_h = sorted((settings.print.sheet.width_mm * PT_PER_MM, settings.print.sheet.height_mm * PT_PER_MM), reverse=True)
    # What the marks need beyond the trim on each side, and the gripper margin beyond that.
    gripper = GRIPPER_MM * PT_PER_MM
    side = max(mark_reach(bleed), target_reach(bleed))
    top = mark_reach(bleed) + (STRIP_GAP_MM + PATCH_MM) * PT_PER_MM
    need_w, need_h = 2 * width + 2 * (side + gripper), height + side + top + 2 * gripper
    if need_w > sheet_w + 0.01 or need_h > sheet_h + 0.01:
        raise BuildError(f"brochure/brochure.yaml: print.sheet: {settings.print.sheet.width_mm:g} × "
                         f"{settings.print.sheet.height_mm:g} mm cannot hold a spread with bleed, marks, colour strip and "
                         f"a {GRIPPER_MM:g} mm gripper margin ({need_h / PT_PER_MM:.0f} × {need_w / PT_PER_MM:.0f} mm): "
                         "give a larger sheet")
    # The marked area (spread, marks and strip) centred on the sheet.
    x0 = (sheet_w - 2 * width) / 2
    y0 = (sheet_h - height - side - top) / 2 + side

    writer = PdfWriter()
    writer.pdf_header = reader.pdf_header
    forms = [page_form(writer, page, bleed) for page in reader.pages]
    registration = registration_colour_space(writer)
    for left, right in sheet_order(len(reader.pages), edition.language.direction == "rtl"):
        sheet = writer.add_blank_page(sheet_w, sheet_h)
        content = []
        xobjects = DictionaryObject()
        for number, x, clip in ((left, x0, "right"), (right, x0 + width, "left")):
            name = f"/P{number}"
            xobjects[NameObject(name)] = forms[number - 1][clip]
            source = reader.pages[number - 1].trimbox
            content.append(f"q 1 0 0 1 {x - float(source.left):.4f} {y0 - float(source.bottom):.4f} cm {name} Do Q")
        content.append(marks(x0, y0, 2 * width, height, bleed))
        content.append(registration_targets(x0, y0, 2 * width, height, bleed))
        content.append(control_strip(x0, y0 + height + mark_reach(bleed) + STRIP_GAP_MM * PT_PER_MM, 2 * width))
        sheet[NameObject("/Resources")] = DictionaryObject({
            NameObject("/XObject"): xobjects,
            NameObject("/ColorSpace"): DictionaryObject({NameObject("/Reg"): registration}),
        })
        stream = DecodedStreamObject()
        stream.set_data("\n".join(content).encode())
        sheet[NameObject("/Contents")] = writer._add_object(stream.flate_encode())
        sheet.trimbox = RectangleObject([x0, y0, x0 + 2 * width, y0 + height])
        sheet.bleedbox = RectangleObject([x0 - bleed, y0 - bleed, x0 + 2 * width + bleed, y0 + height + bleed])

    root = reader.trailer["/Root"]
    if "/OutputIntents" in root:
        writer.root_object[NameObject("/OutputIntents")] = root["/OutputIntents"].clone(writer)
    if "/Metadata" in root:
        writer.root_object[NameObject("/Metadata")] = root.raw_get("/Metadata").clone(writer).indirect_reference
    if "/Lang" in root:
        writer.root_object[NameObject("/Lang")] = root["/Lang"]
    writer.add_metadata({key: value for key, value in (reader.metadata or {}).items()})
    write_with_content_id(writer, target, edition.language.tag)
    return 2 * len(reader.pages) // 4


def page_form(writer: PdfWriter, page, bleed: float) -> dict[str, object]:
    """The page as two form XObjects: one clipped for the left of a spread, one for the right."""
    trim = page.trimbox
    resources = page.raw_get("/Resources")
    resources = resources.clone(writer) if resources is not None else DictionaryObject()
    if hasattr(resources, "indirect_reference") and resources.indirect_reference is not None:
        resources = resources.indirect_reference
    data = page.get_contents().get_data() if page.get_contents() is not None else b""
    left, bottom, right, top = float(trim.left), float(trim.bottom), float(trim.right), float(trim.top)
    forms = {}
    # "right": the page's right edge is the spine (it sits on the left of the spread).
    for spine, box in (("right", (left - bleed, bottom - bleed, right, top + bleed)),
                       ("left", (left, bottom - bleed, right + bleed, top + bleed))):
        form = DecodedStreamObject()
        form.update({
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject(FloatObject(round(v, 4)) for v in box),
            NameObject("/Resources"): resources,
            NameObject("/FormType"): NumberObject(1),
        })
        form.set_data(data)
        forms[spine] = writer._add_object(form.flate_encode())
    return forms


def registration_colour_space(writer: PdfWriter):
    """/Separation /All: marks printed on every plate, as crop marks must be."""
    tint = DictionaryObject({
        NameObject("/FunctionType"): NumberObject(2),
        NameObject("/Domain"): ArrayObject([NumberObject(0), NumberObject(1)]),
        NameObject("/C0"): ArrayObject([NumberObject(0)] * 4),
        NameObject("/C1"): ArrayObject([NumberObject(1)] * 4),
        NameObject("/N"): NumberObject(1),
    })
    return writer._add_object(ArrayObject([NameObject("/Separation"), NameObject("/All"), NameObject("/DeviceCMYK"), tint]))


def marks(x: float, y: float, width: float, height: float, bleed: float) -> str:
    """Crop marks at the spread's four corners and fold marks at the spine, outside the bleed."""
    gap = bleed + MARK_OFFSET_MM * PT_PER_MM
    length = MARK_LENGTH_MM * PT_PER_MM
    lines = []
    for cx in (x, x + width):
        for cy, direction in ((y, -1), (y + height, 1)):
            # vertical mark on the trim line, beyond the bleed
            lines.append((cx, cy + direction * gap, cx, cy + direction * (gap + length)))
    for cy in (y, y + height):
        for cx, direction in ((x, -1), (x + width, 1)):
            lines.append((cx + direction * gap, cy, cx + direction * (gap + length), cy))
    spine = x + width / 2
    lines += [(spine, y - gap, spine, y - gap - length), (spine, y + height + gap, spine, y + height + gap + length)]
    path = " ".join(f"{x1:.3f} {y1:.3f} m {x2:.3f} {y2:.3f} l" for x1, y1, x2, y2 in lines)
    return f"q /Reg CS 1 SCN {MARK_WIDTH_PT} w {path} S Q"


def mark_reach(bleed: float) -> float:
    """How far past the trim a crop or fold mark ends (pt)."""
    return bleed + (MARK_OFFSET_MM + MARK_LENGTH_MM) * PT_PER_MM


def target_reach(bleed: float) -> float:
    """How far past the trim a registration target ends (pt)."""
    return bleed + (MARK_OFFSET_MM + 2 * TARGET_RADIUS_MM + 2) * PT_PER_MM


def circle(cx: float, cy: float, r: float) -> str:
    """A circle as four Bézier arcs (k: the usual control-point distance for a quarter circle)."""
    k = 0.5523 * r
    return (f"{cx + r:.3f} {cy:.3f} m "
            f"{cx + r:.3f} {cy + k:.3f} {cx + k:.3f} {cy + r:.3f} {cx:.3f} {cy + r:.3f} c "
            f"{cx - k:.3f} {cy + r:.3f} {cx - r:.3f} {cy + k:.3f} {cx - r:.3f} {cy:.3f} c "
            f"{cx - r:.3f} {cy - k:.3f} {cx - k:.3f} {cy - r:.3f} {cx:.3f} {cy - r:.3f} c "
            f"{cx + k:.3f} {cy - r:.3f} {cx + r:.3f} {cy - k:.3f} {cx + r:.3f} {cy:.3f} c")


def registration_targets(x: float, y: float, width: float, height: float, bleed: float) -> str:
    """Targets (circle and cross-hair) in the registration colour at the middle of the spread's
    left and right sides and below the middle of each page, outside the bleed: every plate prints
    them, so the press sees at once whether the plates are in register."""
    r = TARGET_RADIUS_MM * PT_PER_MM
    arm = r + PT_PER_MM
    distance = bleed + MARK_OFFSET_MM * PT_PER_MM + arm  # from the trim to a target's centre
    centres = [(x - distance, y + height / 2), (x + width + distance, y + height / 2),
               (x + width / 4, y - distance), (x + 3 * width / 4, y - distance)]
    paths = []
    for cx, cy in centres:
        paths.append(circle(cx, cy, r))
        paths.append(f"{cx - arm:.3f} {cy:.3f} m {cx + arm:.3f} {cy:.3f} l {cx:.3f} {cy - arm:.3f} m {cx:.3f} {cy + arm:.3f} l")
    return f"q /Reg CS 1 SCN {MARK_WIDTH_PT} w {' '.join(paths)} S Q"


def control_strip(x: float, y: float, width: float) -> str:
    """One row of PATCH_MM patches in process inks (DeviceCMYK, the output intent's inks) from `y`
    up, across `width` from `x`: every ink zone of the press gets every patch in turn."""
    size = PATCH_MM * PT_PER_MM
    count = int(width // size)
    start = x + (width - count * size) / 2
    fills = []
    for i in range(count):
        c, m, y_, k = PATCHES[i % len(PATCHES)]
        fills.append(f"{c:g} {m:g} {y_:g} {k:g} k {start + i * size:.3f} {y:.3f} {size:.3f} {size:.3f} re f")
    return "q " + " ".join(fills) + " Q"
