"""Preflight: the checks a print shop's intake and a designer run before sending, for every
edition at once, on the built files (and the copy-fit measures the build keeps beside them).

Each check gives pass, warn or fail per language, with messages that say what and where.
Results go to the terminal as a table, to build/preflight.json and to build/preflight.html
(with page thumbnails). Any failure: exit status 1.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from brochure_build.digests import file_digest
from brochure_build.errors import Problem
from brochure_build.output import prune_least_recent, touch, write_text_atomic
from brochure_build.paths import BUILD_DIR, layout_report_path, output_files
from brochure_build.render.layoutcheck import plan_problems
from brochure_build.source import content
from brochure_build.source.model import Edition, Settings
from brochure_build.source.translations import language_status, load_source
from brochure_build.stamps import common_inputs, edition_fingerprint, variant_fingerprint

CHECKS = ("content", "copy-fit", "fill", "pages", "fonts", "images", "boxes", "colour", "accessibility")
# The checks of the files themselves (review/filechecks.py) in two groups, each reading only its
# own files: one edition's run on two cores, an edition's groups beside another's, and the build
# keeps each group's results as soon as its files are written, where it has a core to spare.
GROUPS = {"press": ("print", "imposed"), "screen": ("screen",)}


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

    def merged(self, other: Result) -> Result:
        """This result and `other` (of the same check, on other files) as one: the worse status,
        this one's messages, then the other's."""
        order = ("pass", "warn", "fail")
        return Result(max(self.status, other.status, key=order.index), self.messages + other.messages,
                      self.summary or other.summary, self.pages + other.pages)


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
    reports = [(settings, preflight_product(root, settings, languages)) for settings in products]
    for folder in (CACHE_DIR, GROUP_CACHE_DIR, BLEED_CACHE_DIR):
        prune_least_recent(root / folder, keep=MAX_CACHE_ENTRIES)
    return reports


def preflight_product(root: Path, settings: Settings, languages: list[str] | None) -> Report:
    """Every check on the editions of one product."""
    codes = languages or [lang.code for lang in settings.languages]
    source_doc = load_source(root, settings, [])
    common = common_inputs(root)  # what every edition's fingerprint shares, hashed once
    report: Report = {}
    page_counts: dict[str, int] = {}
    unchecked = []  # (code, edition, files, results, key) of the editions whose files are checked anew
    for code in codes:
        results = {check: Result() for check in CHECKS}
        report[code] = results
        edition = check_content(root, settings, source_doc, code, results["content"])
        files = output_files(root, settings, code)
        missing = [variant for variant, path in files.items() if not path.is_file()]
        if missing:
            for check in CHECKS[1:]:
                results[check].fail(f"no {', '.join(missing)} PDF in build/{code}/: run `brochure build`")
            continue
        inputs = edition_fingerprint(root, edition, common=common) if edition is not None else None
        key = cache_key(root, settings, inputs, files) if inputs is not None else None
        cached = load_cached(root, key)
        if cached is not None:  # the same files and inputs were checked before: the same results
            report[code], page_counts[code] = cached
            continue
        check_copy_fit(root, edition, inputs, files, results["copy-fit"])
        check_fill(files["screen"], results["fill"])
        unchecked.append((code, edition, files, results, key, inputs))
    if unchecked:
        kept = [{group: found for group in GROUPS
                 if inputs is not None and (found := load_group(root, group_key(inputs, group, files))) is not None}
                for _, _, files, _, _, inputs in unchecked]
        if all(len(groups) == len(GROUPS) for groups in kept):  # the build checked them all as it wrote them
            checked = [merge_groups([groups[group] for group in GROUPS]) for groups in kept]
        else:
            from brochure_build.review.filechecks import check_groups  # pypdf, pikepdf, fontTools: only when needed

            checked = check_groups(root, settings, [(code, edition, files) for code, edition, files, *_ in unchecked],
                                   kept=kept)
        for (code, _, _, results, key, _), (found, counts) in zip(unchecked, checked, strict=True):
            for check, result in found.items():
                results[check] = results[check].merged(result)
            check_pages(settings, counts, results["pages"])
            page_counts[code] = counts["print"]
            store_cached(root, key, results, page_counts[code])
    if len(set(page_counts.values())) > 1:
        usual = max(set(page_counts.values()), key=list(page_counts.values()).count)
        for code, count in page_counts.items():
            if count != usual:
                report[code]["pages"].fail(f"{count} pages, while the other editions have {usual}")
    return report


CACHE_DIR = Path(BUILD_DIR) / ".cache" / "preflight"
GROUP_CACHE_DIR = CACHE_DIR / "groups"
BLEED_CACHE_DIR = CACHE_DIR / "bleed"  # prepress.bleed_problems: each page's finding
# Per folder: an edit adds one entry per edition checked (and one per page whose drawing changed,
# in bleed/), a few kilobytes each; the least recently used go first.
MAX_CACHE_ENTRIES = 5000


def group_key(inputs: str, group: str, files: dict[str, Path]) -> str:
    """What a group's file checks depend on: the edition's inputs (its fingerprint, the pipeline's
    code included) and the group's files."""
    digest = hashlib.sha256(f"{inputs}\0{group}".encode())
    for variant in GROUPS[group]:
        digest.update(files[variant].name.encode())
        digest.update(file_digest(files[variant]) if files[variant].is_file() else b"<missing>")
    return digest.hexdigest()


