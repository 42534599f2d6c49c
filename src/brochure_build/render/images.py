"""Images stage: the photo files each variant embeds, converted once and cached.

- print: converted to the output profile's CMYK with LittleCMS (Pillow's ImageCms), from the
  photo's embedded profile (sRGB when it has none), relative colorimetric with black point
  compensation; full resolution kept, so the press gets every pixel the photographer gave.
  A CMYK photo is kept as it is: its numbers are meant for the press.
- screen: sRGB, downsampled to 150 ppi at the placed size, so the web file stays small. A CMYK
  photo without a profile is read as being in the output profile (what its numbers were made for).

Converted files live in build/.cache/images/, named by a hash of the source bytes, the profile
and the settings: a rebuild, or the other languages, reuse them without converting again. Each
use marks a file used; the build removes the least recently used past MAX_CACHE_BYTES (a photo
replaced again and again leaves its old conversions behind).
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image, ImageCms

from brochure_build.errors import BuildError
from brochure_build.output import atomic_path, prune_least_recent, touch
from brochure_build.source.model import FigureSpec, Settings

SCREEN_PPI = 150
CACHE_DIR = Path("build") / ".cache" / "images"
# Bumped when the conversion changes, so cached files made the old way are not reused.
CONVERSION_VERSION = "1"
JPEG_QUALITY = {"print": 92, "screen": 82}
# A print conversion keeps every pixel: this brochure's 8 photos take 4.9 MB for both variants.
MAX_CACHE_BYTES = 500 * 1024 * 1024


def output_profile_path(root: Path, settings: Settings) -> Path:
    return root / "assets" / settings.print.output_profile


def load_output_profile(root: Path, settings: Settings) -> ImageCms.ImageCmsProfile:
    """The print output profile; a clear error if it is missing or not a CMYK output profile."""
    path = output_profile_path(root, settings)
    where = f"brochure/brochure.yaml: print.output_profile: assets/{settings.print.output_profile}"
    if not path.resolve().is_relative_to((root / "assets").resolve()):
        raise BuildError(f"{where} is outside assets/")
    if not path.is_file():
        raise BuildError(f"{where} not found")
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(path.read_bytes()))
    except (OSError, ImageCms.PyCMSError) as error:
        raise BuildError(f"{where} is not a valid ICC profile ({error})") from None
    if profile.profile.xcolor_space.strip() != "CMYK":
        raise BuildError(f"{where} describes {profile.profile.xcolor_space.strip()}, not CMYK: "
                         "the press needs a CMYK output profile")
    return profile


def prepare_images(root: Path, settings: Settings, variant: str, figures: list[FigureSpec]) -> dict[str, Path]:
    """Map each figure id to the file the `variant` embeds, converting (or reusing) as needed."""
    profile_bytes = output_profile_path(root, settings).read_bytes() if variant == "print" else b""
    return {figure.id: prepare_image(root, settings, variant, figure, profile_bytes) for figure in figures}


def convert_images(root: Path, requests: list[tuple[Settings, str, list[FigureSpec]]], threads: int) -> None:
    """prepare_images for each (settings, variant, figures) of `requests`, the photos converted on
    `threads` threads at once: Pillow decodes, converts (LittleCMS), resamples and encodes without
    holding the GIL, so two cores convert about twice as fast. The files are those prepare_images
    writes; a photo that cannot be converted fails as it would there (the first in order)."""
    tasks = []
    for settings, variant, figures in requests:
        profile_bytes = output_profile_path(root, settings).read_bytes() if variant == "print" else b""
        tasks += [(settings, variant, figure, profile_bytes) for figure in figures]
    if threads <= 1 or len(tasks) <= 1:
        for task in tasks:
            prepare_image(root, *task)
        return
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="photos")
    try:
        futures = [pool.submit(prepare_image, root, *task) for task in tasks]
        for future in futures:
            future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # on a failure or Ctrl-C, the photos not yet begun are not


def prepare_image(root: Path, settings: Settings, variant: str, figure: FigureSpec, profile_bytes: bytes) -> Path:
    """The file of one figure for `variant` in the cache, converted unless it is there already."""
    cache = root / CACHE_DIR
    source = root / "assets" / figure.file
    data = source.read_bytes()
    key = hashlib.sha256(b"\0".join([
        CONVERSION_VERSION.encode(), variant.encode(), data, profile_bytes,
        f"{figure.width_mm}x{figure.tallest_mm}".encode()])).hexdigest()[:24]
    target = cache / f"{figure.id}-{variant}-{key}.jpg"
    if target.is_file():
        touch(target)  # recently used: kept by prune()
    else:
        image = open_photo(data, figure, source, root)
        output = lambda: load_output_profile(root, settings)  # noqa: E731 - read only when a photo needs it
        try:
            converted = to_cmyk(image, output()) if variant == "print" else to_screen(image, figure, output)
        except (OSError, ImageCms.PyCMSError) as error:  # checked before rendering (assets.py); a last guard
            raise BuildError(f"brochure/brochure.yaml:{figure.line}: figures.{figure.id}.file: "
                             f"{source.relative_to(root)}: its colours cannot be converted for {variant} ({error}): "
                             "export it as an RGB JPEG with its colour profile") from None
        with atomic_path(target) as temporary:
            dpi = (SCREEN_PPI, SCREEN_PPI) if variant == "screen" else image.info.get("dpi", (300, 300))
            converted.save(temporary, "JPEG", quality=JPEG_QUALITY[variant], dpi=dpi)
    return target


def prune(directory: Path) -> None:
    """Remove the least recently used converted photos beyond MAX_CACHE_BYTES in all."""
    prune_least_recent(directory, max_bytes=MAX_CACHE_BYTES)


def open_photo(data: bytes, figure: FigureSpec, source: Path, root: Path) -> Image.Image:
    try:
        with warnings.catch_warnings():  # the size was checked against the brochure's own limit (assets.py)
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.load()
    except (OSError, Image.DecompressionBombError, SyntaxError, ValueError) as error:
        raise BuildError(f"brochure/brochure.yaml: figures.{figure.id}.file: {source.relative_to(root)} "
                         f"is not a readable image ({error})") from None
    return image


def srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def to_srgb(image: Image.Image, output: Callable[[], ImageCms.ImageCmsProfile]) -> Image.Image:
    """The photo in sRGB: from its embedded profile; untagged CMYK is taken to be in the output profile."""
    embedded = image.info.get("icc_profile")
    if embedded:
        source = ImageCms.ImageCmsProfile(io.BytesIO(embedded))
    elif image.mode == "CMYK":
        source = output()
    else:
        # Web browsers and PDF viewers assume sRGB for untagged RGB: so do we.
        return image.convert("RGB")
    return ImageCms.profileToProfile(image, source, srgb_profile(), outputMode="RGB",
                                     renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)


def to_cmyk(image: Image.Image, output: ImageCms.ImageCmsProfile) -> Image.Image:
    if image.mode == "CMYK":
        return image
    embedded = image.info.get("icc_profile")
    if embedded and image.mode == "RGB":
        source = ImageCms.ImageCmsProfile(io.BytesIO(embedded))
        rgb = image
    else:  # untagged, or another mode (grey, palette): through sRGB
        source = srgb_profile()
        rgb = to_srgb(image, lambda: output)
    transform = ImageCms.buildTransform(
        source, output, "RGB", "CMYK",
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC, flags=ImageCms.Flags.BLACKPOINTCOMPENSATION)
    return ImageCms.applyTransform(rgb, transform)


def to_screen(image: Image.Image, figure: FigureSpec, output: Callable[[], ImageCms.ImageCmsProfile]) -> Image.Image:
    if image.mode != "RGB" or image.info.get("icc_profile"):
        image = to_srgb(image, output)
    width, height = figure.pixels_at(SCREEN_PPI)
    # Cover the frame (object-fit: cover) at 150 ppi: scale so both sides reach the frame.
    scale = max(width / image.width, height / image.height)
    if scale < 1:
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
    return image
