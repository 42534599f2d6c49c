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
import string
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pypdf import PdfWriter
from pypdf.generic import NameObject

from brochure_build.output import OutputError, atomic_path, prune_least_recent, touch

CACHE_DIR = "build/.cache/fonts"
MAX_BYTES = 100 * 1024 * 1024  # the Chinese edition's subsets take 3 MB; room for many revisions of the text
# Whole faces kept in memory between PDFs (see SubsetCache.active): the four CJK faces take 83 MB.
MAX_FACE_BYTES = 128 * 1024 * 1024


WEASYPRINT: dict[str, object] = {}  # WeasyPrint's own Font.subset, while SubsetCache.active() replaces it


class SubsetCache:
    """Subset fonts remembered on disk (`directory`), for every process of a build and the preview."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.hits = 0
        self.misses = 0
        # Whole faces read for earlier PDFs, by the address of their HarfBuzz face: a reference to
        # the face (while it is held, no other face can have that address), its bytes, and their
        # hash; and the same hash by the id of those bytes (held here, so the id stays theirs).
        self.faces: dict[int, tuple[object, bytes]] = {}
        self.face_hashes: dict[int, object] = {}
        self.face_bytes = 0
        # Every subset embedded since the last `made.clear()`: sha256 of its program -> what it was
        # made from (face hash, index, glyph ids, hinting, .notdef outline), for `united`.
        self.made: dict[str, list] = {}

    def whole_face(self, read, hb_face) -> bytes:
        """The bytes of the whole font of `hb_face` (`read`: WeasyPrint's reader), read once per
        face: WeasyPrint copies them anew for every PDF it writes (16–25 MB per CJK face, 0.02 s
        each), and the cache hashed every copy."""
        from weasyprint.text.ffi import ffi, harfbuzz

        address = int(ffi.cast("uintptr_t", hb_face))
        known = self.faces.get(address)
        if known is None:
            data = read(hb_face)
            if not data:
                return data
            if self.face_bytes + len(data) > MAX_FACE_BYTES:
                self.faces.clear()
                self.face_hashes.clear()
                self.face_bytes = 0
            held = ffi.gc(harfbuzz.hb_face_reference(hb_face), harfbuzz.hb_face_destroy)
            known = self.faces[address] = (held, data)
            self.face_hashes[id(data)] = hashlib.sha256(data)
            self.face_bytes += len(data)
        return known[1]

    def known_face(self, face: str) -> bytes | None:
        """The bytes of a whole face this process has read (whole_face) whose sha256 is `face`
        (hex): the join unites the subsets of the faces its parts were just written with, and
        needs not read and hash the font file again."""
        for _, data in self.faces.values():
            if self.face_hashes[id(data)].hexdigest() == face:
                return data
        return None

    def content_hash(self, content: bytes):
        """sha256 of a font's bytes; of a whole face kept by whole_face, computed once."""
        known = self.face_hashes.get(id(content))  # the ids of bytes held in self.faces only
        return known.copy() if known is not None else hashlib.sha256(content)

    @contextmanager
    def active(self) -> Iterator[None]:
        """Within the block, WeasyPrint's font subsetting goes through the cache, and each whole
        face is read once (whole_face)."""
        from weasyprint.pdf import fonts as pdf_fonts
        from weasyprint.pdf.fonts import Font

        original = WEASYPRINT.setdefault("subset", Font.subset)  # the first seen is WeasyPrint's own
        original_init = Font.__init__
        read = pdf_fonts.get_hb_object_data
        cache = self

        def init(font, *args, **kwargs):
            # Font.__init__ reads its whole face through the module's get_hb_object_data (subsetting
            # reads the new subset face through it too: that one is not kept). A PDF is written by
            # one thread of a process at a time.
            pdf_fonts.get_hb_object_data = lambda hb_face, *more: cache.whole_face(read, hb_face) if not more else read(hb_face, *more)
            try:
                original_init(font, *args, **kwargs)
            finally:
                pdf_fonts.get_hb_object_data = read

        def subset(font, to_unicode, hinting):
            if not to_unicode:
                return original(font, to_unicode, hinting)
            def make() -> bytes:
                original(font, to_unicode, hinting)  # leaves the subset in font.file_content
                return font.file_content

            face = cache.content_hash(font.file_content).hexdigest()
            glyphs = sorted(to_unicode)
            font.file_content = cache.subset(font.file_content, font.index, glyphs, bool(hinting), bool(font.missing), make)
            cache.made[hashlib.sha256(font.file_content).hexdigest()] = [face, font.index, glyphs, bool(hinting), bool(font.missing)]
            return None

        Font.subset = subset
        Font.__init__ = init
        try:
            yield
        finally:
            Font.subset = original
            Font.__init__ = original_init

    def subset(self, face: bytes, index: int, glyphs: list[int], hinting: bool, missing: bool, make) -> bytes:
        """The subset of the font `face` (its whole file) keeping the glyph ids `glyphs`: from the
        cache, or made by `make()` and kept."""
        import weasyprint

        key = self.content_hash(face)
        makers = f"weasyprint {weasyprint.__version__}, harfbuzz {harfbuzz_version()}"
        key.update(repr((makers, index, glyphs, hinting, missing)).encode())
        path = self.directory / f"{key.hexdigest()[:32]}.{'otf' if face[:4] == b'OTTO' else 'ttf'}"
        try:
            program = path.read_bytes()
            touch(path)  # recently used: kept by prune()
            self.hits += 1
            return program
        except OSError:
            pass
        program = make()
        self.misses += 1
        try:
            with atomic_path(path) as temporary:
                temporary.write_bytes(program)
        except (OSError, OutputError):
            pass  # a cache that cannot be written only costs time; the PDF is right either way
        return program

    def united(self, face: bytes, index: int, glyphs: list[int], hinting: bool, missing: bool) -> bytes:
        """One subset of `face` for the glyphs of several (press/join.py: an edition's parts, each
        written with its own subset, share one): the subset WeasyPrint makes when it writes the
        whole edition, which keeps the glyphs every part uses at the same ids (HarfBuzz keeps
        them: content streams name glyphs by id)."""
        from weasyprint.pdf.fonts import Font

        def make() -> bytes:
            # WeasyPrint's Font, without the Pango font it is made from: subsetting reads only these.
            font = Font.__new__(Font)
            font.hb_face, font.index, font.missing, font.family, font.file_content = \
                harfbuzz_face(face, index), index, missing, "", face
            WEASYPRINT.get("subset", Font.subset)(font, dict.fromkeys(glyphs), hinting)
            return font.file_content

        return self.subset(face, index, sorted(glyphs), hinting, missing, make)


def face_file(folders: list[Path], face: str) -> bytes | None:
    """The bytes of the font file among `folders` whose sha256 is `face` (hex), if any."""
    from brochure_build.digests import file_digest

    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() in (".ttf", ".otf", ".ttc", ".otc") and path.is_file() and file_digest(path).hex() == face:
                return path.read_bytes()
    return None


def harfbuzz_face(data: bytes, index: int):
    """A HarfBuzz face of the font file `data` (face `index`), as WeasyPrint's FFI types it
    (WeasyPrint declares no function that makes one from bytes)."""
    import cffi
    from weasyprint.text.ffi import ffi, harfbuzz

    own = cffi.FFI()
    own.cdef("""typedef struct hb_blob_t hb_blob_t; typedef struct hb_face_t hb_face_t;
        hb_blob_t *hb_blob_create (const char *data, unsigned int length, int mode, void *user_data, void *destroy);
        void hb_blob_destroy (hb_blob_t *blob);
        hb_face_t *hb_face_create (hb_blob_t *blob, unsigned int index);""")
    library = own.dlopen(harfbuzz_library())
    blob = library.hb_blob_create(data, len(data), 0, own.NULL, own.NULL)  # 0: HB_MEMORY_MODE_DUPLICATE
    face = library.hb_face_create(blob, index)  # holds the blob
    library.hb_blob_destroy(blob)
    return ffi.gc(ffi.cast("hb_face_t *", int(own.cast("uintptr_t", face))), harfbuzz.hb_face_destroy)


HARFBUZZ_NAMES = ("libharfbuzz.so.0", "libharfbuzz.0.dylib", "libharfbuzz-0.dll", "harfbuzz")


@functools.cache
def harfbuzz_library() -> str:
    """The name the HarfBuzz library WeasyPrint uses loads by (dlopen gives the one loaded)."""
    import cffi

    ffi = cffi.FFI()
    for name in HARFBUZZ_NAMES:
        try:
            ffi.dlopen(name)
            return name
        except OSError:
            continue
    return HARFBUZZ_NAMES[0]


@functools.cache
def harfbuzz_version() -> str:
    """The version of the HarfBuzz library WeasyPrint subsets with."""
    import cffi

    ffi = cffi.FFI()
    ffi.cdef("const char *hb_version_string (void);")
    try:
        return ffi.string(ffi.dlopen(harfbuzz_library()).hb_version_string()).decode()
    except (OSError, AttributeError):
        return "unknown"


def prune(directory: Path, max_bytes: int = MAX_BYTES) -> None:
    """Remove the least recently used subsets until the cache holds at most `max_bytes`."""
    prune_least_recent(directory, max_bytes=max_bytes)


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
