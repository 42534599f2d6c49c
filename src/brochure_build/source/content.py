"""Content stage: loads brochure/brochure.yaml and brochure/text/<lang>.yaml, validates them and
builds the model. Every problem of every file is collected, so one run reports them all."""

from __future__ import annotations

import datetime
import difflib
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from brochure_build.errors import ContentError, Problem
from brochure_build.source.kinds import FieldSpec, Kind, load_kinds
from brochure_build.source.model import (
    Block,
    Edition,
    Figure,
    FigureSpec,
    LanguageSpec,
    Meta,
    PageSize,
    PrintSpec,
    Record,
    Section,
    SectionSpec,
    Settings,
)
from brochure_build.source.yamlsource import YamlDocument, child_path, load_yaml

SETTINGS_FILE = "brochure/brochure.yaml"
TEXT_DIR = "brochure/text"
PRODUCTS_DIR = "brochure/products"

PAGE_SIZES = {"A4": (210.0, 297.0), "A5": (148.0, 210.0), "LETTER": (215.9, 279.4), "A3": (297.0, 420.0),
              "SRA3": (320.0, 450.0)}
UNITS_MM = {"mm": 1.0, "cm": 10.0, "in": 25.4, "pt": 25.4 / 72}
ID_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
LANGUAGE_TAG = re.compile(r"[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*")  # BCP 47, as <html lang> takes it

# What the pipeline itself reads from a text file; everything else is declared by the layouts' kinds.
META_SCHEMA = {"title": "str", "author": "str", "subject": "str", "keywords": "list"}
FIGURE_TEXT_SCHEMA = {"caption": "str", "credit": "str", "alt": "str"}
# A block of a `blocks` field: its type key, and the other keys it may have.
BLOCK_TYPES = {"heading": (), "paragraph": (), "list": (), "box": ("body",), "quote": ("source",), "figure": ()}


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
    """The first product, brochure/brochure.yaml, knowing the words every product reads; None
    (with problems) if any product is unusable."""
    products = load_products(root, problems)
    return products[0] if products else None


def product_files(root: Path) -> list[str]:
    """brochure/products/*.yaml, by name: the products besides brochure/brochure.yaml."""
    folder = root / PRODUCTS_DIR
    return [f"{PRODUCTS_DIR}/{path.name}" for path in sorted(folder.glob("*.yaml"))] if folder.is_dir() else []


def load_products(root: Path, problems: list[Problem]) -> list[Settings]:
    """Every product: brochure/brochure.yaml first, then brochure/products/*.yaml, each a page plan
    with its own slug, page size and layouts folder, reading the same text files. A product file
    holds what differs from brochure.yaml; the rest (languages, figures, print …) it inherits.
    Empty (with problems) if one does not load."""
    before = len(problems)
    main = load_product(root, problems)
    if main is None:
        return []
    if len(problems) > before:  # a value the loader refused reads as nothing: the products inheriting it would repeat it
        return [main]
    document = load_yaml(root / SETTINGS_FILE, SETTINGS_FILE, [], root)
    inherited = document.data if document is not None and isinstance(document.data, dict) else {}
    products = [main] + [load_product(root, problems, display, inherited) for display in product_files(root)]
    if any(product is None for product in products):
        return []
    slugs: dict[str, str] = {}
    for product in products:
        if product.slug in slugs:
            problems.append(Problem(product.file, 0, "slug", f"{product.slug!r} is already the slug of {slugs[product.slug]}: "
                                                             "each product needs its own, it names its PDFs"))
        slugs[product.slug] = product.file
    if len(problems) > before:
        return []
    kinds = {(product.layouts, name): kind for product in products for name, kind in product.kinds.items()}
    text_fields, label_names = plan_words([[(spec, kinds[(p.layouts, spec.kind)]) for spec in p.sections] for p in products])
    owners: dict[str, str] = {}
    for product in products:
        for spec in product.sections:
            owners.setdefault(spec.text, product.file)
    return [replace(product, text_fields=text_fields, label_names=label_names, text_owners=owners) for product in products]


