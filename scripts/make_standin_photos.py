"""Create stand-in photos for every figure in brochure/brochure.yaml.

The real photos are not available. Each stand-in has the pixel size of 300 ppi at its placed
frame (brochure.yaml `figures`) and the file name the layouts use, so a real photo of the same
name can be dropped into assets/ later without touching anything else. Existing files are kept
unless --force is given. The images are deterministic: the same settings give the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from brochure_build.source.content import load_settings  # noqa: E402

PRINT_PPI = 300


def standin(figure_id: str, size: tuple[int, int]) -> Image.Image:
    """A calm two-tone gradient with soft bands and the figure's name, seeded by its id."""
    seed = hashlib.sha256(figure_id.encode()).digest()
    top = (40 + seed[0] % 60, 80 + seed[1] % 80, 120 + seed[2] % 100)
    bottom = (10 + seed[3] % 40, 30 + seed[4] % 50, 60 + seed[5] % 60)
    width, height = size
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), gradient)
    draw = ImageDraw.Draw(image)
    for band in range(6):
        y = height * (band + 1) // 7
        shade = tuple(min(255, c + 18) for c in top)
        draw.rectangle((0, y, width, y + height // 60), fill=shade)
    label = f"{figure_id}  ·  stand-in {width} x {height} px"
    font = ImageFont.load_default(size=max(24, width // 40))
    draw.text((width // 20, height - height // 8), label, fill=(235, 240, 245), font=font)
    return image


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--force", action="store_true", help="overwrite existing photos")
    args = parser.parse_args()
    problems: list = []
    settings = load_settings(args.root, problems)
    if settings is None:
        print("\n".join(map(str, problems)), file=sys.stderr)
        return 1
    for figure in settings.figures.values():
        target = args.root / "assets" / figure.file
        if target.exists() and not args.force:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        size = figure.pixels_at(PRINT_PPI)
        standin(figure.id, size).save(target, "JPEG", quality=88, dpi=(PRINT_PPI, PRINT_PPI), optimize=True)
        print(f"{target.relative_to(args.root)}: {size[0]}×{size[1]} px ({PRINT_PPI} ppi at {figure.width_mm:g}×{figure.tallest_mm:g} mm)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
