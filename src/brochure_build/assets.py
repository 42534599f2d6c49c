"""Photos: every figure of the plan is a readable image inside assets/, checked before anything renders.

WeasyPrint logs an image it cannot read and lays out an empty box; Pillow decodes each photo
here instead (JPEGs in draft mode, at an eighth of their size, which still reads every byte),
so a missing, empty, corrupt or truncated file fails the build naming the figure and the file.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageFile

from brochure_build.content import SETTINGS_FILE
from brochure_build.errors import Problem
from brochure_build.model import FigureSpec, Settings


def figure_problems(root: Path, settings: Settings) -> list[Problem]:
    """One problem for every figure whose file cannot be placed."""
    problems = []
    for figure in settings.figures.values():
        message = figure_file_problem(root, figure)
        if message:
            problems.append(Problem(SETTINGS_FILE, figure.line, f"figures.{figure.id}.file", message))
    return problems


def figure_file_problem(root: Path, figure: FigureSpec) -> str:
    root = root.resolve()
    assets = root / "assets"
    shown = f"assets/{figure.file}"
    path = assets / figure.file
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        return f"{shown} is a link to {resolved}, outside the project folder: put the photo itself in assets/"
    if not resolved.is_relative_to(assets):
        return f"{shown} leads out of assets/ (to {resolved.relative_to(root)}): put the photo itself in assets/"
    if not resolved.is_file():
        return f"{shown} not found (run `make photos` to create stand-ins)"
    if resolved.stat().st_size == 0:
        return f"{shown} is empty (0 bytes): replace it with the photo"
    return image_problem(resolved, shown)


def image_problem(path: Path, shown: str) -> str:
    """'' if Pillow decodes the whole image, else what is wrong with it."""
    lenient = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # importing WeasyPrint turns it on for the whole process
    try:
        with Image.open(path) as image:
            image.draft("RGB", (max(image.width // 8, 1), max(image.height // 8, 1)))
            image.load()
    except Image.DecompressionBombError:
        return f"{shown} has too many pixels to be a photo (a decompression bomb?): replace it"
    except Image.UnidentifiedImageError:
        return f"{shown} is not an image Pillow can read: replace it with a JPEG or PNG"
    except (OSError, SyntaxError, ValueError, EOFError) as error:  # Pillow's decoders raise all of these on bad data
        return f"{shown} is damaged ({error}): replace it with a complete copy"
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = lenient
    return ""
