"""Small helpers for reading PDFs in tests."""

from __future__ import annotations

import re
import signal
from pathlib import Path

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
    from brochure_build.review.filechecks import embedded_fonts as read_embedded_fonts

    return {base: name or "" for base, name in read_embedded_fonts(PdfReader(pdf))}


def ctrl_c_as_in_a_terminal() -> None:
    """For Popen(preexec_fn=…): Ctrl-C (SIGINT) at its default in the child, as in a terminal. A
    test run started in the background by a shell inherits SIGINT ignored, and so would the
    build it starts, which then would not stop when the test sends it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
