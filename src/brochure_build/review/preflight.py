"""Preflight: the checks a print shop's intake and a designer run before sending, for every
edition at once, on the built files (and the copy-fit measures the build keeps beside them).

Each check gives pass, warn or fail per language, with messages that say what and where.
Results go to the terminal as a table, to build/preflight.json and to build/preflight.html
(with page thumbnails). Any failure: exit status 1.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from fontTools.ttLib import TTFont
from pypdf import PdfReader

from brochure_build.errors import Problem
from brochure_build.output import write_text_atomic
from brochure_build.paths import BUILD_DIR, layout_report_path, output_name
from brochure_build.render.fonts import MANIFEST
from brochure_build.render.layoutcheck import plan_problems
from brochure_build.review import uarules
from brochure_build.review.pdfcheck import SUBSET_PREFIX, font_family
from brochure_build.review.pdfinspect import objects_naming, read_pages
from brochure_build.review.prepress import press_problems
from brochure_build.source import content
from brochure_build.source.model import Edition, Settings
from brochure_build.source.translations import language_status, load_source
from brochure_build.source.yamlsource import load_yaml
from brochure_build.stamps import edition_fingerprint, variant_fingerprint

CHECKS = ("content", "copy-fit", "fill", "pages", "fonts", "images", "boxes", "colour", "accessibility")
PRINT_PPI = 300
SCREEN_PPI = 150
SCREEN_MAX_BYTES = 2_000_000
PT_PER_MM = 72 / 25.4
BOX_TOLERANCE_PT = 0.05


FILL_WARNING = 0.80  # a text page less full than this is named


@dataclass
class Result:
    status: str = "pass"  # pass, warn, fail
    messages: list[str] = field(default_factory=list)
    summary: str = ""  # shown in the table instead of the status word (the fill check: the emptiest text page)
    pages: list[dict] = field(default_factory=list)  # per page figures (the fill check: fill and chosen setting)

    def fail(self, message: str) -> None:
        self.status = "fail"
        self.messages.append(message)

    def warn(self, message: str) -> None:
        if self.status == "pass":
            self.status = "warn"
        self.messages.append(f"warning: {message}")


Report = dict[str, dict[str, Result]]


def preflight(root: Path, languages: list[str] | None = None) -> list[tuple[Settings, Report]]:
    """Run every check on every language (or `languages`) of every product; content errors become failures."""
    problems: list[Problem] = []
    products = content.load_products(root, problems)
    if not products:
        from brochure_build.errors import ContentError

        raise ContentError(problems)
    unknown = content.unknown_languages(products[0], languages)
    if unknown:
        from brochure_build.errors import ContentError

        raise ContentError(unknown)
    return [(settings, preflight_product(root, settings, languages)) for settings in products]


def preflight_product(root: Path, settings: Settings, languages: list[str] | None) -> Report:
    """Every check on the editions of one product."""
    codes = languages or [lang.code for lang in settings.languages]
    source_doc = load_source(root, settings, [])
    font_names = project_font_names(root)
    report: Report = {}
    page_counts: dict[str, int] = {}
    for code in codes:
        results = {check: Result() for check in CHECKS}
        report[code] = results
        edition = check_content(root, settings, source_doc, code, results["content"])
        files = {variant: root / BUILD_DIR / code / output_name(settings, code, variant, "pdf")
                 for variant in ("print", "screen", "imposed")}
        missing = [variant for variant, path in files.items() if not path.is_file()]
        if missing:
            for check in CHECKS[1:]:
                results[check].fail(f"no {', '.join(missing)} PDF in build/{code}/: run `brochure build`")
            continue
        key = cache_key(root, settings, edition, files) if edition is not None else None
        cached = load_cached(root, key)
        if cached is not None:  # the same files and inputs were checked before: the same results
            report[code], page_counts[code] = cached
            continue
        readers = {variant: PdfReader(path) for variant, path in files.items()}
        check_copy_fit(root, edition, files, results["copy-fit"])
        check_fill(files["screen"], results["fill"])
        page_counts[code] = len(readers["print"].pages)
        check_pages(settings, readers, results["pages"])
        check_fonts(settings.language(code).fonts, readers, font_names, results["fonts"])
        check_images(settings, edition, files, results["images"])
        check_boxes(settings, readers, results["boxes"])
        check_colour(files, readers, results["colour"])
        # prepress.py: the rendered bleed (each page's finding kept by what it draws), PDF/X keys, marks
        for check, message in press_problems(files["print"], files["imposed"], root / CACHE_DIR / "bleed"):
            results[check].fail(message)
        check_accessibility(edition, files["screen"], readers["screen"], results["accessibility"])
        store_cached(root, key, results, page_counts[code])
    if len(set(page_counts.values())) > 1:
        usual = max(set(page_counts.values()), key=list(page_counts.values()).count)
        for code, count in page_counts.items():
            if count != usual:
                report[code]["pages"].fail(f"{count} pages, while the other editions have {usual}")
    return report


CACHE_DIR = Path(BUILD_DIR) / ".cache" / "preflight"


def cache_key(root: Path, settings: Settings, edition: Edition, files: dict[str, Path]) -> str:
    """What an edition's results depend on: its inputs (content, layouts, fonts, photos, the
    pipeline's code), the source text (for stale translations), and the files and layout reports."""
    digest = hashlib.sha256(edition_fingerprint(root, edition).encode())
    paths = [root / content.text_file(settings.source_language), *files.values(),
             *(layout_report_path(files[variant]) for variant in ("print", "screen"))]
    for path in paths:
        digest.update(str(path.name).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest() if path.is_file() else b"<missing>")
    return digest.hexdigest()


