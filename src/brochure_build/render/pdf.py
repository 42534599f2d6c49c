"""PDF stage: renders HTML with WeasyPrint, sandboxed and strict.

One FontConfiguration is shared by every render of a process. WeasyPrint reports missing
resources, CSS it does not understand and missing glyphs only as log lines; here any warning
or error it logs fails the render, naming what it said.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import subprocess
import sys
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from struct import error as struct_error

from brochure_build.errors import BuildError
from brochure_build.render import columntrials
from brochure_build.render.fontsubsets import CACHE_DIR as SUBSET_CACHE_DIR
from brochure_build.render.fontsubsets import SubsetCache
from brochure_build.render.hyphenation import kept_dictionaries
from brochure_build.render.linebreaks import LineBreaks

# WeasyPrint's variant switches. Alone they do not make valid files (DESIGN.md): the CMYK colours,
# output profile, converted photos and the postprocess stage do the rest.
PDF_VARIANTS = {"print": "pdf/x-4", "screen": "pdf/ua-1"}
FONT_FACE = re.compile(r"Font-face '(.*)' cannot be loaded")
NOTDEF = re.compile(r'\.notdef glyph rendered for Unicode string unsupported by fonts: "(.*)" \(U\+([0-9A-F]+)\)', re.S)


class LogCapture(logging.Handler):
    """Collects the messages of warnings and errors WeasyPrint logs."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record.getMessage())


@contextmanager
def strict_weasyprint(context: str, text_lookup: TextLookup | None = None, tolerated: Collection[str] = (),
                      root: Path | None = None) -> Iterator[None]:
    """Run WeasyPrint; turn every warning it logs into a BuildError naming `context`, but for the
    messages in `tolerated` (exactly as WeasyPrint words them). With `root`, a font WeasyPrint
    cannot load is named by its file and the @font-face rule that uses it."""
    logger = logging.getLogger("weasyprint")
    capture = LogCapture()
    logger.addHandler(capture)
    previous_propagate = logger.propagate
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(capture)
        logger.propagate = previous_propagate
    records = [record for record in capture.records if record not in tolerated]
    if records:
        messages = []
        for record in dict.fromkeys(records):
            match = NOTDEF.match(record)
            if match:
                char = chr(int(match[2], 16))
                where = text_lookup(char) if text_lookup else ""
                messages.append(f"{context}: no font of this language has the character {char!r} (U+{match[2]}){where}: "
                                "add a font that covers it to fonts/ and its family to the language's fonts in "
                                "brochure.yaml, or change the text")
            elif FONT_FACE.match(record) and root is not None:
                messages.append(f"{context}: {unloadable_font(root, FONT_FACE.match(record)[1])}")
            else:
                messages.append(f"{context}: WeasyPrint: {record}")
        raise BuildError("\n".join(messages))


def unloadable_font(root: Path, family: str) -> str:
    """Which file of the @font-face rules of `family` is not a font, as a message."""
    from fontTools.ttLib import TTFont, TTLibError

    from brochure_build.source.sandbox import font_face_sources

    sources = font_face_sources(root, family)
    broken = []
    for sheet, line, path in sources:
        try:
            TTFont(path, lazy=True).close()
        except (OSError, TTLibError, AssertionError, ValueError, KeyError, struct_error):
            broken.append((sheet, line, path))
    named = ", ".join(f"{path.relative_to(root).as_posix() if path.is_relative_to(root) else path} ({sheet}:{line})"
                      for sheet, line, path in broken or sources)
    return (f"font-face {family!r} cannot be loaded from {named or 'any file'}: it is not a font WeasyPrint can read: "
            "restore the file from git (or re-run scripts/vendor_fonts.py)")


class TextLookup:
    """Finds where a character occurs in a content file, for error messages."""

    def __init__(self, text_file: Path, display: str):
        self.lines = text_file.read_text(encoding="utf-8").splitlines()
        self.display = display

    def __call__(self, char: str) -> str:
        for number, line in enumerate(self.lines, 1):
            if char in line:
                return f", used in {self.display}:{number}"
        return ""


