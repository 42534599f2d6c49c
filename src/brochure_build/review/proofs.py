"""Proofs stage: renders the built screen PDFs to PNG and lays the pages out for review.

Per edition, every page as a PNG and a contact sheet of its spreads as a reader sees them; for
the whole brochure, one sheet with a row per language and a column per page, so that a page
which differs between languages shows at a glance. snapshots.py uses the same rendering, at a
low resolution, for the visual regression test.

Everything here reads PDFs that `brochure build` wrote; nothing is typeset again. The screen
PDF is used: it is RGB, has no bleed and is what a reader sees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from brochure_build.errors import BuildError, ContentError, Problem
from brochure_build.output import atomic_path
from brochure_build.paths import BUILD_DIR, output_name
from brochure_build.source import content
from brochure_build.source.model import Settings

PROOF_VARIANT = "screen"
PROOF_DPI = 100            # page PNGs: readable at 100 %, ~830 × 1170 px for A4
CONTACT_PAGE_WIDTH = 280   # px per page on a contact sheet
LANGUAGES_PAGE_WIDTH = 150  # px per page on the languages sheet
LABEL_FONT = "fonts/NotoSans-Regular.ttf"
LABEL_FONT_BOLD = "fonts/NotoSans-Bold.ttf"
BACKGROUND = "#9aa0a6"     # mid grey: white pages and white margins stand out
LABEL_COLOUR = "#1c1c1c"
GAP = 12

Spread = tuple[int | None, int | None]  # (left page, right page) as they lie open; None: no page


def page_images(pdf: Path, dpi: float = 50) -> list[Image.Image]:
    """Every page of `pdf` as an RGB PIL image at `dpi`."""
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        return [page.render(scale=dpi / 72).to_pil().convert("RGB") for page in document]
    finally:
        document.close()


def reader_spreads(page_count: int, right_to_left: bool = False) -> list[Spread]:
    """Pages as they lie open in the bound booklet, in reading order.

    Left to right: page 1 alone on the right, then 2|3, 4|5 …, an even last page alone on the
    left. A right-to-left booklet (Arabic) mirrors: page 1 alone on the left, then 3|2, 5|4 …
    (the lower page on the right), the last page alone on the right.
    """
    spreads: list[Spread] = [(1, None) if right_to_left else (None, 1)]
    for first in range(2, page_count + 1, 2):
        second = first + 1 if first + 1 <= page_count else None
        spreads.append((second, first) if right_to_left else (first, second))
    return spreads


def label_font(root: Path, size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """A project font for labels; basic layout so the sheets are the same with or without libraqm."""
    path = root / (LABEL_FONT_BOLD if bold else LABEL_FONT)
    return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)


def thumbnail(page: Image.Image, width: int) -> Image.Image:
    height = round(page.height * width / page.width)
    return page.resize((width, height), Image.Resampling.LANCZOS)


@dataclass(frozen=True)
class Layout:
    """Where a sheet puts each page: its size, and the top-left corner of every page image."""

    size: tuple[int, int]
    places: dict  # key (page number, or (row, page number)) → (x, y)


def contact_layout(page_size: tuple[int, int], page_count: int, line: int, right_to_left: bool = False,
                   per_row: int = 4) -> Layout:
    """Spreads `per_row` to a row under a title line; a right-to-left edition's rows run from the right."""
    width, height = page_size
    spreads = reader_spreads(page_count, right_to_left)
    rows = (len(spreads) + per_row - 1) // per_row
    cell_width, cell_height = 2 * width + 2 * GAP, height + line + GAP
    places = {}
    for index, spread in enumerate(spreads):
        column = index % per_row
        if right_to_left:
            column = per_row - 1 - column
        x = 2 * GAP + column * cell_width
        y = line + GAP + (index // per_row) * cell_height
        for side, number in enumerate(spread):
            if number is not None:
                places[number] = (x + side * width, y)
    return Layout((per_row * cell_width + GAP, line + GAP + rows * cell_height), places)


def contact_sheet(pages: list[Image.Image], title: str, font: ImageFont.FreeTypeFont,
                  right_to_left: bool = False) -> Image.Image:
    """The spreads of one edition as a reader sees them, each page numbered below it."""
    width, height = pages[0].size
    line = round(font.size * 1.6)
    layout = contact_layout((width, height), len(pages), line, right_to_left)
    sheet = Image.new("RGB", layout.size, BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    draw.text((2 * GAP, GAP), title, font=font, fill=LABEL_COLOUR)
    for number, (x, y) in layout.places.items():
        sheet.paste(pages[number - 1], (x, y))
        draw.text((x + width // 2, y + height + line // 2), str(number), font=font, fill=LABEL_COLOUR, anchor="mm")
    return sheet


def languages_layout(page_size: tuple[int, int], rows: int, columns: int, label_width: int, header: int) -> Layout:
    """A row per language under a header line, a column per page after a label column."""
    width, height = page_size
    places = {(row, column + 1): (label_width + GAP + column * (width + GAP), header + GAP + row * (height + GAP))
              for row in range(rows) for column in range(columns)}
    return Layout((label_width + columns * (width + GAP) + GAP, header + rows * (height + GAP) + GAP), places)


def languages_sheet(rows: list[tuple[str, list[Image.Image]]], font: ImageFont.FreeTypeFont,
                    bold: ImageFont.FreeTypeFont) -> Image.Image:
    """One row per language (its code on the left), one column per page (its number on top)."""
    width, height = rows[0][1][0].size
    columns = max(len(pages) for _, pages in rows)
    label_width, header = round(bold.size * 3), round(font.size * 1.8)
    layout = languages_layout((width, height), len(rows), columns, label_width, header)
    sheet = Image.new("RGB", layout.size, BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for column in range(1, columns + 1):
        x, _ = layout.places[(0, column)]
        draw.text((x + width // 2, header // 2 + GAP // 2), str(column), font=font, fill=LABEL_COLOUR, anchor="mm")
    for row, (code, pages) in enumerate(rows):
        _, y = layout.places[(row, 1)]
        draw.text((label_width // 2 + GAP // 2, y + height // 2), code, font=bold, fill=LABEL_COLOUR, anchor="mm")
        for number, page in enumerate(pages, 1):
            sheet.paste(page, layout.places[(row, number)])
    return sheet


def save_png(image: Image.Image, target: Path, optimize: bool = False) -> None:
    """Write atomically; Pillow's PNG has no timestamp, so the same pixels give the same bytes."""
    with atomic_path(target) as temporary:
        image.save(temporary, format="PNG", optimize=optimize)


def built_pdfs(root: Path, languages: list[str] | None) -> list[tuple[Settings, list[tuple[str, bool, Path]]]]:
    """For every product, its settings and the (code, right to left, screen PDF) of each selected
    language; fails if one is not built."""
    problems: list[Problem] = []
    products = content.load_products(root, problems)
    if not products:
        raise ContentError(problems)
    problems += content.unknown_languages(products[0], languages)
    if problems:
        raise ContentError(problems)
    result = []
    missing = []
    for settings in products:
        codes = languages or [language.code for language in settings.languages]
        editions = []
        for code in codes:
            pdf = root / BUILD_DIR / code / output_name(settings, code, PROOF_VARIANT, "pdf")
            if not pdf.is_file():
                missing.append(f"{pdf.relative_to(root)} not found")
            editions.append((code, settings.language(code).direction == "rtl", pdf))
        result.append((settings, editions))
    if missing:
        raise BuildError("\n".join(missing) + "\nProofs are made from the built PDFs: run `brochure build` (or `make`) first.")
    return result


def product_prefix(index: int, settings: Settings) -> str:
    """'' for the first product (brochure.yaml), whose proofs and snapshots keep the plain names;
    the slug for each other product, which names its own folder or files."""
    return "" if index == 0 else settings.slug


def write_proofs(root: Path, languages: list[str] | None = None, dpi: float = PROOF_DPI,
                 report: Callable[[Path], None] = lambda path: None) -> list[Path]:
    """Page PNGs and a contact sheet per edition, and the languages sheet, for every product;
    returns the files written. A product other than the first writes build/<lang>/proofs/<slug>/,
    build/<lang>/<slug>-contact-sheet.png and build/proofs/<slug>-languages.png."""
    root = root.resolve()
    font, bold = label_font(root, 22), label_font(root, 26, bold=True)
    written: list[Path] = []

    def save(image: Image.Image, target: Path) -> None:
        save_png(image, target)
        written.append(target)
        report(target)

    for index, (settings, editions) in enumerate(built_pdfs(root, languages)):
        prefix = product_prefix(index, settings)
        rows = []
        for code, right_to_left, pdf in editions:
            pages = page_images(pdf, dpi)
            folder = root / BUILD_DIR / code / "proofs" / prefix
            for stale in folder.glob("page-*.png"):  # a plan that shrank leaves no page behind
                stale.unlink()
            for number, page in enumerate(pages, 1):
                save(page, folder / f"page-{number:02d}.png")
            direction = "right to left" if right_to_left else "left to right"
            title = f"{settings.slug} · {code} · {len(pages)} pages · {PROOF_VARIANT} PDF · spreads as read, {direction}"
            small = [thumbnail(page, CONTACT_PAGE_WIDTH) for page in pages]
            save(contact_sheet(small, title, font, right_to_left),
                 root / BUILD_DIR / code / (f"{prefix}-contact-sheet.png" if prefix else "contact-sheet.png"))
            rows.append((code, [thumbnail(page, LANGUAGES_PAGE_WIDTH) for page in pages]))
        save(languages_sheet(rows, font, bold),
             root / BUILD_DIR / "proofs" / (f"{prefix}-languages.png" if prefix else "languages.png"))
    return written