def load_product(root: Path, problems: list[Problem], display: str = SETTINGS_FILE,
                 inherited: dict | None = None) -> Settings | None:
    """Load and validate brochure/brochure.yaml (or a product file, `display`, whose missing keys
    are `inherited` from brochure.yaml's values); None (with problems) if unusable."""
    document = load_yaml(root / display, display, problems, root)
    if document is None:
        return None
    before = len(problems)
    check = Checker(document, problems)
    top_keys = ["slug", "date", "page", "print", "source_language", "languages", "figures", "sections"]
    if inherited is not None:
        own = ["slug", "date", "page", "print", "figures", "sections", "layouts"]
        data = check.mapping(document.data, "", own, ["slug", "page", "sections", "layouts"])
        data = {**{key: value for key, value in inherited.items() if key != "layouts"}, **data}
        if isinstance(inherited.get("figures"), dict) and isinstance(data.get("figures"), dict):
            data["figures"] = {**inherited["figures"], **data["figures"]}  # a product reframes some photos
    else:
        data = check.mapping(document.data, "", top_keys + ["layouts"], top_keys)

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
        spec = check.mapping(spec, path, ["file", "width", "height", "credit_lang", "focus"], ["file", "width", "height"])
        dims = []
        tallest = 0.0
        for dim in ("width", "height"):
            value = spec.get(dim, "1mm")
            if dim == "height" and isinstance(value, list):  # [smallest, largest]: the frame may grow
                bounds = [parse_length_mm(bound) for bound in value] if len(value) == 2 else [None]
                if None in bounds or bounds[0] > bounds[1]:
                    check.report(child_path(path, dim), f"expected a length, or [smallest, largest] such as [60mm, 110mm], found {value!r}")
                    bounds = [1.0, 1.0]
                value, tallest = f"{bounds[0]}mm", bounds[1]
            length = parse_length_mm(value)
            if length is None:
                check.report(child_path(path, dim), f"expected a length such as 174mm, found {spec.get(dim)!r}")
            dims.append(length or 1.0)
        focus = spec.get("focus", [50, 50])
        if not (isinstance(focus, list) and len(focus) == 2 and all(isinstance(v, int | float) and 0 <= v <= 100 for v in focus)):
            check.report(child_path(path, "focus"), f"expected [x, y] in per cent of the photo, such as [50, 30], found {focus!r}")
            focus = [50, 50]
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
        figures[str(figure_id)] = FigureSpec(str(figure_id), file, dims[0], dims[1], line, credit_lang, tallest,
                                             f"{focus[0]:g}% {focus[1]:g}%")

    layouts = str(data.get("layouts", "layouts")).strip().rstrip("/")
    # Under layouts/, where the stylesheet and link checks look and the preview watches.
    if path_refusal(layouts) or not (layouts == "layouts" or layouts.startswith("layouts/")):
        check.report("layouts", f"{layouts}: expected layouts or a folder under it, such as layouts/leaflet")
        layouts = "layouts"
    kinds = load_kinds(root, layouts, problems)
    sections = load_plan(data, check, figures, kinds, layouts)

    if len(problems) > before or size is None or bleed is None or print_spec is None:
        return None
    text_fields, label_names = plan_words([[(spec, kinds[spec.kind]) for spec in sections]])
    return Settings(slug, date, PageSize(*size), bleed, source_language, tuple(languages), figures, tuple(sections),
                    print_spec, layouts, kinds, display, text_fields, label_names)


def plan_words(plans: list[list[tuple[SectionSpec, Kind]]]) -> tuple[dict[str, dict[str, FieldSpec]], tuple[str, ...]]:
    """The fields each text id may hold and the labels, over every plan that reads the text files."""
    text_fields: dict[str, dict[str, FieldSpec]] = {}
    labels: list[str] = []
    for plan in plans:
        for spec, kind in plan:
            if kind.fields:
                fields = text_fields.setdefault(spec.text, {})
                for field_spec in kind.fields:
                    fields.setdefault(field_spec.name, field_spec)
            labels += [label for label in kind.labels if label not in labels]
    return text_fields, tuple(labels)


PLAN_KEYS = ["id", "kind", "pages", "figures", "photo_page", "text", "shares_page"]


