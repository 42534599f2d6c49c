"""Page kinds, declared by the layouts: each template `layouts/pages/<kind>.html.j2` has beside it
`<kind>.kind.yaml`, the fields the kind takes from a section's words and the labels it prints.

The pipeline knows no kind by name: content is validated against these declarations, and the
templates receive whatever fields they declare. A declaration reads:

    fields:
      heading: {type: text, becomes: h2}
      body:    {type: blocks, becomes: p, may_differ: true}
      notes:   {type: texts, becomes: list, required: false}
      articles:
        type: group
        becomes: list
        fields:
          number:     {type: text, becomes: lbl}
          heading:    {type: text, becomes: h3}
          paragraphs: {type: texts, becomes: p, may_differ: true}
    labels: [credit]
    fit:                               # optional: what the build may flex to fill the planned pages
      steps: 9                         # steps from the smallest setting to the largest
      vary:                            # custom properties set on the section, from smallest to largest
        --body-size: [9pt, 11.5pt]
        --body-leading: [1.4, 1.6]
      languages:                       # other bounds for some languages (CJK type is set larger)
        zh: {--body-size: [10.5pt, 13pt]}
      frames: grow                     # photo frames grow within their heights in brochure.yaml
      optional: [quote]                # fields shown only when the page needs them to fill
      share: [edition, script]         # one step for every run of the kind in an edition, and
                                       # across the editions whose language has the same script

`type`: text (one text), texts (a list of texts), blocks (a list of headings, paragraphs, lists,
titled boxes, quotes and figure references) or group (a list of entries, each with the `fields`
given). `becomes` says what the field is in the tagged PDF. `may_differ`: translations may hold
a different number of items than the source (official texts); the field is then compared with
the source as a whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brochure_build.errors import Problem
from brochure_build.source.yamlsource import YamlDocument, child_path, load_yaml

FIELD_TYPES = ("text", "texts", "blocks", "group")
ROLES = ("h1", "h2", "h3", "h4", "p", "list", "lbl", "figure", "caption", "quote", "box", "none")
FIELD_KEYS = ("type", "becomes", "required", "may_differ", "fields")
# Names a section already has in the templates (section.spec, .number, .words, .figures).
RESERVED = ("spec", "number", "words", "figures")
DECLARATION_SUFFIX = ".kind.yaml"
FIT_KEYS = ("steps", "vary", "languages", "frames", "optional", "share")
SHARE_SCOPES = ("edition", "script")
MAX_STEPS = 24
CUSTOM_PROPERTY = re.compile(r"--[a-z][a-z0-9-]*")
BOUND = re.compile(r"\s*(-?\d{1,4}(?:\.\d{1,4})?)(pt|mm|px|em|%)?\s*")
TEMPLATE_SUFFIX = ".html.j2"


@dataclass(frozen=True)
class FieldSpec:
    """One field of a kind: its type, whether it must be there, what it becomes when tagged."""

    name: str
    type: str
    becomes: str
    required: bool = True
    may_differ: bool = False
    fields: tuple[FieldSpec, ...] = ()  # of a group's entries
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Range:
    """A custom property the fitter may set: between two bounds of one unit, or one value per step
    (a CJK em grid wants type sizes that divide the measure into whole characters)."""

    name: str
    values: tuple[float, ...]  # two bounds, or one value per step
    unit: str = ""

    def number(self, step: int, steps: int) -> float:
        if len(self.values) > 2 or steps < 2:
            return self.values[min(step, len(self.values) - 1)]
        low, high = self.values
        return low + (high - low) * step / (steps - 1)

    def at(self, step: int, steps: int) -> str:
        return f"{round(self.number(step, steps), 3):g}{self.unit}"


@dataclass(frozen=True)
class FitSpec:
    """What a kind lets the build flex to fill its planned pages (see the module's docstring)."""

    steps: int
    vary: tuple[Range, ...]
    languages: tuple[tuple[str, tuple[Range, ...]], ...] = ()
    frames: bool = False
    optional: tuple[str, ...] = ()
    share: tuple[str, ...] = ()  # "edition", "script": who sets this kind at one step (render/share.py)

    def ranges(self, language: str) -> tuple[Range, ...]:
        """The ranges for `language`: the kind's, with the language's own bounds where it has some."""
        merged = {r.name: r for r in self.vary}
        merged.update({r.name: r for r in dict(self.languages).get(language, ())})
        return tuple(merged.values())

    def values(self, language: str, step: int) -> dict[str, str]:
        return {r.name: r.at(step, self.steps) for r in self.ranges(language)}


@dataclass(frozen=True)
class Kind:
    """A page kind: its template and the fields and labels it takes."""

    name: str
    declaration: str  # display path of the .kind.yaml
    fields: tuple[FieldSpec, ...]
    labels: tuple[str, ...] = ()
    fit: FitSpec | None = None

    def field(self, name: str) -> FieldSpec | None:
        return next((spec for spec in self.fields if spec.name == name), None)


def load_kinds(root: Path, layouts: str, problems: list[Problem]) -> dict[str, Kind | None]:
    """Every kind of the layouts folder `layouts` (relative to root): a template and its declaration.

    A kind whose declaration is reported malformed maps to None: it exists, so the page plan does
    not call it unknown as well."""
    pages = root / layouts / "pages"
    kinds: dict[str, Kind | None] = {}
    if not pages.is_dir():
        problems.append(Problem(f"{layouts}/pages", 0, "", "folder not found: the page templates and their declarations "
                                                             f"(<kind>{TEMPLATE_SUFFIX}, <kind>{DECLARATION_SUFFIX}) live there"))
        return kinds
    templates = {p.name[: -len(TEMPLATE_SUFFIX)] for p in pages.glob("*" + TEMPLATE_SUFFIX)}
    declarations = {p.name[: -len(DECLARATION_SUFFIX)] for p in pages.glob("*" + DECLARATION_SUFFIX)}
    for name in sorted(templates - declarations):
        problems.append(Problem(f"{layouts}/pages/{name}{TEMPLATE_SUFFIX}", 0, "",
                                f"template without a declaration: write {layouts}/pages/{name}{DECLARATION_SUFFIX} "
                                "listing the fields it takes (see README, Page kinds)"))
    for name in sorted(declarations - templates):
        problems.append(Problem(f"{layouts}/pages/{name}{DECLARATION_SUFFIX}", 0, "",
                                f"declaration without a template: write {layouts}/pages/{name}{TEMPLATE_SUFFIX}, "
                                "or remove the declaration"))
    for name in sorted(templates & declarations):
        display = f"{layouts}/pages/{name}{DECLARATION_SUFFIX}"
        document = load_yaml(pages / f"{name}{DECLARATION_SUFFIX}", display, problems, root)
        kinds[name] = None
        if document is not None:
            kinds[name] = parse_declaration(name, document, problems)
    return kinds


def parse_declaration(name: str, document: YamlDocument, problems: list[Problem]) -> Kind | None:
    before = len(problems)

    def report(key: str, message: str) -> None:
        problems.append(document.problem(key, f"{message}: see README, Page kinds"))

    data = document.data if document.data is not None else {}
    if not isinstance(data, dict):
        report("", "a declaration is a mapping with `fields:` and `labels:`")
        return None
    for key in data:
        if key not in ("fields", "labels", "fit"):
            report(str(key), "unknown key in a kind declaration (expected fields, labels, fit)")
    fields = parse_fields(data.get("fields") or {}, "fields", document, report, nested=False)
    labels = data.get("labels") or []
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        report("labels", "expected a list of label names, such as [credit]")
        labels = []
    fit = parse_fit(data["fit"], fields, report) if data.get("fit") is not None else None
    if len(problems) > before:
        return None
    return Kind(name, document.display_path, fields, tuple(labels), fit)


def parse_fit(value: Any, fields: tuple[FieldSpec, ...], report) -> FitSpec | None:
    """The `fit:` of a declaration: steps, the ranges, per-language bounds, frames and optional fields."""
    if not isinstance(value, dict):
        report("fit", "expected a mapping with steps, vary and optionally languages, frames, optional")
        return None
    for key in value:
        if key not in FIT_KEYS:
            report(child_path("fit", key), f"unknown key (expected one of: {', '.join(FIT_KEYS)})")
    steps = value.get("steps", 1)
    if not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= MAX_STEPS:
        report("fit.steps", f"expected a whole number of steps from 1 to {MAX_STEPS}, found {steps!r}")
        steps = 1
    vary = parse_ranges(value.get("vary"), "fit.vary", steps, report)
    languages = []
    own = value.get("languages") or {}
    if not isinstance(own, dict):
        report("fit.languages", "expected language codes, each with its own ranges, such as zh: {--body-size: [10.5pt, 13pt]}")
        own = {}
    for code, ranges in own.items():
        languages.append((str(code), parse_ranges(ranges, child_path("fit.languages", code), steps, report)))
    frames = value.get("frames")
    if frames not in (None, "grow", "fixed"):
        report("fit.frames", f"expected grow (photo frames grow within their heights in brochure.yaml) or fixed, found {frames!r}")
    optional = value.get("optional") or []
    if not isinstance(optional, list) or not all(isinstance(name, str) for name in optional):
        report("fit.optional", "expected a list of field names, such as [quote]")
        optional = []
    for index, name in enumerate(optional):
        spec = next((f for f in fields if f.name == name), None)
        if spec is None:
            report(f"fit.optional[{index}]", f"{name!r} is not a field of this kind")
        elif spec.required:
            report(f"fit.optional[{index}]", f"{name!r} is required: only an optional field (required: false) can be left out")
    share = value.get("share") or []
    if not isinstance(share, list) or not all(scope in SHARE_SCOPES for scope in share) or len(set(share)) < len(share):
        report("fit.share", f"expected a list of {' and '.join(SHARE_SCOPES)} (one step for every run of the kind in an "
                            f"edition; and in every edition of the same script), such as [edition, script]; found {share!r}")
        share = []
    return FitSpec(steps, vary, tuple(languages), frames == "grow", tuple(optional), tuple(share))


def parse_ranges(value: Any, path: str, steps: int, report) -> tuple[Range, ...]:
    if not isinstance(value, dict):
        report(path, "expected custom properties, each with [smallest, largest], such as --body-size: [9pt, 11pt]")
        return ()
    ranges = []
    for name, bounds in value.items():
        key = child_path(path, name)
        if not CUSTOM_PROPERTY.fullmatch(str(name)):
            report(key, f"{name!r} is not a custom property: the layouts' CSS reads what the fitter sets through "
                        "var(--name), such as --body-size")
            continue
        matches = [BOUND.fullmatch(str(bound)) for bound in bounds] if isinstance(bounds, list) and len(bounds) >= 2 else []
        if not matches or not all(matches) or len(matches) not in (2, steps):
            report(key, f"expected [smallest, largest] such as [9pt, 11pt], or one value for each of the {steps} steps; "
                        f"found {bounds!r}")
            continue
        units = {match[2] or "" for match in matches}
        if len(units) > 1:
            report(key, f"every value needs the same unit, found {bounds!r}")
            continue
        numbers = tuple(float(match[1]) for match in matches)
        if len(numbers) == 2 and numbers[0] > numbers[1]:
            report(key, f"the smallest comes first: [{bounds[1]}, {bounds[0]}]")
            continue
        ranges.append(Range(str(name), numbers, units.pop()))
    return tuple(ranges)


def parse_fields(value: Any, path: str, document: YamlDocument, report, nested: bool) -> tuple[FieldSpec, ...]:
    if not isinstance(value, dict):
        report(path, "expected a mapping of field names to {type: …, becomes: …}")
        return ()
    specs = []
    for name, spec in value.items():
        key = child_path(path, name)
        name = str(name)
        if not nested and name in RESERVED:
            report(key, f"{name!r} is reserved (the templates' section.{name}): choose another name")
        if not isinstance(spec, dict):
            report(key, "expected {type: …, becomes: …}")
            continue
        for option in spec:
            if option not in FIELD_KEYS:
                report(child_path(key, option), f"unknown option (expected one of: {', '.join(FIELD_KEYS)})")
        field_type = spec.get("type")
        if field_type not in FIELD_TYPES:
            report(child_path(key, "type"), f"expected one of {', '.join(FIELD_TYPES)}, found {field_type!r}")
            continue
        becomes = spec.get("becomes")
        if becomes not in ROLES:
            report(child_path(key, "becomes"), f"expected what the field is in the tagged PDF, one of "
                                               f"{', '.join(ROLES)}; found {becomes!r}")
        required, may_differ = spec.get("required", True), spec.get("may_differ", False)
        for option, flag in (("required", required), ("may_differ", may_differ)):
            if not isinstance(flag, bool):
                report(child_path(key, option), f"expected true or false, found {flag!r}")
        if may_differ and field_type not in ("texts", "blocks"):
            report(child_path(key, "may_differ"), "only a list (texts or blocks) may differ in length between languages")
        sub: tuple[FieldSpec, ...] = ()
        if field_type == "group":
            if nested:
                report(child_path(key, "type"), "a group's fields are text, texts or blocks, not another group")
            sub = parse_fields(spec.get("fields"), child_path(key, "fields"), document, report, nested=True)
        elif "fields" in spec:
            report(child_path(key, "fields"), "only a field of type group has fields")
        specs.append(FieldSpec(name, str(field_type), str(becomes), bool(required), bool(may_differ), sub,
                               document.line(key)))
    return tuple(specs)