@contextmanager
def quick_library_lookup() -> Iterator[None]:
    """While WeasyPrint is imported on Linux, ctypes.util.find_library answers from one reading of
    the dynamic linker's cache. WeasyPrint tries six names per library, those of every platform,
    and cffi asks find_library about each name that does not load as it is; Python's answer
    spawns ldconfig, then gcc and ld for a name it does not find: some 50 processes, 0.4 s of
    every process that renders. Each library still loads by its soname (libpango-1.0.so.0, …),
    which the dynamic linker finds on its own, LD_LIBRARY_PATH included."""
    import ctypes.util

    if not sys.platform.startswith("linux") or "weasyprint" in sys.modules:
        yield
        return
    original = ctypes.util.find_library
    listing: list[bytes] = []

    def find_library(name: str) -> str | None:
        if not listing:
            try:
                listing.append(subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, check=False,
                                              env={"LC_ALL": "C", "LANG": "C"}).stdout)
            except OSError:
                listing.append(b"")
        found = re.search(rb"\s(lib%s\.[^\s]+)\s" % re.escape(name.encode()), listing[0])
        return found.group(1).decode() if found else None

    ctypes.util.find_library = find_library
    try:
        yield
    finally:
        ctypes.util.find_library = original


@dataclass(frozen=True)
class Written:
    """What writing a PDF tells besides the file: how a link to each of its named destinations is
    described (tagging.repair; none for print), and what each font subset embedded was made from
    (fontsubsets.SubsetCache.made)."""

    descriptions: dict[str, str]
    subsets: dict[str, list]