def load_cached(root: Path, key: str | None) -> tuple[dict[str, Result], int] | None:
    if key is None:
        return None
    try:
        data = json.loads((root / CACHE_DIR / f"{key[:32]}.json").read_text(encoding="utf-8"))
        results = {check: Result(**data["results"][check]) for check in CHECKS}
        return results, int(data["pages"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store_cached(root: Path, key: str | None, results: dict[str, Result], pages: int) -> None:
    if key is None:
        return
    data = {"pages": pages, "results": {check: vars(result) for check, result in results.items()}}
    write_text_atomic(root / CACHE_DIR / f"{key[:32]}.json", json.dumps(data, ensure_ascii=False))


def check_content(root: Path, settings: Settings, source_doc, code: str, result: Result) -> Edition | None:
    problems: list[Problem] = []
    edition = content.load_edition(root, settings, code, problems)
    if source_doc is not None:
        status = language_status(root, settings, source_doc, code, problems)
        if status is not None:
            for problem in status.missing + status.extra:
                result.fail(str(problem))
            for problem in status.stale:
                result.warn(str(problem))
    for problem in sorted(set(problems)):
        if str(problem) not in result.messages:
            result.fail(str(problem))
    return edition


def check_copy_fit(root: Path, edition: Edition | None, files: dict[str, Path], result: Result) -> None:
    if edition is None:
        result.fail("the text does not load (see content): cannot compare it with the layout")
        return
    inputs = edition_fingerprint(root, edition)
    for variant in ("print", "screen"):
        path = layout_report_path(files[variant])
        if not path.is_file():
            result.fail(f"{path.relative_to(root)} is missing: run `brochure build`")
            continue
        layout = json.loads(path.read_text(encoding="utf-8"))
        if layout.get("inputs") != variant_fingerprint(inputs, variant):
            result.fail(f"{variant}: the last layout is older than its inputs (content, layouts, fonts, photos or the "
                        "pipeline): run `brochure build`")
            continue
        for problem in plan_problems(edition, layout, f"{variant}"):
            result.fail(problem)
        for runt in layout.get("runts", []) if variant == "screen" else ():  # the print file's headings break alike
            result.warn(f"page {runt['page']} ({runt['section']}): the heading “{runt['heading']}” ends with "
                        f"“{runt['last_line']}” alone on its last line: hold its last words together (the no_runt "
                        "filter in its template) or give the heading a width that breaks it evenly (README, Page kinds)")


def check_fill(screen: Path, result: Result) -> None:
    """How full each text page of the screen file is (the layout report's `fill`, measured by the
    build on the pages it wrote) and the setting the fitter chose; a page under 80 % is named."""
    path = layout_report_path(screen)
    if not path.is_file():
        result.fail(f"{path.name} is missing: run `brochure build`")
        return
    layout = json.loads(path.read_text(encoding="utf-8"))
    choices = layout.get("fit", {})
    text_pages = [page for page in layout.get("fill", []) if page.get("text")]
    for page in text_pages:
        choice = choices.get(page["section"], {})
        setting = f"step {choice['step'] + 1} of {choice['steps']}" if choice else ""
        if choice.get("frames"):
            setting += ", frames " + ", ".join(choice["frames"].values())
        if choice.get("optional"):
            setting += ", with " + ", ".join(choice["optional"])
        result.pages.append({"page": page["page"], "section": page["section"], "fill": page["fill"], "setting": setting})
        if page["fill"] < FILL_WARNING:
            empty = (1 - page["fill"]) * page.get("live_mm", 0)
            short = (FILL_WARNING - page["fill"]) * page.get("live_mm", 0)
            result.warn(f"page {page['page']} ({page['section']}): {page['fill']:.0%} of the live area filled, {empty:.1f} mm "
                        f"empty at its foot, {short:.1f} mm short of {FILL_WARNING:.0%} ({setting or 'not fitted'}): widen the "
                        "ranges of its kind's fit:, offer an optional element, or revise the page plan")
    if text_pages:
        result.summary = f"{min(page['fill'] for page in text_pages):.0%}"


def check_pages(settings: Settings, readers: dict[str, PdfReader], result: Result) -> None:
    planned = settings.page_count
    if planned % 4 and not settings.flows:
        result.fail(f"the plan has {planned} pages: saddle stitching needs a multiple of 4")
    for variant in ("print", "screen"):
        count = len(readers[variant].pages)
        if settings.flows and count % 4:
            result.fail(f"{variant}: {count} pages: saddle stitching needs a multiple of 4")
        elif count != planned and not settings.flows:
            result.fail(f"{variant}: {count} pages, the plan has {planned}")
    sheets = len(readers["imposed"].pages)
    if sheets * 2 != len(readers["print"].pages):
        result.fail(f"imposed: {sheets} sheet sides for {len(readers['print'].pages)} pages (expected {len(readers['print'].pages) // 2})")


def project_font_names(root: Path) -> set[str]:
    """Full names (name ID 4) of the fonts pinned in fonts/manifest.yaml."""
    manifest = load_yaml(root / MANIFEST, MANIFEST, [])
    entries = (manifest.data or {}).get("fonts") or [] if manifest else []
    files = []
    for entry in entries:
        path = root / "fonts" / str(entry.get("file", "")) if isinstance(entry, dict) else None
        if path is not None and path.is_file():
            stat = path.stat()
            files.append((path, stat.st_mtime_ns, stat.st_size))
    return set(font_full_names(tuple(files)))


@functools.lru_cache(maxsize=4)
def font_full_names(files: tuple[tuple[Path, int, int], ...]) -> frozenset[str]:
    """The full names of font files (path, mtime, size): read once per process and file version
    (each product's preflight asks; a CJK font's name table takes some 0.1 s to reach)."""
    return frozenset(TTFont(path, lazy=True)["name"].getDebugName(4) for path, _, _ in files)


def embedded_fonts(reader: PdfReader) -> list[tuple[str, str | None]]:
    """(BaseFont, full name of the embedded program or None when not embedded) of every font."""
    fonts = []
    seen = set()
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            base = str(font["/BaseFont"])
            if base in seen:
                continue
            seen.add(base)
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = descendant.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            program = next((descriptor[key] for key in ("/FontFile", "/FontFile2", "/FontFile3") if key in descriptor), None)
            name = None
            if program is not None:
                name = TTFont(io.BytesIO(program.get_object().get_data()))["name"].getDebugName(4)
            fonts.append((base, name))
    return fonts


def check_fonts(allowed: tuple[str, ...], readers: dict[str, PdfReader], project_names: set[str], result: Result) -> None:
    for variant in ("print", "screen"):
        for base, name in embedded_fonts(readers[variant]):
            label = base.lstrip("/")
            if name is None:
                result.fail(f"{variant}: font {label} is not embedded")
                continue
            if not SUBSET_PREFIX.match(label):
                result.fail(f"{variant}: font {label} is embedded whole, not subset")
            if name not in project_names:
                result.fail(f"{variant}: font {name!r} ({label}) is not one of the fonts in fonts/ (manifest.yaml)")
            if font_family(base) not in allowed:
                result.fail(f"{variant}: font family {font_family(base)!r} is not one of this language's fonts")


def figure_pages(edition: Edition) -> dict[int, list[str]]:
    """Page -> ids of the figures the plan places on it."""
    pages: dict[int, list[str]] = {}
    for section in edition.sections:
        spec = section.spec
        for figure in spec.figures:
            page = spec.last_page if spec.photo_page == "after" else spec.first_page
            pages.setdefault(page, []).append(figure)
    return pages


def check_images(settings: Settings, edition: Edition | None, files: dict[str, Path], result: Result) -> None:
    expected = sum(len(section.figures) for section in settings.sections)
    where = figure_pages(edition) if edition else {}
    for variant, floor, space in (("print", PRINT_PPI, "/DeviceCMYK"), ("screen", SCREEN_PPI, "/DeviceRGB")):
        reading = read_pages(files[variant])
        if len(reading.images) != expected:
            result.fail(f"{variant}: {len(reading.images)} photos placed, the plan has {expected}")
        for image in reading.images:
            names = ", ".join(where.get(image.page, [])) or "a photo"
            if image.ppi < floor - 0.5:
                result.fail(f"{variant}: page {image.page}: {names} is {image.ppi:.0f} ppi at its placed size "
                            f"({image.pixels[0]}×{image.pixels[1]} px over {image.placed_pt[0] / PT_PER_MM:.0f}×"
                            f"{image.placed_pt[1] / PT_PER_MM:.0f} mm); the {variant} file needs {floor} ppi")
            if image.colour_space != space:
                result.fail(f"{variant}: page {image.page}: {names} is in {image.colour_space.lstrip('/')}, expected {space.lstrip('/')}")
        for page in reading.notdef_pages:
            result.fail(f"{variant}: page {page} shows a .notdef glyph (a character no font has)")


def rect_close(box, expected: tuple[float, float, float, float]) -> bool:
    return all(abs(float(a) - b) <= BOX_TOLERANCE_PT for a, b in zip(box, expected, strict=True))


def check_boxes(settings: Settings, readers: dict[str, PdfReader], result: Result) -> None:
    width, height = settings.page.width_mm * PT_PER_MM, settings.page.height_mm * PT_PER_MM
    bleed = settings.bleed_mm * PT_PER_MM
    for number, page in enumerate(readers["print"].pages, 1):
        trim = page.trimbox
        if abs(float(trim.width) - width) > BOX_TOLERANCE_PT or abs(float(trim.height) - height) > BOX_TOLERANCE_PT:
            result.fail(f"print: page {number}: TrimBox is {float(trim.width) / PT_PER_MM:.1f}×{float(trim.height) / PT_PER_MM:.1f} mm, "
                        f"the page is {settings.page.width_mm:g}×{settings.page.height_mm:g} mm")
        expected = (float(trim.left) - bleed, float(trim.bottom) - bleed, float(trim.right) + bleed, float(trim.top) + bleed)
        if not rect_close(page.bleedbox, expected):
            result.fail(f"print: page {number}: BleedBox is not the trim plus {settings.bleed_mm:g} mm on every side")
        media = page.mediabox
        if float(media.left) > expected[0] + BOX_TOLERANCE_PT or float(media.right) < expected[2] - BOX_TOLERANCE_PT:
            result.fail(f"print: page {number}: MediaBox does not hold the bleed")
    for number, sheet in enumerate(readers["imposed"].pages, 1):
        trim = sheet.trimbox
        if abs(float(trim.width) - 2 * width) > BOX_TOLERANCE_PT:
            result.fail(f"imposed: sheet side {number}: TrimBox is not a spread of two pages")
        expected = (float(trim.left) - bleed, float(trim.bottom) - bleed, float(trim.right) + bleed, float(trim.top) + bleed)
        if not rect_close(sheet.bleedbox, expected):
            result.fail(f"imposed: sheet side {number}: BleedBox is not the trim plus {settings.bleed_mm:g} mm")
    for number, page in enumerate(readers["screen"].pages, 1):
        if "/TrimBox" in page and not rect_close(page.trimbox, tuple(float(v) for v in page.mediabox)):
            result.warn(f"screen: page {number}: has a trim smaller than the page")


def check_colour(files: dict[str, Path], readers: dict[str, PdfReader], result: Result) -> None:
    for variant in ("print", "imposed"):
        root = readers[variant].trailer["/Root"]
        intents = root.get("/OutputIntents") or []
        intent = intents[0].get_object() if intents else None
        if intent is None or intent.get("/S") != "/GTS_PDFX" or "/DestOutputProfile" not in intent:
            result.fail(f"{variant}: no PDF/X output intent with an embedded profile")
        elif intent["/DestOutputProfile"].get_object().get("/N") != 4:
            result.fail(f"{variant}: the output intent's profile is not CMYK")
        where = objects_naming(files[variant], "/DeviceRGB")
        if where:
            result.fail(f"{variant}: DeviceRGB in {len(where)} places ({', '.join(where[:3])}…): the press file must be CMYK")
        operators = read_pages(files[variant]).rgb_operators
        if operators:
            result.fail(f"{variant}: {operators} RGB colour operators in the page content: the press file must be CMYK")
    metadata = readers["print"].trailer["/Root"].get("/Metadata")
    if metadata is None or b"GTS_PDFXVersion>PDF/X-4" not in metadata.get_object().get_data():
        result.fail("print: the XMP metadata does not declare PDF/X-4")


def structure_elements(reader: PdfReader, kind: str) -> list:
    found = []
    stack = [reader.trailer["/Root"]["/StructTreeRoot"]]
    while stack:
        node = stack.pop().get_object()
        if node.get("/S") == kind:
            found.append(node)
        kids = node.get("/K")
        kids = kids if isinstance(kids, list) else [kids] if kids is not None else []
        for kid in reversed(kids):
            kid = kid.get_object() if hasattr(kid, "get_object") else kid
            if isinstance(kid, dict) and "/S" in kid:
                stack.append(kid)
    return found


def check_accessibility(edition: Edition | None, path: Path, reader: PdfReader, result: Result) -> None:
    root = reader.trailer["/Root"]
    marked = (root.get("/MarkInfo") or {}).get("/Marked")
    if not marked or "/StructTreeRoot" not in root:
        result.fail("screen: not a tagged PDF (no /MarkInfo /Marked or /StructTreeRoot)")
        return
    language = str(root.get("/Lang", ""))
    if not language:
        result.fail("screen: no document language (/Lang)")
    elif edition is not None and language != edition.language.tag:
        result.fail(f"screen: document language is {language!r}, expected {edition.language.tag!r}")
    title = (reader.metadata or {}).get("/Title")
    if not title:
        result.fail("screen: no document title")
    if not (root.get("/ViewerPreferences") or {}).get("/DisplayDocTitle"):
        result.fail("screen: viewers would show the file name, not the title (DisplayDocTitle)")
    figures = structure_elements(reader, "/Figure")
    without_alt = [i for i, figure in enumerate(figures, 1) if not str(figure.get("/Alt", "")).strip()]
    if without_alt:
        result.fail(f"screen: {len(without_alt)} of {len(figures)} figures have no alt text")
    if edition is not None:
        expected = sum(len(section.figures) for section in edition.sections)
        if len(figures) != expected:
            result.fail(f"screen: {len(figures)} tagged figures, the edition has {expected} photos")
    if not reader.outline:
        result.fail("screen: no bookmarks")
    if not re.search(rb"pdfuaid:part", root["/Metadata"].get_object().get_data() if "/Metadata" in root else b""):
        result.fail("screen: the XMP metadata does not declare PDF/UA")
    html = path.with_suffix(".html")
    rtl_words = uarules.rtl_words_of_html(html.read_text(encoding="utf-8")) \
        if edition is not None and edition.language.direction == "rtl" and html.is_file() else None
    for message in summarised(uarules.check(path, rtl_words)):
        result.fail(f"screen: {message}")
    size = path.stat().st_size
    if size >= SCREEN_MAX_BYTES:
        result.fail(f"screen: {size / 1e6:.2f} MB, the web file must stay under {SCREEN_MAX_BYTES / 1e6:.0f} MB")


RULE_MESSAGES_SHOWN = 3


def summarised(messages: list[str]) -> list[str]:
    """The first few messages of each rule, then how many more: a defect in a template repeats
    on every page, and the first ones say where to look."""
    shown: list[str] = []
    counts: dict[str, int] = {}
    for message in messages:
        rule = message.split(": ", 1)[0]
        counts[rule] = counts.get(rule, 0) + 1
        if counts[rule] <= RULE_MESSAGES_SHOWN:
            shown.append(message)
    for rule, count in counts.items():
        if count > RULE_MESSAGES_SHOWN:
            shown.append(f"{rule}: {count - RULE_MESSAGES_SHOWN} more like the above")
    return shown
