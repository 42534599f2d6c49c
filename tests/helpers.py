"""Small helpers for reading PDFs in tests."""

from __future__ import annotations

import io
import re
from pathlib import Path

from fontTools.ttLib import TTFont
from pypdf import PdfReader

SPACE = re.compile(r"\s+")
# The extraction of the source mixes ASCII and full-width punctuation; compare them as one.
PUNCTUATION = str.maketrans({",": "，", ":": "：", ";": "；", "(": "（", ")": "）"})


def normalize(text: str) -> str:
    """Whitespace-insensitive, punctuation-width-insensitive, soft-hyphen-free form of a text."""
    return SPACE.sub("", text.replace("\u00ad", "")).translate(PUNCTUATION)


def page_texts(pdf: Path) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(pdf).pages]


def embedded_fonts(pdf: Path) -> dict[str, str]:
    """BaseFont name -> full name read from the embedded font program itself ('' if none embedded)."""
    fonts = {}
    for page in PdfReader(pdf).pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = descendant["/FontDescriptor"].get_object()
            program = next((descriptor[key] for key in ("/FontFile", "/FontFile2", "/FontFile3") if key in descriptor), None)
            name = ""
            if program is not None:
                name = TTFont(io.BytesIO(program.get_object().get_data()))["name"].getDebugName(4)
            fonts[str(font["/BaseFont"])] = name
    return fonts