class Renderer:
    """A warm WeasyPrint: imported once, one font configuration, one sandboxed fetcher."""

    def __init__(self, root: Path):
        import warnings

        from brochure_build.render.fonts import CACHE_DIR as FONTCONFIG_CACHE_DIR
        from brochure_build.render.fonts import isolated_fontconfig

        # fontconfig knows no fonts on purpose (see fonts.isolated_fontconfig): only @font-face.
        warnings.filterwarnings("ignore", "No fonts configured in FontConfig")
        with isolated_fontconfig(root / FONTCONFIG_CACHE_DIR), quick_library_lookup():
            import weasyprint  # its import loads a configuration too, to check it
            from weasyprint.text.fonts import FontConfiguration

            from brochure_build.render.fetcher import ProjectFetcher  # imports WeasyPrint: not before the lines above

            self.font_config = declared_families(FontConfiguration)()  # loads the configuration it lays out with
        self.weasyprint = weasyprint
        self.fetcher = ProjectFetcher(root)
        self.subsets = SubsetCache(root / SUBSET_CACHE_DIR)  # fonts subset once per set of glyphs
        kept_dictionaries(root)  # hyphenation patterns parsed once per project (hyphenation.py)
        self.stylesheets = ParsedStylesheets(weasyprint, self.font_config, self.fetcher)
        self.remembered_lines: LineBreaks | None = None

    def use_families(self, families: Collection[str]) -> None:
        """Register, from now on, the @font-face rules of `families` (an edition's declared fonts)
        and of those named before, and no others; none named (a brochure that declares no fonts):
        every rule. See declared_families."""
        self.font_config.allow(families)

    def line_breaks(self) -> LineBreaks:
        """The renderer's line-break memo (linebreaks.py), made on first use: a line is broken once,
        not again on every try of column balancing, every copy-fit trial and every variant."""
        if self.remembered_lines is None:
            self.remembered_lines = LineBreaks(self.font_config)
        return self.remembered_lines

    def forget_lines(self) -> None:
        """Let go of the remembered line breaks: another edition's lines seldom repeat these, and a
        worker's memory should not grow with every edition it builds."""
        self.remembered_lines = None

    def render_remembering(self, html: str, base_url: Path, context: str, text_lookup: TextLookup | None = None,
                           stylesheets: Sequence[Path] = ()):
        """render(), each line broken through the line-break memo (the same pages, tests/test_renders.py)."""
        with self.line_breaks().render():
            return self.render(html, base_url, context, text_lookup, stylesheets)

    def close(self) -> None:
        """Remove the fonts WeasyPrint wrote out for fontconfig (a `weasyprint-*` folder in the
        temporary directory, about 84 MB). WeasyPrint 70 removes it only when the font
        configuration is garbage-collected, which never happens in a process that ends through
        os._exit (a pool worker) or a signal. The renderer is not used after this."""
        folder = getattr(self.font_config, "_folder", None)
        self.font_config._folder = None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def render(self, html: str, base_url: Path, context: str, text_lookup: TextLookup | None = None,
               stylesheets: Sequence[Path] = ()):
        """Lay out `html` (base_url: the file it is kept as); returns a WeasyPrint Document.
        `stylesheets`: files of the project to add, parsed once per content (ParsedStylesheets),
        that `html` does not link (templating.unlinked_stylesheets)."""
        with strict_weasyprint(context, text_lookup, root=self.fetcher.root), columntrials.active():
            try:
                sheets = self.stylesheets.get(stylesheets)
                return self.weasyprint.HTML(string=html, base_url=self.fetcher.virtual_url(base_url), url_fetcher=self.fetcher).render(
                    font_config=self.font_config, stylesheets=sheets)
            except self.weasyprint.urls.FatalURLFetchingError as error:
                raise BuildError(f"{context}: {error.__cause__ or error}") from None

    def write(self, document, target: Path, variant: str, context: str, text_lookup: TextLookup | None = None,
              foreign: Collection[str] = ()) -> Written:
        """Write `document` as the `variant`'s PDF standard: PDF/X-4 for print, PDF/UA-1 for screen.
        `foreign`: anchors the document's links lead to that stand in for a part of the edition
        laid out apart (render/units.py)."""
        from brochure_build.press import tagging

        recording = tagging.recording() if variant == "screen" else nullcontext()
        profile = output_profile_left_out(document) if variant == "print" else nullcontext()
        self.subsets.made.clear()
        with strict_weasyprint(context, text_lookup), self.subsets.active(), recording as notes, profile:
            # No file identifier: the postprocess stage derives it from the finished file
            # (postprocess.write_with_content_id); WeasyPrint would compress every stream a second
            # time to hash them for one.
            document.write_pdf(target, pdf_variant=PDF_VARIANTS[variant], pdf_identifier=False)
        subsets = dict(self.subsets.made)
        if notes is None:
            return Written({}, subsets)
        return Written(tagging.repair(target, notes, foreign), subsets)  # the structure tree as PDF/UA-1 wants it (tagging.py)

    def write_preview(self, document, target: Path, context: str, text_lookup: TextLookup | None = None,
                      tolerated: Collection[str] = ()) -> None:
        """Write `document` as a preview PDF: no PDF standard, and uncompressed (a third faster
        to write: CJK 0.16 s against 0.23 s)."""
        with strict_weasyprint(context, text_lookup, tolerated), self.subsets.active():
            document.write_pdf(target, uncompressed_pdf=True)


@contextmanager
def output_profile_left_out(document) -> Iterator[None]:
    """While a print file is written, its output intent's profile is an empty stream: WeasyPrint
    would embed LittleCMS's re-serialisation of the profile (0.5 MB for FOGRA39, twice the file)
    and compress it at zlib's slowest level (0.3 s), and the postprocess stage puts the profile
    file itself in its place (postprocess.name_output_intent), byte for byte. Only the profile
    WeasyPrint makes the output intent of (its own choice, in the same order) is left out: the
    only one the postprocess stage replaces."""
    from weasyprint.css import ColorProfile

    profiles = document.color_profiles
    intent = profiles.get(document.output_intent) or profiles.get("device-cmyk") or next(iter(profiles.values()), None)
    if intent is None:
        yield
        return
    content = ColorProfile.content
    ColorProfile.content = property(lambda profile: b"" if profile is intent else content.fget(profile))
    try:
        yield
    finally:
        ColorProfile.content = content


