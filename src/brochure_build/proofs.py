"""Proofs stage: renders PDF pages to PNG with pypdfium2, and lays pages out as spreads."""

from __future__ import annotations

from pathlib import Path

from PIL import Image


def page_images(pdf: Path, dpi: float = 50) -> list[Image.Image]:
    """Every page of `pdf` as a PIL image at `dpi`."""
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        return [page.render(scale=dpi / 72).to_pil() for page in document]
    finally:
        document.close()


def spreads_sheet(pages: list[Image.Image], right_to_left: bool = False, gap: int = 12) -> Image.Image:
    """Pages as a reader sees them: the cover alone, then facing pairs, the back cover alone."""
    width, height = pages[0].size
    groups = [[pages[0]]] + [pages[i:i + 2] for i in range(1, len(pages) - 1, 2)] + [[pages[-1]]]
    columns = 4  # spreads per row
    rows = (len(groups) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * (2 * width + gap) + gap, rows * (height + gap) + gap), "#9aa0a6")
    for index, group in enumerate(groups):
        x = gap + (index % columns) * (2 * width + gap)
        y = gap + (index // columns) * (height + gap)
        if index == 0:
            x += 0 if right_to_left else width  # a cover sits on the side a reader opens
        ordered = list(reversed(group)) if right_to_left else group
        for offset, page in enumerate(ordered):
            sheet.paste(page, (x + offset * width, y))
    return sheet
