"""Reading built PDFs back: colour spaces, image placements, missing glyphs, named objects.

Shared by the tests and by preflight, so both judge a file by the same reading. Content
streams are parsed by pikepdf (qpdf, in C++: a CJK page in milliseconds, where pypdf's parser
takes a second) and walked with the current transformation matrix, so an image's effective
resolution is its pixels over the size it is painted at, whatever the page's own scaling.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pikepdf

RGB_OPERATORS = {b"rg", b"RG"}
TEXT_OPERATORS = {b"Tj", b"TJ", b"'", b'"'}
OPERATORS = "q Q cm Do rg RG Tj TJ ' \""


def has_notdef(operands) -> bool:
    """WeasyPrint writes two-byte glyph ids (Identity-H); glyph 0 is .notdef, a missing glyph."""
    strings = []
    for operand in operands:
        strings += list(operand) if isinstance(operand, pikepdf.Array) else [operand]
    for value in strings:
        if isinstance(value, pikepdf.String):
            data = bytes(value)
            # The string as two-byte glyph ids, compared in C (a Python loop over the bytes was a
            # quarter of preflight's time); 0 is the same whichever the byte order.
            if 0 in memoryview(data[:len(data) & ~1]).cast("H"):
                return True
    return False


@dataclass(frozen=True)
class ImagePlacement:
    page: int  # 1-based
    name: str
    pixels: tuple[int, int]
    placed_pt: tuple[float, float]
    colour_space: str

    @property
    def ppi(self) -> float:
        """Effective resolution: the lower of the two axes."""
        width_in, height_in = self.placed_pt[0] / 72, self.placed_pt[1] / 72
        return min(self.pixels[0] / width_in, self.pixels[1] / height_in)


def multiply(m: tuple[float, ...], n: tuple[float, ...]) -> tuple[float, ...]:
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (a * a2 + b * c2, a * b2 + b * d2, c * a2 + d * c2, c * b2 + d * d2, e * a2 + f * c2 + e2, e * b2 + f * d2 + f2)


def colour_space_name(value) -> str:
    """/DeviceCMYK, /DeviceRGB …; for an array colour space its family (/ICCBased, /Separation)."""
    if isinstance(value, pikepdf.Array):
        return str(value[0]) if len(value) else "?"
    return str(value) if value is not None else "?"


def walk_content(container, resources, ctm: tuple[float, ...], page: int) -> Iterator[tuple[str, object]]:
    """Yield ("rgb", operator), ("notdef", page) and ("image", placement) for what the content
    stream of `container` (a page or a form XObject) paints, following form XObjects."""
    stack = []
    xobjects = resources.get("/XObject", {}) if resources is not None else {}
    for operands, operator in pikepdf.parse_content_stream(container, OPERATORS):
        operator = bytes(operator)
        if operator == b"q":
            stack.append(ctm)
        elif operator == b"Q":
            ctm = stack.pop() if stack else ctm
        elif operator == b"cm":
            ctm = multiply(tuple(float(x) for x in operands), ctm)
        elif operator in RGB_OPERATORS:
            yield "rgb", operator.decode()
        elif operator in TEXT_OPERATORS:
            if has_notdef(operands):
                yield "notdef", page
        elif operator == b"Do":
            xobject = xobjects.get(str(operands[0]))
            if xobject is None:
                continue
            if xobject.get("/Subtype") == "/Image":
                width = math.hypot(ctm[0], ctm[1])
                height = math.hypot(ctm[2], ctm[3])
                yield "image", ImagePlacement(page, str(operands[0]), (int(xobject.Width), int(xobject.Height)),
                                              (width, height), colour_space_name(xobject.get("/ColorSpace")))
            elif xobject.get("/Subtype") == "/Form":
                matrix = tuple(float(x) for x in xobject.get("/Matrix", [1, 0, 0, 1, 0, 0]))
                yield from walk_content(xobject, xobject.get("/Resources"), multiply(matrix, ctm), page)


def page_walk(pdf: Path) -> Iterator[tuple[str, object]]:
    with pikepdf.open(pdf) as document:
        for number, page in enumerate(document.pages, 1):
            yield from walk_content(page, page.obj.get("/Resources"), (1, 0, 0, 1, 0, 0), number)


@dataclass
class PageReading:
    """What one walk over a file's pages found."""

    images: list[ImagePlacement]
    rgb_operators: int
    notdef_pages: list[int]


def read_pages(pdf: Path) -> PageReading:
    """One walk over the file's pages; cached per file version (preflight asks several times)."""
    stat = pdf.stat()
    return _read_pages(pdf.resolve(), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _read_pages(pdf: Path, mtime_ns: int, size: int) -> PageReading:
    reading = PageReading([], 0, [])
    for kind, item in page_walk(pdf):
        if kind == "image":
            reading.images.append(item)
        elif kind == "rgb":
            reading.rgb_operators += 1
        elif kind == "notdef" and item not in reading.notdef_pages:
            reading.notdef_pages.append(item)
    return reading


def image_placements(pdf: Path) -> list[ImagePlacement]:
    return read_pages(pdf).images


def rgb_operators(pdf: Path) -> int:
    """How many DeviceRGB colour operators (rg/RG) the pages and their forms use."""
    return read_pages(pdf).rgb_operators


def objects_naming(pdf: Path, name: str) -> list[str]:
    """Where the name (e.g. /DeviceRGB) appears in any object of the file: colour spaces of
    images, shadings, transparency groups, resources."""
    target = pikepdf.Name(name)
    found = []

    def visit(value, where: str) -> None:
        if isinstance(value, pikepdf.Name):
            if value == target:
                found.append(where)
        elif isinstance(value, (pikepdf.Dictionary, pikepdf.Stream)):
            for key, item in value.items():
                if not (isinstance(item, pikepdf.Object) and item.is_indirect):  # visited on their own
                    visit(item, f"{where} {key}")
        elif isinstance(value, pikepdf.Array):
            for item in value:
                if not (isinstance(item, pikepdf.Object) and item.is_indirect):
                    visit(item, where)

    with pikepdf.open(pdf) as document:
        for obj in document.objects:
            if isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream, pikepdf.Array)):
                visit(obj, f"object {obj.objgen[0]}")
        visit(document.trailer, "trailer")
    return found