def declared_families(base: type) -> type:
    """`base` (WeasyPrint's FontConfiguration), registering only the @font-face rules of the
    families allowed so far, once any are (Renderer.use_families). Registering a face copies its
    file to a temporary folder and has fontconfig read it: 0.3 s for the four CJK faces, in every
    process that lays out any edition, whatever its language. An edition uses only the families
    its language declares (brochure.yaml `fonts`; any other is a fallback the build fails on), so
    a Latin or Arabic edition has no use for them. Fontconfig cannot forget a face: a process that
    lays out a Chinese edition after an English one has both; a character no allowed family has
    is then drawn by a registered one (the fallback check names it) or by none (the build names
    the character)."""

    class DeclaredFamilies(base):
        allowed: set[str] | None = None  # None: every family (nothing named yet, or an edition declaring none)
        everything = False

        def allow(self, families: Collection[str]) -> None:
            if not families:
                self.everything = True
            self.allowed = set(families) | (self.allowed or set())

        def add_font_face(self, rule_descriptors, url_fetcher):
            if self.allowed is not None and not self.everything and rule_descriptors.get("font_family") not in self.allowed:
                return None
            return super().add_font_face(rule_descriptors, url_fetcher)

    return DeclaredFamilies


class ParsedStylesheets:
    """Stylesheets parsed once per process and content. WeasyPrint parses every stylesheet a
    document links on every render (some 60 ms; a build lays an edition out some 30 times for its
    copy-fit search); a parsed one is handed to it again while the file's bytes are unchanged.

    Parsing adds a sheet's @font-face rules to the font configuration; a reused sheet adds them
    again (a no-op for a face the configuration has), so the preview's line-break memo, which
    watches the faces a render declares (render/linebreaks.py), sees the same faces. A sheet
    whose parsing logged a warning is not kept: the render fails on it (strict_weasyprint), and
    so will the next one."""

    def __init__(self, weasyprint, font_config, fetcher):
        self.weasyprint = weasyprint
        self.font_config = font_config
        self.fetcher = fetcher
        self.sheets: dict[Path, tuple[bytes, object, list]] = {}  # path -> (sha256, CSS, its @font-face rules)
        self.parsed = 0

    def get(self, paths: Sequence[Path]) -> list:
        sheets = []
        for path in paths:
            data = path.read_bytes()
            key = hashlib.sha256(data).digest()
            known = self.sheets.get(path)
            if known is not None and known[0] == key:
                for descriptors in known[2]:
                    self.font_config.add_font_face(descriptors, self.fetcher)
                sheets.append(known[1])
                continue
            sheet, faces, clean = self.parse(path)
            if clean:
                self.sheets[path] = (key, sheet, faces)
            sheets.append(sheet)
        return sheets

    def parse(self, path: Path) -> tuple[object, list, bool]:
        """The sheet, parsed through the project's fetcher (the sandbox judges it and all it loads),
        the @font-face rules it declared, and whether WeasyPrint parsed it without a warning."""
        faces: list = []
        config = self.font_config
        shadowed = config.__dict__.get("add_font_face")  # the preview's line-break memo may watch it

        def add_font_face(rule_descriptors, url_fetcher):
            faces.append(rule_descriptors)
            return (shadowed or type(config).add_font_face.__get__(config))(rule_descriptors, url_fetcher)

        capture = LogCapture()
        logger = logging.getLogger("weasyprint")
        logger.addHandler(capture)
        config.add_font_face = add_font_face
        try:
            sheet = self.weasyprint.CSS(url=self.fetcher.virtual_url(path), url_fetcher=self.fetcher, font_config=config)
        finally:
            logger.removeHandler(capture)
            if shadowed is None:
                del config.add_font_face
            else:
                config.add_font_face = shadowed
        self.parsed += 1
        return sheet, faces, not capture.records


class LazyRenderer:
    """A process's warm renderer, created on first need (an edition whose files are all up to date
    needs none) and reused after; its owner closes it on every way out."""

    def __init__(self, root: Path):
        self.root = root
        self.renderer: Renderer | None = None
        self.families: list[Collection[str]] = []  # use_families before the renderer was made

    def use_families(self, families: Collection[str]) -> None:
        """Renderer.use_families, now or once the renderer is made."""
        if self.renderer is not None:
            self.renderer.use_families(families)
        else:
            self.families.append(families)

    def get(self) -> Renderer:
        if self.renderer is None:
            self.renderer = Renderer(self.root)
            for families in self.families:
                self.renderer.use_families(families)
        return self.renderer

    def close(self) -> None:
        if self.renderer is not None:
            self.renderer.close()
            self.renderer = None
