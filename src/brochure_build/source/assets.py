"""Photos: every figure of the plan is a readable image inside assets/, checked before anything renders.

WeasyPrint logs an image it cannot read and lays out an empty box; Pillow decodes each photo
here instead (JPEGs in draft mode, at an eighth of their size, which still reads every byte),
so a missing, empty, corrupt or truncated file fails the build naming the figure and the file.
So does a photo with more pixels than the brochure can use (MAX_PIXELS_MARGIN times what
300 ppi needs at the largest frame: a bigger file only costs memory and time), a link that loops,
and an embedded colour profile (ICC) that LittleCMS cannot read or that does not match the
image's colours.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from PIL import Image, ImageCms, ImageFile

from brochure_build.errors import Problem
from brochure_build.source.content import SETTINGS_FILE
from brochure_build.source.model import FigureSpec, Settings
from brochure_build.source.sandbox import resolved_link

PRINT_PPI = 300
# A photo may have this many times the pixels that 300 ppi at the largest frame needs: room for a
# camera's full frame (a 61-megapixel camera fits with the A4 cover's 9.1 megapixels × 8), not for a bomb.
MAX_PIXELS_MARGIN = 8
# The colour space an ICC profile must describe for each image mode (xcolor_space, padded by LittleCMS).
PROFILE_SPACE = {"RGB": "RGB", "RGBA": "RGB", "RGBX": "RGB", "CMYK": "CMYK", "L": "GRAY", "LA": "GRAY", "I;16": "GRAY"}


def max_pixels(settings: Settings) -> tuple[int, FigureSpec | None]:
    """The pixel count above which a photo is refused, and the largest frame it derives from."""
    largest = max(settings.figures.values(), key=lambda figure: figure.width_mm * figure.tallest_mm, default=None)
    if largest is None:
        return Image.MAX_IMAGE_PIXELS or 0, None
    width, height = largest.pixels_at(PRINT_PPI)
    return width * height * MAX_PIXELS_MARGIN, largest


def figure_problems(root: Path, settings: Settings) -> list[Problem]:
    """One problem for every figure whose file cannot be placed."""
    problems = []
    limit = max_pixels(settings)
    for figure in settings.figures.values():
        message = figure_file_problem(root, figure, limit)
        if message:
            problems.append(Problem(SETTINGS_FILE, figure.line, f"figures.{figure.id}.file", message))
    return problems


def figure_file_problem(root: Path, figure: FigureSpec, limit: tuple[int, FigureSpec | None] = (0, None)) -> str:
    root = root.resolve()
    assets = root / "assets"
    shown = f"assets/{figure.file}"
    path = assets / figure.file
    resolved, loop = resolved_link(path)
    if resolved is None:
        return f"{shown} is {loop}"
    if not resolved.is_relative_to(root):
        return f"{shown} is a link to {resolved}, outside the project folder: put the photo itself in assets/"
    if not resolved.is_relative_to(assets):
        return f"{shown} leads out of assets/ (to {resolved.relative_to(root)}): put the photo itself in assets/"
    if not resolved.is_file():
        return f"{shown} not found (run `make photos` to create stand-ins)"
    if resolved.stat().st_size == 0:
        return f"{shown} is empty (0 bytes): replace it with the photo"
    return image_problem(resolved, shown, limit)


def describe_limit(limit: tuple[int, FigureSpec | None]) -> str:
    pixels, largest = limit
    why = f" ({MAX_PIXELS_MARGIN} × what {PRINT_PPI} ppi needs at the largest frame, " \
          f"{largest.width_mm:g} × {largest.tallest_mm:g} mm)" if largest else ""
    return f"the limit of {pixels / 1e6:.1f} megapixels{why}"


def image_problem(path: Path, shown: str, limit: tuple[int, FigureSpec | None] = (0, None)) -> str:
    """'' if Pillow decodes the whole image, else what is wrong with it."""
    lenient = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # importing WeasyPrint turns it on for the whole process
    try:
        with warnings.catch_warnings():
            # Pillow warns (on stderr) between its two thresholds; the limit below says it in our words.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                pixels = image.width * image.height
                if limit[0] and pixels > limit[0]:
                    return (f"{shown} is {image.width:,} × {image.height:,} pixels ({pixels / 1e6:.1f} megapixels), over "
                            f"{describe_limit(limit)}: scale it down")
                profile = profile_problem(image)
                if profile:
                    return f"{shown} {profile}"
                image.draft("RGB", (max(image.width // 8, 1), max(image.height // 8, 1)))
                image.load()
    except Image.DecompressionBombError:
        return (f"{shown} has too many pixels to be a photo (a decompression bomb?), over "
                f"{describe_limit(limit) if limit[0] else 'what Pillow opens'}: replace it")
    except Image.UnidentifiedImageError:
        return f"{shown} is not an image Pillow can read: replace it with a JPEG or PNG"
    except (OSError, SyntaxError, ValueError, EOFError) as error:  # Pillow's decoders raise all of these on bad data
        return f"{shown} is damaged ({error}): replace it with a complete copy"
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = lenient
    return ""


def profile_problem(image: Image.Image) -> str:
    """What is wrong with the image's embedded ICC profile ('' if none, or a usable one)."""
    embedded = image.info.get("icc_profile")
    if not embedded:
        return ""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(embedded))
    except (OSError, ImageCms.PyCMSError) as error:
        return (f"has a damaged colour profile (ICC, {len(embedded):,} bytes: {error}): export the photo again "
                "with its profile, or without one (then sRGB is assumed, or the output profile for CMYK)")
    space = profile.profile.xcolor_space.strip()
    expected = PROFILE_SPACE.get(image.mode)
    if expected is None:
        return f"is in {image.mode} mode with a colour profile: export it as an RGB or CMYK JPEG"
    if space != expected:
        return (f"is {image.mode} but its colour profile (ICC) describes {space}: export the photo again "
                "with the profile of its own colours")
    return ""
