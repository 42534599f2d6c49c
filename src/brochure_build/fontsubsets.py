"""Subset-font cache: a font is subset once for a set of glyphs, not at every PDF written.

WeasyPrint subsets every font it embeds, each time it writes a PDF (HarfBuzz, in
weasyprint/pdf/fonts.py `Font.subset`): 0.13 s for the three CJK faces of the Chinese edition,
a few hundredths for a Latin face. The print and screen files of an edition embed the same
glyphs, and so does the next build after a change of colour, margin or photo that moves no
character in or out. A subset depends only on the font's bytes, the glyph ids kept, whether
hinting is kept, whether the .notdef outline is kept, and the WeasyPrint and HarfBuzz that make
it; `SubsetCache` keeps each result under a hash of exactly those, in build/.cache/fonts/, and
the least recently used are removed past MAX_BYTES.

Patches WeasyPrint 70 (pinned in pyproject.toml) inside `SubsetCache.active()` only; tests
check that the fonts embedded with the cache are byte-identical to those made without it.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from brochure_build.output import OutputError, atomic_path

CACHE_DIR = "build/.cache/fonts"
MAX_BYTES = 100 * 1024 * 1024  # the Chinese edition's subsets take 3 MB; room for many revisions of the text


class SubsetCache:
    """Subset fonts remembered on disk (`directory`), for every process of a build and the preview."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.hits = 0
        self.misses = 0

    @contextmanager
    def active(self) -> Iterator[None]:
        """Within the block, WeasyPrint's font subsetting goes through the cache."""
        import weasyprint
        from weasyprint.pdf.fonts import Font

        original = Font.subset
        makers = f"weasyprint {weasyprint.__version__}, harfbuzz {harfbuzz_version()}"
        cache = self

        def subset(font, to_unicode, hinting):
            if not to_unicode:
                return original(font, to_unicode, hinting)
            key = hashlib.sha256(font.file_content)
            key.update(repr((makers, font.index, sorted(to_unicode), bool(hinting), bool(font.missing))).encode())
            path = cache.directory / f"{key.hexdigest()[:32]}.{font.type}"
            try:
                font.file_content = path.read_bytes()
                os.utime(path)  # recently used
                cache.hits += 1
                return None
            except OSError:
                pass
            original(font, to_unicode, hinting)
            cache.misses += 1
            try:
                with atomic_path(path) as temporary:
                    temporary.write_bytes(font.file_content)
            except (OSError, OutputError):
                pass  # a cache that cannot be written only costs time; the PDF is right either way
            return None

        Font.subset = subset
        try:
            yield
        finally:
            Font.subset = original


@functools.cache
def harfbuzz_version() -> str:
    """The version of the HarfBuzz library WeasyPrint subsets with (dlopen gives the one loaded)."""
    import cffi

    ffi = cffi.FFI()
    ffi.cdef("const char *hb_version_string (void);")
    for name in ("libharfbuzz.so.0", "libharfbuzz.0.dylib", "libharfbuzz-0.dll", "harfbuzz"):
        try:
            return ffi.string(ffi.dlopen(name).hb_version_string()).decode()
        except (OSError, AttributeError):
            continue
    return "unknown"


def prune(directory: Path, max_bytes: int = MAX_BYTES) -> None:
    """Remove the least recently used subsets until the cache holds at most `max_bytes`."""
    try:
        # Not the dot files: another process's subset being written.
        entries = sorted(((path.stat().st_mtime, path.stat().st_size, path) for path in directory.iterdir()
                          if path.is_file() and not path.name.startswith(".")), reverse=True)
    except OSError:
        return
    kept = 0
    for _, size, path in entries:
        kept += size
        if kept > max_bytes:
            path.unlink(missing_ok=True)