def load_plan(data: dict, check: Checker, figures: dict, kinds: dict[str, Kind], layouts: str) -> list[SectionSpec]:
    """The `sections:` page plan: each section's kind (declared in layouts/pages/), pages and photos."""
    sections: list[SectionSpec] = []
    raw_sections = data.get("sections", [])
    if not isinstance(raw_sections, list):
        check.report("sections", f"expected a list, found {describe(raw_sections)}")
        raw_sections = []
    seen_ids: set[str] = set()
    for i, spec in enumerate(raw_sections):
        path = child_path("sections", i)
        spec = check.mapping(spec, path, PLAN_KEYS, ["id", "kind", "pages"])
        section_id = str(spec.get("id", ""))
        if section_id in seen_ids:
            check.report(child_path(path, "id"), f"section {section_id!r} is listed twice")
        seen_ids.add(section_id)
        kind = spec.get("kind", "")
        if not isinstance(kind, str):
            check.report(child_path(path, "kind"), f"expected the name of a page kind, found {describe(kind)}")
        elif kind not in kinds:
            check.report(child_path(path, "kind"), f"unknown page kind {kind!r}{did_you_mean(str(kind), list(kinds))}: "
                                                   f"a kind is a template {layouts}/pages/<kind>.html.j2 with its "
                                                   f"declaration <kind>.kind.yaml beside it")
        shares_page = spec.get("shares_page", False)
        if not isinstance(shares_page, bool):
            check.report(child_path(path, "shares_page"), f"expected true or false, found {shares_page!r}")
            shares_page = False
        flows = spec.get("pages") == "auto"
        if flows:
            previous = sections[-1].last_page if sections else 0
            start = previous if shares_page else previous + 1
            pages: tuple[int, int] | None = (max(start, 1), max(start, 1))
        else:
            pages = parse_pages(spec.get("pages", 1))
        if pages is None:
            check.report(child_path(path, "pages"), "expected a page number, a range such as 2-3, or auto (as many as "
                                                    f"it needs), found {spec.get('pages')!r}")
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
        text = str(spec.get("text", section_id))
        if not ID_PATTERN.match(text):
            check.report(child_path(path, "text"), "expected the id of a block under sections: in the text files")
        sections.append(SectionSpec(section_id, str(kind), pages[0], pages[1], tuple(map(str, section_figures)),
                                    photo_page, text, flows, shares_page))
    if "sections" in data and not sections:
        check.report("sections", "lists no section")
    check_page_plan(sections, check)
    return sections


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
    """Sections follow each other page after page from 1 (a section that shares a page starts on
    the previous one's last), and the total is a multiple of 4. After a section that flows over as
    many pages as it needs, pages are known only once laid out: the sections after it flow too,
    and the build checks the total."""
    expected_first = 1
    flowing: SectionSpec | None = None
    for i, section in enumerate(sections):
        key = child_path(child_path("sections", i), "pages")
        if section.shares_page and i == 0:
            check.report(child_path(child_path("sections", i), "shares_page"), "the first section has no page to share")
        if flowing is not None and not section.flows:
            check.report(key, f"section {section.id!r} follows {flowing.id!r}, which flows over as many pages as it "
                              "needs: its pages are not known before layout; write pages: auto")
        elif not section.flows:
            expected = expected_first - 1 if section.shares_page else expected_first
            if section.first_page != expected:
                why = "it shares the page the previous section ends on" if section.shares_page else \
                    "sections fill the pages in order, without gaps or overlaps; shares_page: true puts two on one page"
                check.report(key, f"section {section.id!r} starts on page {section.first_page}, expected page {expected} ({why})")
        flowing = section if section.flows else flowing
        expected_first = section.last_page + 1
    total = expected_first - 1
    if sections and total % 4 and flowing is None:
        check.report(child_path(child_path("sections", len(sections) - 1), "pages"),
                     f"the page plan has {total} pages: saddle stitching needs a multiple of 4")


def text_file(code: str) -> str:
    return f"{TEXT_DIR}/{code}.yaml"


def load_edition(root: Path, settings: Settings, code: str, problems: list[Problem]) -> Edition | None:
    """Load and validate brochure/text/<code>.yaml against the shared structure and the kinds."""
    found: list[Problem] = []  # this file's, for this product: another product may have reported the same ones
    edition = read_edition(root, settings, code, found)
    problems += found
    return None if found else edition


