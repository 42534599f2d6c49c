"""Preflight's checks of the built files themselves: pages, fonts, photos, boxes, colour and
accessibility, read from the PDFs with pypdf, pikepdf and fontTools. Run only for an edition whose
files or inputs changed since its last preflight (preflight.py keeps the results): a preflight
with nothing new to check does not load these libraries."""

from __future__ import annotations

import functools
import io
import multiprocessing
import os
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from fontTools.ttLib import TTFont
from pypdf import PdfReader

from brochure_build import heap
from brochure_build.paths import output_files
from brochure_build.render.fonts import MANIFEST
from brochure_build.review import uarules
from brochure_build.review.pdfcheck import SUBSET_PREFIX, font_family
from brochure_build.review.pdfinspect import objects_naming, read_pages
from brochure_build.review.preflight import BLEED_CACHE_DIR, CHECKS, GROUPS, Result, group_key, load_group, merge_groups, store_group
from brochure_build.review.prepress import press_problems
from brochure_build.source.model import Edition, Settings
from brochure_build.source.yamlsource import load_yaml

PRINT_PPI = 300
SCREEN_PPI = 150
SCREEN_MAX_BYTES = 2_000_000
PT_PER_MM = 72 / 25.4
BOX_TOLERANCE_PT = 0.05


def check_files(root: Path, settings: Settings, code: str, edition: Edition | None, files: dict[str, Path],
                group: str) -> tuple[dict[str, Result], dict[str, int]]:
    """The checks of one group's files (GROUPS) of the edition in language `code`: their results,
    by check, and the files' page counts."""
    results = {check: Result() for check in CHECKS}
    ours = {variant: files[variant] for variant in GROUPS[group]}
    readers = {variant: PdfReader(path) for variant, path in ours.items()}
    check_fonts(settings.language(code).fonts, readers, project_font_names(root), results["fonts"])
    check_images(settings, edition, ours, results["images"])
    check_boxes(settings, readers, results["boxes"])
    if group == "press":
        check_colour(ours, readers, results["colour"])
        # prepress.py: the rendered bleed (each page's finding kept by what it draws), PDF/X keys, marks
        for check, message in press_problems(files["print"], files["imposed"], root / BLEED_CACHE_DIR):
            results[check].fail(message)
    else:
        check_accessibility(edition, files["screen"], readers["screen"], results["accessibility"])
    return results, {variant: len(reader.pages) for variant, reader in readers.items()}


def check_groups(root: Path, settings: Settings, editions: list[tuple[str, Edition | None, dict[str, Path]]],
                 jobs: int | None = None, kept: list[dict[str, tuple]] | None = None,
                 ) -> list[tuple[dict[str, Result], dict[str, int]]]:
    """check_files for every group of every edition given (its language, itself, its files), on
    as many processes as there are cores; per edition, its results (the press files' messages
    first) and page counts. `kept`: per edition, the groups whose results are known already
    (preflight.load_group), which are not checked again."""
    kept = kept or [{} for _ in editions]
    tasks = [(index, code, edition, files, group) for index, (code, edition, files) in enumerate(editions)
             for group in GROUPS if group not in kept[index]]
    processes = min(jobs or os.cpu_count() or 1, len(tasks))
    if processes <= 1:
        done = [check_files(root, settings, *task[1:]) for task in tasks]
    else:
        context = multiprocessing.get_context("fork")  # the children have every module already
        with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
            with heap.frozen():  # the children are forked at the first submit
                futures = [pool.submit(check_files, root, settings, *task[1:]) for task in tasks]
            done = [future.result() for future in futures]
    parts = [dict(groups) for groups in kept]
    for (index, *_, group), result in zip(tasks, done, strict=True):
        parts[index][group] = result
    return [merge_groups([groups[group] for group in GROUPS]) for groups in parts]


def keep_checks(root: Path, edition: Edition, inputs: str, group: str) -> None:
    """Check one group of the edition's built files now and keep the results where preflight
    finds them (preflight.load_group): the build does this where it has a core to spare
    (build.build_edition), so that the preflight that follows has nothing left to read."""
    code = edition.language.code
    files = output_files(root, edition.settings, code)
    if not all(files[variant].is_file() for variant in GROUPS[group]):
        return
    key = group_key(inputs, group, files)
    if load_group(root, key) is None:
        store_group(root, key, *check_files(root, edition.settings, code, edition, files, group))


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
        if variant not in readers:
            continue
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
        if variant not in files:
            continue
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
    for number, page in enumerate(readers["print"].pages if "print" in readers else [], 1):
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
    for number, sheet in enumerate(readers["imposed"].pages if "imposed" in readers else [], 1):
        trim = sheet.trimbox
        if abs(float(trim.width) - 2 * width) > BOX_TOLERANCE_PT:
            result.fail(f"imposed: sheet side {number}: TrimBox is not a spread of two pages")
        expected = (float(trim.left) - bleed, float(trim.bottom) - bleed, float(trim.right) + bleed, float(trim.top) + bleed)
        if not rect_close(sheet.bleedbox, expected):
            result.fail(f"imposed: sheet side {number}: BleedBox is not the trim plus {settings.bleed_mm:g} mm")
    for number, page in enumerate(readers["screen"].pages if "screen" in readers else [], 1):
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
