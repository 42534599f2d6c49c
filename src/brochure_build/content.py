"""Content stage: loads brochure/brochure.yaml and brochure/text/<lang>.yaml, validates them and
builds the model. Every problem of every file is collected, so one run reports them all."""

from __future__ import annotations

import datetime
import difflib
import re
from pathlib import Path
from typing import Any

from brochure_build.errors import ContentError, Problem
from brochure_build.model import (
    Edition,
    Figure,
    FigureSpec,
    Labels,
    LanguageSpec,
    Meta,
    PageSize,
    PrintSpec,
    Section,
    SectionSpec,
    Settings,
)
from brochure_build.yamlsource import YamlDocument, child_path, load_yaml

SETTINGS_FILE = "brochure/brochure.yaml"
TEXT_DIR = "brochure/text"

PAGE_SIZES = {"A4": (210.0, 297.0), "A5": (148.0, 210.0), "LETTER": (215.9, 279.4), "A3": (297.0, 420.0),
              "SRA3": (320.0, 450.0)}
UNITS_MM = {"mm": 1.0, "cm": 10.0, "in": 25.4, "pt": 25.4 / 72}
PAGE_KINDS = ("cover", "section", "opener", "priority", "closing", "back-cover")
ID_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
LANGUAGE_TAG = re.compile(r"[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*")  # BCP 47, as <html lang> takes it

# Words each page kind needs from a language's text file, under sections.<id>.
# Values: "str" (non-empty text) or "list" (non-empty list of texts).
SECTION_TEXT_SCHEMA: dict[str, dict[str, str]] = {
    "cover": {},
    "section": {"heading": "str", "body": "list", "pledges": "list"},
    "opener": {"heading": "str"},
    "priority": {"heading": "str", "body": "list", "contribution": "str", "pledges": "list"},
    "closing": {"heading": "str", "body": "list"},
    "back-cover": {"heading": "str", "items": "list"},
}
TEXT_SCHEMA = {
    "labels": {"pledges": "str", "contribution": "str", "credit": "str", "priority_number": "str"},
    "meta": {"title": "str", "author": "str", "subject": "str", "keywords": "list"},
    "cover": {"title_lines": "list"},
}
FIGURE_TEXT_SCHEMA = {"caption": "str", "credit": "str", "alt": "str"}


class Checker:
    """Typed access to a YamlDocument that records a problem instead of raising."""

    def __init__(self, document: YamlDocument, problems: list[Problem]):
        self.document = document
        self.problems = problems
        # Keys the loader already reported (an unreadable value, an alias) read as None: one problem per key is enough.
        self.reported = {problem.key for problem in problems if problem.file == document.display_path}

    def report(self, key_path: str, message: str) -> None:
        if key_path not in self.reported:
            self.problems.append(self.document.problem(key_path, message))

    def mapping(self, value: Any, key_path: str, allowed: list[str], required: list[str]) -> dict[str, Any]:
        """Check `value` is a mapping with `required` keys and no key outside `allowed`."""
        if not isinstance(value, dict):
            self.report(key_path or "(top level)", f"expected a mapping, found {describe(value)}")
            return {}
        for key in value:
            if key not in allowed:
                hint = did_you_mean(str(key), allowed)
                self.report(child_path(key_path, key), f"unknown key{hint}")
        for key in required:
            if key not in value:
                self.report(child_path(key_path, key), "missing")
        return value

    def text(self, value: Any, key_path: str) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.report(key_path, f"expected text, found {describe(value)}")
            return ""
        text = str(value).strip()
        if not text:
            self.report(key_path, "is empty")
        return text

    def texts(self, value: Any, key_path: str) -> tuple[str, ...]:
        if not isinstance(value, list):
            self.report(key_path, f"expected a list, found {describe(value)}")
            return ()
        if not value:
            self.report(key_path, "is an empty list")
        return tuple(self.text(item, child_path(key_path, i)) for i, item in enumerate(value))

    def typed(self, kind: str, value: Any, key_path: str) -> Any:
        return self.texts(value, key_path) if kind == "list" else self.text(value, key_path)


def describe(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__)