def read_edition(root: Path, settings: Settings, code: str, problems: list[Problem]) -> Edition | None:
    display = text_file(code)
    document = load_yaml(root / display, display, problems, root)
    if document is None:
        return None
    check = Checker(document, problems)
    data = check.mapping(document.data, "", ["labels", "meta", "sections", "figures", "source_fingerprints"],
                         ["meta", "sections", "figures"] + (["labels"] if settings.label_names else []))
    recorded = data.get("source_fingerprints", {})
    if not isinstance(recorded, dict) or not all(isinstance(value, str) for value in recorded.values()):
        check.report("source_fingerprints", "expected key: fingerprint lines, as written by `brochure check --accept`; "
                                            "delete the block and run it again")
    meta_block = check.mapping(data["meta"], "meta", list(META_SCHEMA), list(META_SCHEMA)) if "meta" in data else {}
    meta = {key: check.typed(kind, meta_block[key], child_path("meta", key)) for key, kind in META_SCHEMA.items()
            if key in meta_block}
    label_names = list(settings.label_names)
    label_block = check.mapping(data.get("labels", {}), "labels", label_names, label_names) \
        if "labels" in data or label_names else {}
    labels = {key: check.text(label_block[key], child_path("labels", key)) for key in label_names if key in label_block}

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

    needed = [spec.text for spec in settings.sections if settings.kinds[spec.kind].fields]
    section_texts = check.mapping(data.get("sections", {}), "sections", list(settings.text_fields),
                                  list(dict.fromkeys(needed))) if "sections" in data else {}
    sections = []
    placed: set[str] = set()
    for spec in settings.sections:
        kind = settings.kinds[spec.kind]
        path = child_path("sections", spec.text)
        block = section_texts.get(spec.text, {}) if kind.fields else {}
        # A key no product declares is reported once, naming a kind: by the first product that places
        # the words, at the first of its sections that reads them (the back cover reads the cover's).
        reports_unknown = settings.text_owners.get(spec.text, settings.file) == settings.file and spec.text not in placed
        if kind.fields:
            placed.add(spec.text)
        words = section_words(check, kind, block if spec.text in section_texts else None, path,
                              settings.text_fields.get(spec.text, {}), figures, reports_unknown)
        number = 1 + sum(1 for done in sections if done.spec.kind == spec.kind)
        sections.append(Section(spec, number=number, words=Record(words),
                                figures=tuple(figures[f] for f in spec.figures if f in figures)))

    if problems:
        return None
    return Edition(
        settings=settings,
        language=settings.language(code),
        labels=Record(labels),
        meta=Meta(meta["title"], meta["author"], meta["subject"], tuple(meta["keywords"])),
        sections=tuple(sections),
        figures=figures,
        text_file=root / display,
    )


EMPTY = {"text": "", "texts": (), "blocks": (), "group": ()}


def section_words(check: Checker, kind: Kind, block: Any, path: str, allowed: dict[str, FieldSpec],
                  figures: dict[str, Figure], reports_unknown: bool = True) -> dict[str, Any]:
    """The words of one section, field by field as its kind declares them; an optional field left
    out is empty. Fields another product's kind reads from the same block are allowed, not read."""
    if block is None:
        return {spec.name: EMPTY[spec.type] for spec in kind.fields}
    if not isinstance(block, dict):
        check.report(path, f"expected a mapping of the fields of page kind {kind.name!r}, found {describe(block)}")
        return {}
    for key in block if reports_unknown else ():
        if key not in allowed:
            names = [spec.name for spec in kind.fields]
            check.report(child_path(path, key), f"unknown key{did_you_mean(str(key), names)}: not a field of page kind "
                                                f"{kind.name!r} ({kind.declaration})")
    words: dict[str, Any] = {}
    for spec in kind.fields:
        key = child_path(path, spec.name)
        if spec.name not in block:
            if spec.required:
                check.report(key, "missing")
            words[spec.name] = EMPTY[spec.type]
            continue
        words[spec.name] = field_value(check, spec, block[spec.name], key, figures)
    return words


