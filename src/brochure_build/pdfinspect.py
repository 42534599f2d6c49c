"""Reading built PDFs back: colour spaces, image placements, structure, outline.

Shared by the tests and by preflight, so both judge a file by the same reading. Content
streams are walked with the current transformation matrix, so an image's effective
resolution is its pixels over the size it is painted at, whatever the page's own scaling.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pypdf import PdfReader
from pypdf.generic import ArrayObject, ContentStream, DictionaryObject, IndirectObject, NameObject, StreamObject

RGB_OPERATORS = {b"rg", b"RG"}


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
    value = value.get_object() if isinstance(value, IndirectObject) else value
    if isinstance(value, ArrayObject):
        return "/".join(str(part.get_object() if isinstance(part, IndirectObject) else part)
                        for part in value[:2] if not isinstance(part, (DictionaryObject, StreamObject)))
    return str(value)


def walk_content(reader: PdfReader, content, resources, ctm: tuple[float, ...], page: int) -> Iterator[tuple[str, object]]:
    """Yield ("rgb", operator) for every DeviceRGB colour operator and ("image", placement) for
    every image painted, following form XObjects."""
    stack = []
    xobjects = resources.get("/XObject", {}) if resources else {}
    for operands, operator in ContentStream(content, reader).operations:
        if operator == b"q":
            stack.append(ctm)
        elif operator == b"Q":
            ctm = stack.pop() if stack else ctm
        elif operator == b"cm":
            ctm = multiply(tuple(float(x) for x in operands), ctm)
        elif operator in RGB_OPERATORS:
            yield "rgb", operator.decode()
        elif operator == b"Do":
            xobject = xobjects[operands[0]].get_object()
            if xobject.get("/Subtype") == "/Image":
                width = math.hypot(ctm[0], ctm[1])
                height = math.hypot(ctm[2], ctm[3])
                yield "image", ImagePlacement(page, str(operands[0]), (int(xobject["/Width"]), int(xobject["/Height"])),
                                              (width, height), colour_space_name(xobject.get("/ColorSpace", "?")))
            elif xobject.get("/Subtype") == "/Form":
                matrix = tuple(float(x) for x in xobject.get("/Matrix", [1, 0, 0, 1, 0, 0]))
                yield from walk_content(reader, xobject, xobject.get("/Resources"), multiply(matrix, ctm), page)


def page_walk(pdf: Path) -> Iterator[tuple[str, object]]:
    reader = PdfReader(pdf)
    for number, page in enumerate(reader.pages, 1):
        contents = page.get_contents()
        if contents is not None:
            yield from walk_content(reader, contents, page.get("/Resources"), (1, 0, 0, 1, 0, 0), number)


def image_placements(pdf: Path) -> list[ImagePlacement]:
    return [item for kind, item in page_walk(pdf) if kind == "image"]


def rgb_operators(pdf: Path) -> int:
    """How many DeviceRGB colour operators (rg/RG) the pages and their forms use."""
    return sum(1 for kind, _ in page_walk(pdf) if kind == "rgb")


def objects_naming(pdf: Path, name: str) -> list[str]:
    """Where the name (e.g. /DeviceRGB) appears in any object of the file: colour spaces of
    images, shadings, transparency groups, resources."""
    reader = PdfReader(pdf)
    found = []
    seen: set[int] = set()

    def visit(value, where: str, depth: int = 0) -> None:
        if depth > 40:
            return
        if isinstance(value, IndirectObject):
            if value.idnum in seen:
                return
            seen.add(value.idnum)
            where = f"object {value.idnum}"
            value = value.get_object()
        if isinstance(value, NameObject) and value == name:
            found.append(where)
        elif isinstance(value, (DictionaryObject, StreamObject)):
            for key, item in value.items():
                visit(item, f"{where} {key}", depth + 1)
        elif isinstance(value, ArrayObject):
            for item in value:
                visit(item, where, depth + 1)

    visit(reader.trailer["/Root"], "catalog")
    return found
