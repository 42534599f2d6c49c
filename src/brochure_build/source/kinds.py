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

`type`: text (one text), texts (a list of texts), blocks (a list of headings, paragraphs, lists,
titled boxes, quotes and figure references) or group (a list of entries, each with the `fields`
given). `becomes` says what the field is in the tagged PDF. `may_differ`: translations may hold
a different number of items than the source (official texts); the field is then compared with
the source as a whole.
"""

from __future__ import annotations

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
class Kind:
    """A page kind: its template and the fields and labels it takes."""

    name: str
    declaration: str  # display path of the .kind.yaml
    fields: tuple[FieldSpec, ...]
    labels: tuple[str, ...] = ()

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
        if key not in ("fields", "labels"):
            report(str(key), "unknown key in a kind declaration (expected fields, labels)")
    fields = parse_fields(data.get("fields") or {}, "fields", document, report, nested=False)
    labels = data.get("labels") or []
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        report("labels", "expected a list of label names, such as [credit]")
        labels = []
    if len(problems) > before:
        return None
    return Kind(name, document.display_path, fields, tuple(labels))


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