def field_value(check: Checker, spec: FieldSpec, value: Any, key: str, figures: dict[str, Figure]) -> Any:
    if spec.type == "text":
        return check.text(value, key)
    if spec.type == "texts":
        return check.texts(value, key)
    if spec.type == "blocks":
        return blocks(check, value, key, figures)
    if not isinstance(value, list):
        check.report(key, f"expected a list of entries (- {spec.fields[0].name if spec.fields else 'field'}: …), "
                          f"found {describe(value)}")
        return ()
    if not value:
        check.report(key, "is an empty list")
    entries = []
    names = [sub.name for sub in spec.fields]
    for i, entry in enumerate(value):
        entry_key = child_path(key, i)
        mapping = check.mapping(entry, entry_key, names, [sub.name for sub in spec.fields if sub.required])
        entries.append(Record({sub.name: field_value(check, sub, mapping[sub.name], child_path(entry_key, sub.name), figures)
                               if sub.name in mapping else EMPTY[sub.type] for sub in spec.fields}))
    return tuple(entries)


def blocks(check: Checker, value: Any, key: str, figures: dict[str, Figure]) -> tuple[Block, ...]:
    """A list of blocks: plain text is a paragraph; a mapping names its type by its first key
    (heading, paragraph, list, box with body, quote with source, figure)."""
    if not isinstance(value, list):
        check.report(key, f"expected a list of blocks (paragraphs, or heading:, list:, box:, quote:, figure:), "
                          f"found {describe(value)}")
        return ()
    if not value:
        check.report(key, "is an empty list")
    result = []
    for i, item in enumerate(value):
        item_key = child_path(key, i)
        if not isinstance(item, dict):
            result.append(Block("paragraph", check.text(item, item_key)))
            continue
        types = [name for name in item if name in BLOCK_TYPES]
        if len(types) != 1:
            check.report(item_key, f"a block is text, or a mapping with one of {', '.join(BLOCK_TYPES)}; "
                                   f"found {', '.join(map(str, item)) or 'nothing'}")
            continue
        block_type = types[0]
        check.mapping(item, item_key, [block_type, *BLOCK_TYPES[block_type]], [block_type, *BLOCK_TYPES[block_type]])
        type_key = child_path(item_key, block_type)
        if block_type == "list":
            result.append(Block("list", items=check.texts(item[block_type], type_key)))
        elif block_type == "box":
            result.append(Block("box", check.text(item[block_type], type_key),
                                items=check.texts(item.get("body", ["x"]), child_path(item_key, "body"))))
        elif block_type == "quote":
            result.append(Block("quote", check.text(item[block_type], type_key),
                                source=check.text(item.get("source", "x"), child_path(item_key, "source"))))
        elif block_type == "figure":
            figure_id = str(item[block_type])
            if figure_id not in figures:
                check.report(type_key, f"no figure {figure_id!r} in figures{did_you_mean(figure_id, list(figures))}")
            result.append(Block("figure", figure=figures.get(figure_id)))
        else:
            result.append(Block(block_type, check.text(item[block_type], type_key)))
    return tuple(result)


def unknown_languages(settings: Settings, languages: list[str] | None) -> list[Problem]:
    """A problem for every --lang that is not one of the brochure's languages."""
    known = [lang.code for lang in settings.languages]
    return [Problem(SETTINGS_FILE, 0, "languages", f"--lang {code}: no such language; the brochure has: {', '.join(known)}")
            for code in languages or [] if code not in known]


def load_content(root: Path, languages: list[str] | None = None) -> tuple[Settings, list[Edition]]:
    """Load settings and the editions of `languages` (default: all) of the first product, after
    validating every product's; raise ContentError listing every problem."""
    problems: list[Problem] = []
    products = load_products(root, problems)
    if not products:
        raise ContentError(problems)
    settings = products[0]
    problems += unknown_languages(settings, languages)
    if problems:
        raise ContentError(problems)
    codes = languages or [lang.code for lang in settings.languages]
    editions = [load_edition(root, settings, code, problems) for code in codes]
    for product in products[1:]:
        for code in codes:
            load_edition(root, product, code, problems)
    if problems:
        raise ContentError(problems)
    return settings, [edition for edition in editions if edition is not None]