def load_group(root: Path, key: str) -> tuple[dict[str, Result], dict[str, int]] | None:
    """A group's results and page counts, as filechecks.keep_checks kept them, if it did."""
    try:
        path = root / GROUP_CACHE_DIR / f"{key[:32]}.json"
        data = json.loads(path.read_text(encoding="utf-8"))
        touch(path)
        return {check: Result(**result) for check, result in data["results"].items()}, \
            {variant: int(count) for variant, count in data["counts"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def store_group(root: Path, key: str, results: dict[str, Result], counts: dict[str, int]) -> None:
    data = {"counts": counts, "results": {check: vars(result) for check, result in results.items()}}
    write_text_atomic(root / GROUP_CACHE_DIR / f"{key[:32]}.json", json.dumps(data, ensure_ascii=False))


def merge_groups(parts: list[tuple[dict[str, Result], dict[str, int]]]) -> tuple[dict[str, Result], dict[str, int]]:
    """One edition's group results as one: per check, the worse status and the messages in group
    order (the press files' first); the page counts of every file."""
    results: dict[str, Result] = {}
    counts: dict[str, int] = {}
    for part, part_counts in parts:
        for check, result in part.items():
            results[check] = results[check].merged(result) if check in results else result
        counts |= part_counts
    return results, counts


def cache_key(root: Path, settings: Settings, inputs: str, files: dict[str, Path]) -> str:
    """What an edition's results depend on: its inputs (its fingerprint: content, layouts, fonts,
    photos, the pipeline's code), the source text (for stale translations), and the files and
    layout reports."""
    digest = hashlib.sha256(inputs.encode())
    paths = [root / content.text_file(settings.source_language), *files.values(),
             *(layout_report_path(files[variant]) for variant in ("print", "screen"))]
    for path in paths:
        digest.update(str(path.name).encode())
        digest.update(file_digest(path) if path.is_file() else b"<missing>")
    return digest.hexdigest()


def load_cached(root: Path, key: str | None) -> tuple[dict[str, Result], int] | None:
    if key is None:
        return None
    try:
        path = root / CACHE_DIR / f"{key[:32]}.json"
        data = json.loads(path.read_text(encoding="utf-8"))
        touch(path)
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


def check_copy_fit(root: Path, edition: Edition | None, inputs: str | None, files: dict[str, Path], result: Result) -> None:
    """The layout reports are those of the current inputs (`inputs`: the edition's fingerprint)
    and keep to the page plan; a heading's runt is named."""
    if edition is None or inputs is None:
        result.fail("the text does not load (see content): cannot compare it with the layout")
        return
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


def check_pages(settings: Settings, counts: dict[str, int], result: Result) -> None:
    """The page counts (`counts`: by variant) against the plan, and the imposed sheets against the pages."""
    planned = settings.page_count
    if planned % 4 and not settings.flows:
        result.fail(f"the plan has {planned} pages: saddle stitching needs a multiple of 4")
    for variant in ("print", "screen"):
        count = counts[variant]
        if settings.flows and count % 4:
            result.fail(f"{variant}: {count} pages: saddle stitching needs a multiple of 4")
        elif count != planned and not settings.flows:
            result.fail(f"{variant}: {count} pages, the plan has {planned}")
    sheets = counts["imposed"]
    if sheets * 2 != counts["print"]:
        result.fail(f"imposed: {sheets} sheet sides for {counts['print']} pages (expected {counts['print'] // 2})")
