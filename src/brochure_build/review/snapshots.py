"""Visual regression: approved low-resolution snapshots of every page, and the comparison with them.

`brochure proofs --snapshots DIR` (`make approve`) writes DIR/<lang>/page-NN.png from the built
screen PDFs; tests/test_visual.py renders the pages again and compares them with `compare_pages`.

The comparison ignores what anti-aliasing changes and looks for clusters of change. A pixel
counts as changed only by the amount its value lies outside the range of the other image's
3 × 3 neighbourhood (either way round): a glyph edge rendered a shade lighter, or a quarter of a
pixel to the side, takes a value its neighbours already have. A page then fails when changed
pixels are dense somewhere: strongly changed pixels over a small window (moved or changed text,
another colour of a heading, a missing photo), or weakly changed pixels over most of a larger
window (a flat tint or a photo a little lighter or darker). Scattered noise, even a lot of it,
never fills a window. tests/test_visual.py records the measurements these defaults come from.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from brochure_build.review.proofs import BACKGROUND, GAP, LABEL_COLOUR, built_pdfs, page_images, product_prefix, save_png

SNAPSHOT_DPI = 30  # ~250 × 350 px for A4, ~20 kB a page


@dataclass(frozen=True)
class Tolerance:
    strong: int = 48             # a channel off by more than this (of 255) is a strong change …
    strong_window: int = 9       # … and fails when it covers more than strong_share of a window this wide (px)
    strong_share: float = 0.30
    weak: int = 16               # a change beyond this (a tint, a photo's exposure) …
    weak_window: int = 15        # … fails when it covers more than weak_share of a window this wide
    weak_share: float = 0.75


@dataclass(frozen=True)
class Difference:
    """How a page differs from its approved snapshot."""

    strong_share: float     # the largest share of strongly changed pixels in any strong_window
    weak_share: float       # the largest share of weakly changed pixels in any weak_window
    strong_fraction: float  # strongly changed pixels over the whole page (for the report)
    same_size: bool = True

    def fails(self, tolerance: Tolerance) -> bool:
        return (not self.same_size or self.strong_share > tolerance.strong_share
                or self.weak_share > tolerance.weak_share)

    def describe(self, tolerance: Tolerance) -> str:
        if not self.same_size:
            return "the page size changed"
        return (f"{self.strong_share:.0%} of a {tolerance.strong_window} px square changed by more than {tolerance.strong} "
                f"(limit {tolerance.strong_share:.0%}), {self.weak_share:.0%} of a {tolerance.weak_window} px square by more "
                f"than {tolerance.weak} (limit {tolerance.weak_share:.0%}); {self.strong_fraction:.2%} of the page")


def snapshot_images(pdf: Path) -> list[Image.Image]:
    """The pages of `pdf` at the snapshot resolution: what is approved and what is compared."""
    return page_images(pdf, SNAPSHOT_DPI)


def write_snapshots(root: Path, directory: Path, languages: list[str] | None = None,
                    report: Callable[[Path], None] = lambda path: None) -> list[Path]:
    """Approve the current pages: rewrite `directory`/<lang>/page-NN.png from the built screen PDFs
    (`directory`/<slug>/<lang>/ for a product other than the first)."""
    root = root.resolve()
    written = []
    for index, (settings, editions) in enumerate(built_pdfs(root, languages)):
        written += write_product_snapshots(directory / product_prefix(index, settings), editions, report)
    return written


def write_product_snapshots(directory: Path, editions: list, report: Callable[[Path], None]) -> list[Path]:
    written = []
    for code, _, pdf in editions:
        pages = snapshot_images(pdf)
        folder = directory / code
        if folder.exists():
            shutil.rmtree(folder)  # pages that no longer exist must not stay approved
        for number, page in enumerate(pages, 1):
            target = folder / f"page-{number:02d}.png"
            save_png(page, target, optimize=True)  # committed: smallest file, slower to write
            written.append(target)
            report(target)
    return written


def largest_channel(image: Image.Image) -> Image.Image:
    red, green, blue = image.split()
    return ImageChops.lighter(ImageChops.lighter(red, green), blue)


def outside_neighbourhood(image: Image.Image, other: Image.Image) -> Image.Image:
    """Per pixel, how far `image` lies outside the range of `other`'s 3 × 3 neighbourhood (largest channel)."""
    above = ImageChops.subtract(image, other.filter(ImageFilter.MaxFilter(3)))
    below = ImageChops.subtract(other.filter(ImageFilter.MinFilter(3)), image)
    return largest_channel(ImageChops.lighter(above, below))


def difference_image(old: Image.Image, new: Image.Image) -> Image.Image:
    """Greyscale: per pixel, the difference that no neighbouring pixel explains, either way round."""
    old, new = old.convert("RGB"), new.convert("RGB")
    return ImageChops.lighter(outside_neighbourhood(new, old), outside_neighbourhood(old, new))


def beyond(difference: Image.Image, threshold: int) -> Image.Image:
    return difference.point(lambda value: 255 if value > threshold else 0)


def densest_share(mask: Image.Image, window: int) -> float:
    """The largest share of set pixels in any `window` × `window` square of `mask`."""
    return mask.filter(ImageFilter.BoxBlur(window // 2)).getextrema()[1] / 255


def compare_pages(old: Image.Image, new: Image.Image, tolerance: Tolerance = Tolerance()) -> Difference:
    """Compare two renders of a page; a different size (another page format) is a total difference."""
    if old.size != new.size:
        return Difference(1.0, 1.0, 1.0, same_size=False)
    difference = difference_image(old, new)
    strong = beyond(difference, tolerance.strong)
    return Difference(densest_share(strong, tolerance.strong_window),
                      densest_share(beyond(difference, tolerance.weak), tolerance.weak_window),
                      strong.histogram()[255] / (new.width * new.height))


def diff_sheet(old: Image.Image, new: Image.Image, tolerance: Tolerance = Tolerance(),
               font: ImageFont.FreeTypeFont | None = None) -> Image.Image:
    """approved | now | difference: the new page faded, strong changes magenta, weak ones orange."""
    if old.size != new.size:
        old = old.resize(new.size)
    old, new = old.convert("RGB"), new.convert("RGB")
    difference = difference_image(old, new)
    marked = Image.blend(new.convert("L").convert("RGB"), Image.new("RGB", new.size, "white"), 0.7)
    for threshold, colour in ((tolerance.weak, "#f5a623"), (tolerance.strong, "#ff00ff")):
        marked = Image.composite(Image.new("RGB", new.size, colour), marked, beyond(difference, threshold))
    header = round(font.size * 1.8) if font else 0
    sheet = Image.new("RGB", (3 * new.width + 4 * GAP, new.height + header + 2 * GAP), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for index, (label, image) in enumerate((("approved", old), ("now", new), ("difference", marked))):
        x = GAP + index * (new.width + GAP)
        if font:
            draw.text((x, GAP), label, font=font, fill=LABEL_COLOUR)
        sheet.paste(image, (x, header + GAP))
    return sheet
