"""Checks on a written PDF: which fonts it embeds, against the families its language may use."""

from __future__ import annotations

import re
from pathlib import Path

SUBSET_PREFIX = re.compile(r"^[A-Z]{6}\+")
STYLE_SUFFIX = re.compile(r"-(Bold|Italic|BoldItalic|Regular)$")


def font_family(base_font: str) -> str:
    """'/ABCDEF+Brochure-Sans-CJK-Bold' -> 'Brochure Sans CJK' (WeasyPrint names fonts by family)."""
    name = SUBSET_PREFIX.sub("", base_font.lstrip("/"))
    return STYLE_SUFFIX.sub("", name).replace("-", " ")


def font_families(pdf: Path) -> set[str]:
    """Every font family the PDF embeds (WeasyPrint shares one font dictionary between pages).
    Read with pikepdf, which reads only the objects asked for (pypdf parses every object
    stream it meets: 0.17 s for a screen file, against 0.02 s)."""
    import pikepdf

    with pikepdf.open(pdf) as document:
        return {font_family(str(font.get("/BaseFont", "")))
                for page in document.pages
                for font in (page.obj.get("/Resources", {}).get("/Font") or {}).values()}


def fallback_problems(pdf: Path, allowed: tuple[str, ...], context: str) -> list[str]:
    return [f"{context}: font {family!r} is used but is not one of this language's fonts ({', '.join(allowed)}): "
            "a fallback for some character; give that text a font stack in layouts/css/languages.css"
            for family in sorted(font_families(pdf) - set(allowed))]