def did_you_mean(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f" (did you mean '{close[0]}'?)"
    return f" (expected one of: {', '.join(allowed)})" if allowed else ""


def parse_length_mm(value: Any) -> float | None:
    """'3mm', '0.5in', '12pt' -> millimetres; None if not a length."""
    match = re.fullmatch(r"\s*(\d{1,6}(?:\.\d{1,6})?)\s*(mm|cm|in|pt)\s*", str(value))
    return float(match[1]) * UNITS_MM[match[2]] if match else None


def parse_pages(value: Any) -> tuple[int, int] | None:
    """7 -> (7, 7); '2-3' -> (2, 3)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value) if 1 <= value <= 9999 else None
    if isinstance(value, int) or not isinstance(value, str):
        return None
    match = re.fullmatch(r"\s*(\d{1,4})\s*[-–]\s*(\d{1,4})\s*", value)
    if match and 1 <= int(match[1]) <= int(match[2]):
        return int(match[1]), int(match[2])
    return None


def load_settings(root: Path, problems: list[Problem]) -> Settings | None:
    """Load and validate brochure/brochure.yaml; None (with problems) if unusable."""
    document = load_yaml(root / SETTINGS_FILE, SETTINGS_FILE, problems, root)
    if document is None:
        return None
    before = len(problems)
    check = Checker(document, problems)
    top_keys = ["slug", "date", "page", "print", "source_language", "languages", "figures", "sections"]
    data = check.mapping(document.data, "", top_keys, top_keys)

    slug = check.text(data.get("slug", "x"), "slug")
    if slug and not ID_PATTERN.match(slug):
        check.report("slug", "use lower-case letters, digits and hyphens only")
    date = str(data.get("date", ""))
    if "date" in data and not valid_date(date):
        check.report("date", f"expected a date such as 2020-11-02, found {date!r}")

    page = check.mapping(data.get("page", {}), "page", ["size", "bleed"], ["size", "bleed"])
    size = parse_page_size(page.get("size", "A4"))
    if size is None:
        check.report("page.size", f"expected A4, A5, Letter or '<width> <height>', found {page.get('size')!r}")
    bleed = parse_length_mm(page.get("bleed", "3mm"))
    if bleed is None:
        check.report("page.bleed", f"expected a length such as 3mm, found {page.get('bleed')!r}")

    print_spec = load_print_spec(check, data.get("print", {}))

    languages = []
    langs = check.mapping(data.get("languages", {}), "languages", keys_of(data.get("languages")), [])
    for code, spec in langs.items():
        path = child_path("languages", code)
        if not re.fullmatch(r"[a-z]{2,3}", str(code)):
            check.report(path, "a language code is two or three lower-case letters, such as fr")
        spec = check.mapping(spec, path, ["tag", "direction", "fonts"], ["tag", "fonts"])
        direction = spec.get("direction", "ltr")
        if direction not in ("ltr", "rtl"):
            check.report(child_path(path, "direction"), f"expected ltr or rtl, found {direction!r}")
        families = check.texts(spec.get("fonts", ["x"]), child_path(path, "fonts"))
        languages.append(LanguageSpec(str(code), check.text(spec.get("tag", code), child_path(path, "tag")), direction, families))
    if "languages" in data and not languages:
        check.report("languages", "lists no language")
    source_language = str(data.get("source_language", ""))
    if languages and source_language not in [lang.code for lang in languages]:
        check.report("source_language", f"{source_language!r} is not one of the languages")

    figures = {}
    figs = check.mapping(data.get("figures", {}), "figures", keys_of(data.get("figures")), [])
    for figure_id, spec in figs.items():
        path = child_path("figures", figure_id)
        spec = check.mapping(spec, path, ["file", "width", "height", "credit_lang"], ["file", "width", "height"])
        dims = []
        for dim in ("width", "height"):
            length = parse_length_mm(spec.get(dim, "1mm"))
            if length is None:
                check.report(child_path(path, dim), f"expected a length such as 174mm, found {spec.get(dim)!r}")
            dims.append(length or 1.0)
        file = check.text(spec.get("file", "x"), child_path(path, "file"))
        if file:
            refusal = path_refusal(file)
            if refusal:
                check.report(child_path(path, "file"), f"{file}: {refusal}; photos are files under assets/, such as photos/cover.jpg")
        credit_lang = spec.get("credit_lang", "")
        if not isinstance(credit_lang, str) or (credit_lang and not LANGUAGE_TAG.fullmatch(credit_lang)):
            check.report(child_path(path, "credit_lang"), f"expected a language tag such as lb or de-CH, found {credit_lang!r}")
            credit_lang = ""
        line = document.line(child_path(path, "file"))
        figures[str(figure_id)] = FigureSpec(str(figure_id), file, dims[0], dims[1], line, credit_lang)

    sections = []
    raw_sections = data.get("sections", [])
    if not isinstance(raw_sections, list):
        check.report("sections", f"expected a list, found {describe(raw_sections)}")
        raw_sections = []
    seen_ids: set[str] = set()
    for i, spec in enumerate(raw_sections):
        path = child_path("sections", i)
        spec = check.mapping(spec, path, ["id", "kind", "pages", "figures", "photo_page"], ["id", "kind", "pages"])
        section_id = str(spec.get("id", ""))
        if section_id in seen_ids:
            check.report(child_path(path, "id"), f"section {section_id!r} is listed twice")
        seen_ids.add(section_id)
        kind = spec.get("kind", "section")
        if kind not in PAGE_KINDS:
            check.report(child_path(path, "kind"), f"unknown page kind {kind!r}{did_you_mean(str(kind), list(PAGE_KINDS))}")
        pages = parse_pages(spec.get("pages", 1))
        if pages is None:
            check.report(child_path(path, "pages"), f"expected a page number or a range such as 2-3, found {spec.get('pages')!r}")
            pages = (1, 1)
        section_figures = spec.get("figures", [])
        if not isinstance(section_figures, list):
            check.report(child_path(path, "figures"), f"expected a list, found {describe(section_figures)}")
            section_figures = []
        for j, figure_id in enumerate(section_figures):
            if not isinstance(figure_id, str) or figure_id not in figures:
                check.report(child_path(child_path(path, "figures"), j),
                             f"no figure {figure_id!r} in figures{did_you_mean(str(figure_id), list(figures))}")
        photo_page = spec.get("photo_page")
        if not (photo_page is None or photo_page in ("before", "after")):
            check.report(child_path(path, "photo_page"), f"expected before or after, found {photo_page!r}")
        sections.append(SectionSpec(section_id, str(kind), pages[0], pages[1], tuple(map(str, section_figures)), photo_page))
    if "sections" in data and not sections:
        check.report("sections", "lists no section")
    check_page_plan(sections, check)

    if len(problems) > before or size is None or bleed is None or print_spec is None:
        return None
    return Settings(slug, date, PageSize(*size), bleed, source_language, tuple(languages), figures, tuple(sections), print_spec)


def load_print_spec(check: Checker, value: Any) -> PrintSpec | None:
    """The `print:` block: output profile, its registered condition, the imposition sheet."""
    keys = ["output_profile", "output_condition", "sheet"]
    spec = check.mapping(value, "print", keys, keys)
    profile = check.text(spec.get("output_profile", "x.icc"), "print.output_profile")
    if profile and not profile.lower().endswith((".icc", ".icm")):
        check.report("print.output_profile", f"expected an ICC profile file (.icc) under assets/, found {profile!r}")
    condition = check.text(spec.get("output_condition", "x"), "print.output_condition")
    sheet = parse_page_size(spec.get("sheet", "SRA3"))
    if sheet is None:
        check.report("print.sheet", f"expected SRA3, A3 or '<width> <height>', found {spec.get('sheet')!r}")
        return None
    return PrintSpec(profile, condition, PageSize(*sheet))


def keys_of(value: Any) -> list[str]:
    """The keys of a mapping, or none: a list or a number where a mapping belongs is reported by Checker.mapping."""
    return [str(key) for key in value] if isinstance(value, dict) else []


def valid_date(text: str) -> bool:
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", text))


URL_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")


def path_refusal(reference: str, climbing: bool = False) -> str:
    """Why a path written in the content or the CSS may not be used, or '' if it may (as far as the text shows).

    Only relative paths that stay inside their folder: no URL of any scheme (http, https, file,
    data …), no absolute path, and (unless `climbing`: stylesheets reach ../../fonts/) no `..`.
    Where a path really leads, through links too, is checked on the disk (assets.py, sandbox.py).
    """
    scheme = URL_SCHEME.match(reference)
    if scheme and len(scheme[1]) > 1:  # a one-letter "scheme" is a Windows drive, refused below as absolute
        return f"a {scheme[1].lower()}: URL is not allowed, only files inside the project"
    if reference.startswith(("/", "\\")) or re.match(r"^[a-zA-Z]:[\\/]", reference):
        return "an absolute path is not allowed, only a path relative to its folder"
    if not climbing and ".." in re.split(r"[\\/]", reference):
        return "a path with .. is not allowed"
    return ""


def parse_page_size(value: Any) -> tuple[float, float] | None:
    if str(value).upper() in PAGE_SIZES:
        return PAGE_SIZES[str(value).upper()]
    parts = str(value).split()
    if len(parts) == 2:
        width, height = (parse_length_mm(part) for part in parts)
        if width and height:
            return width, height
    return None


def check_page_plan(sections: list[SectionSpec], check: Checker) -> None:
    """Sections follow each other page after page from 1, and the total is a multiple of 4."""
    expected_first = 1
    for i, section in enumerate(sections):
        if section.first_page != expected_first:
            check.report(child_path(child_path("sections", i), "pages"),
                         f"section {section.id!r} starts on page {section.first_page}, expected page {expected_first} "
                         "(sections fill the pages in order, without gaps or overlaps)")
        expected_first = section.last_page + 1
    total = expected_first - 1
    if sections and total % 4:
        check.report(child_path(child_path("sections", len(sections) - 1), "pages"),
                     f"the page plan has {total} pages: saddle stitching needs a multiple of 4")


def text_file(code: str) -> str:
    return f"{TEXT_DIR}/{code}.yaml"


def load_edition(root: Path, settings: Settings, code: str, problems: list[Problem]) -> Edition | None:
    """Load and validate brochure/text/<code>.yaml against the shared structure."""
    display = text_file(code)
    document = load_yaml(root / display, display, problems, root)
    if document is None:
        return None
    before = len(problems)
    check = Checker(document, problems)
    data = check.mapping(document.data, "", ["labels", "meta", "cover", "sections", "figures", "source_fingerprints"],
                         ["labels", "meta", "cover", "sections", "figures"])
    recorded = data.get("source_fingerprints", {})
    if not isinstance(recorded, dict) or not all(isinstance(value, str) for value in recorded.values()):
        check.report("source_fingerprints", "expected key: fingerprint lines, as written by `brochure check --accept`; "
                                            "delete the block and run it again")
    parts = {}
    for part, schema in TEXT_SCHEMA.items():
        block = check.mapping(data.get(part, {}), part, list(schema), list(schema)) if part in data else {}
        parts[part] = {key: check.typed(kind, block[key], child_path(part, key)) for key, kind in schema.items() if key in block}
    if "{n}" not in parts["labels"].get("priority_number", "{n}"):
        check.report("labels.priority_number", "must contain {n}, where the priority's number goes")

    figure_texts = check.mapping(data.get("figures", {}), "figures", list(settings.figures), list(settings.figures)) \
        if "figures" in data else {}
    figures = {}
    for figure_id, spec in settings.figures.items():
        path = child_path("figures", figure_id)
        if figure_id not in figure_texts:
            continue
        block = check.mapping(figure_texts[figure_id], path, list(FIGURE_TEXT_SCHEMA), list(FIGURE_TEXT_SCHEMA))
        words = {key: check.text(block[key], child_path(path, key)) for key in FIGURE_TEXT_SCHEMA if key in block}
        figures[figure_id] = Figure(spec, words.get("caption", ""), words.get("credit", ""), words.get("alt", ""))

    text_sections = [s for s in settings.sections if SECTION_TEXT_SCHEMA[s.kind]]
    section_texts = check.mapping(data.get("sections", {}), "sections", [s.id for s in text_sections],
                                  [s.id for s in text_sections]) if "sections" in data else {}
    sections = []
    for spec in settings.sections:
        schema = SECTION_TEXT_SCHEMA[spec.kind]
        path = child_path("sections", spec.id)
        block = check.mapping(section_texts[spec.id], path, list(schema), list(schema)) if spec.id in section_texts else {}
        words: dict[str, Any] = {key: check.typed(kind, block[key], child_path(path, key)) for key, kind in schema.items() if key in block}
        number = 1 + sum(1 for done in sections if done.spec.kind == spec.kind)
        sections.append(Section(spec, number=number, figures=tuple(figures[f] for f in spec.figures if f in figures), **words))

    if len(problems) > before:
        return None
    labels, meta = parts["labels"], parts["meta"]
    return Edition(
        settings=settings,
        language=settings.language(code),
        labels=Labels(**labels),
        meta=Meta(meta["title"], meta["author"], meta["subject"], tuple(meta["keywords"])),
        title_lines=tuple(parts["cover"]["title_lines"]),
        sections=tuple(sections),
        figures=figures,
        text_file=root / display,
    )


def unknown_languages(settings: Settings, languages: list[str] | None) -> list[Problem]:
    """A problem for every --lang that is not one of the brochure's languages."""
    known = [lang.code for lang in settings.languages]
    return [Problem(SETTINGS_FILE, 0, "languages", f"--lang {code}: no such language; the brochure has: {', '.join(known)}")
            for code in languages or [] if code not in known]


def load_content(root: Path, languages: list[str] | None = None) -> tuple[Settings, list[Edition]]:
    """Load settings and the editions of `languages` (default: all); raise ContentError listing every problem."""
    problems: list[Problem] = []
    settings = load_settings(root, problems)
    if settings is None:
        raise ContentError(problems)
    problems += unknown_languages(settings, languages)
    if problems:
        raise ContentError(problems)
    codes = languages or [lang.code for lang in settings.languages]
    editions = [load_edition(root, settings, code, problems) for code in codes]
    if problems:
        raise ContentError(problems)
    return settings, [edition for edition in editions if edition is not None]


