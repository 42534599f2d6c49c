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

`name_subsets` renames the subsets of a written PDF: WeasyPrint's six-letter tag before the `+`
is a hash of the font's description only, so every edition's Noto Serif subset is called
OFSEQY+… whatever glyphs it holds, and two editions ganged on one press sheet would clash (a RIP
keeps one font per name). The tag becomes a hash of the embedded subset's own bytes: the same
subset has the same name in every file and build, a different one a different name.
"""

from __future__ import annotations

import functools
import hashlib
import os
import string
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pypdf import PdfWriter
from pypdf.generic import NameObject

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


FONT_PROGRAMS = ("/FontFile", "/FontFile2", "/FontFile3")


def subset_tag(program: bytes) -> str:
    """Six capital letters (ISO 32000 9.6.4) from the SHA-256 of a subset font program."""
    number = int.from_bytes(hashlib.sha256(program).digest()[:8], "big")
    letters = []
    for _ in range(6):
        number, letter = divmod(number, 26)
        letters.append(string.ascii_uppercase[letter])
    return "".join(letters)


def name_subsets(writer: PdfWriter) -> None:
    """Give every embedded font subset the tag of its own content (BaseFont of the font and of
    its descendant, FontName of the descriptor)."""
    done: set[int] = set()
    for page in writer.pages:
        for font in ((page.get("/Resources") or {}).get("/Font") or {}).values():
            font = font.get_object()
            if id(font) in done:
                continue
            done.add(id(font))
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = descendant.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            program = next((descriptor[key].get_object() for key in FONT_PROGRAMS if key in descriptor), None)
            name = str(font.get("/BaseFont", ""))
            if program is None or "+" not in name:
                continue  # not embedded or not a subset: nothing to name
            renamed = NameObject(f"/{subset_tag(program.get_data())}+{name.split('+', 1)[1]}")
            font[NameObject("/BaseFont")] = renamed
            descendant[NameObject("/BaseFont")] = renamed
            if "/FontName" in descriptor:
                descriptor[NameObject("/FontName")] = renamed
