"""Checks on a written PDF: which fonts it embeds, against the families its language may use."""

from __future__ import annotations

import re
from pathlib import Path

from pypdf import PdfReader

SUBSET_PREFIX = re.compile(r"^[A-Z]{6}\+")
STYLE_SUFFIX = re.compile(r"-(Bold|Italic|BoldItalic|Regular)$")


def font_family(base_font: str) -> str:
    """'/ABCDEF+Brochure-Sans-CJK-Bold' -> 'Brochure Sans CJK' (WeasyPrint names fonts by family)."""
    name = SUBSET_PREFIX.sub("", base_font.lstrip("/"))
    return STYLE_SUFFIX.sub("", name).replace("-", " ")


def font_families(pdf: Path) -> set[str]:
    """Every font family the PDF embeds (WeasyPrint shares one font dictionary between pages)."""
    return {font_family(str(font.get_object()["/BaseFont"]))
            for page in PdfReader(pdf).pages
            for font in (page["/Resources"].get("/Font") or {}).values()}


def fallback_problems(pdf: Path, allowed: tuple[str, ...], context: str) -> list[str]:
    return [f"{context}: font {family!r} is used but is not one of this language's fonts ({', '.join(allowed)}): "
            "a fallback for some character; give that text a font stack in layouts/css/languages.css"
            for family in sorted(font_families(pdf) - set(allowed))]
