"""Translators' round trip: XLIFF 1.2 files out of the text files and back into them.

Translators work in CAT tools (Trados, memoQ, OmegaT, Weblate), which read and write XLIFF 1.2.
`export` writes one file per target language, `build/xliff/<slug>-<lang>.xlf`: a `trans-unit` per
text block, its id the block's key (`sections.<id>.body[1]`), the source-language text, the
current translation with its state from `brochure check` (translated, stale, missing), a note on
where the block is printed, and `maxwidth`: how many characters the block may have before its
section no longer fits its pages (measured on the laid-out edition, `budgets`).

`import_files` checks every unit of every file first and changes nothing when anything is wrong;
then it writes the changed targets into `brochure/text/<lang>.yaml` in place (`yamledit`) and
records the source fingerprints of the units the translator confirmed, so they are no longer stale.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from lxml import etree

from brochure_build import __version__
from brochure_build.errors import ContentError, Problem
from brochure_build.output import shown_path, write_text_atomic
from brochure_build.source.content import load_products, load_settings, text_file, unknown_languages
from brochure_build.source.model import Settings
from brochure_build.source.translations import (
    fingerprint,
    language_status,
    leaves,
    load_source,
    recorded_fingerprints,
    render_fingerprints,
)
from brochure_build.source.yamledit import EditError, apply_changes, value_at
from brochure_build.source.yamlsource import load_yaml

NS = "urn:oasis:names:tc:xliff:document:1.2"
XML_NS = "http://www.w3.org/XML/1998/namespace"
XLIFF_DIR = "build/xliff"
TOOL_ID = "brochure_build"
# States a translator's tool sets on a target it considers done; other states leave a block stale.
CONFIRMED = {"translated", "final", "signed-off"}
# Bidirectional controls make the file say something other than what is printed (reordered text).
_CONTROL = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]")


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def xliff_path(root: Path, settings: Settings, code: str) -> Path:
    return root / XLIFF_DIR / f"{settings.slug}-{code}.xlf"


def layout_blocks(root: Path, settings: Settings, code: str) -> dict[str, dict] | None:
    """The block budgets of the last build of `code` (its print layout report), or None."""
    from brochure_build.paths import BUILD_DIR, layout_report_path, output_name

    report = layout_report_path(root / BUILD_DIR / code / output_name(settings, code, "print", "pdf"))
    try:
        return json.loads(report.read_text(encoding="utf-8")).get("blocks")
    except (OSError, ValueError):
        return None


def measure_and_export(root: Path, languages: list[str] | None, out=None) -> list[Path]:
    """Build each target language (skipped when up to date) so its block budgets are current,
    then export. A language that does not build is exported without `maxwidth`, and says why."""
    from brochure_build.build import build
    from brochure_build.errors import BuildError

    problems: list[Problem] = []
    settings = load_settings(root, problems)
    if settings is None:
        raise ContentError(problems)
    codes = target_languages(settings, languages)
    failed: dict[str, str] = {}
    try:
        build(root, codes)  # in parallel; editions that are up to date are skipped
    except BuildError:
        for code in codes:  # which ones: each alone (those built above are skipped now)
            try:
                build(root, [code])
            except BuildError as error:
                failed[code] = str(error).splitlines()[0] if str(error) else type(error).__name__
    products = load_products(root, problems)
    budgets: dict[str, dict[str, dict] | None] = {}
    for code in codes:
        budgets[code] = None if code in failed else products_blocks(root, products, code)
        if code in failed:
            print(f"warning: {code}: exported without maxwidth: the edition does not build ({failed[code]})", file=out)
    return export(root, languages, budgets)


def products_blocks(root: Path, products: list[Settings], code: str) -> dict[str, dict]:
    """The block budgets of `code` over every product that prints the text files: a block printed
    by two products must fit in both, so the tightest budget counts; `places` lists where it is printed."""
    merged: dict[str, dict] = {}
    for settings in products:
        kinds = {spec.id: spec.kind for spec in settings.sections}
        for key, entry in (layout_blocks(root, settings, code) or {}).items():
            place = {"product": settings.slug, "pages": entry.get("pages", [entry["page"]]), "section": entry["section"],
                     "kind": kinds.get(entry["section"])}
            if key not in merged or entry["budget"] < merged[key]["budget"]:
                merged[key] = {**entry, "places": merged.get(key, {}).get("places", [])}
            merged[key]["places"].append(place)
    return merged


def _note_for(settings: Settings, entry: dict | None) -> str:
    if entry is None:
        return f"{settings.slug}: not printed on a page (document metadata, alt text or a label the layouts decorate)"
    places = entry.get("places") or [{"product": settings.slug, "pages": entry.get("pages", [entry["page"]]),
                                      "section": entry["section"],
                                      "kind": next((s.kind for s in settings.sections if s.id == entry["section"]), None)}]
    where = "; ".join(f"{place['product']}: page {', '.join(map(str, place['pages']))}, section {place['section']}"
                      + (f", kind {place['kind']}" if place["kind"] else "") for place in places)
    return f"{where}; {entry['chars']} characters now, at most {entry['budget']} before a section overflows"


def export(root: Path, languages: list[str] | None, budgets: dict[str, dict[str, dict] | None]) -> list[Path]:
    """Write build/xliff/<slug>-<lang>.xlf for every target language (all but the source, or `languages`).

    `budgets`: the measured block budgets per language (layout_blocks); None omits `maxwidth`.
    """
    problems: list[Problem] = []
    settings = load_settings(root, problems)
    if settings is None:
        raise ContentError(problems)
    problems += unknown_languages(settings, languages)
    source_doc = load_source(root, settings, problems)
    if problems or source_doc is None:
        raise ContentError(problems)
    written = []
    for code in target_languages(settings, languages):
        target_doc = load_yaml(root / text_file(code), text_file(code), [], root) if (root / text_file(code)).exists() else None
        status = language_status(root, settings, source_doc, code, []) if target_doc is not None else None
        stale = {problem.key for problem in status.stale} if status else set()
        translated = dict(leaves(target_doc.data)) if target_doc is not None else {}
        document = _document(settings, code, list(leaves(source_doc.data)), translated, stale, budgets.get(code))
        path = xliff_path(root, settings, code)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, serialise(document))
        written.append(path)
    return written


def target_languages(settings: Settings, languages: list[str] | None) -> list[str]:
    codes = languages or [lang.code for lang in settings.languages]
    return [code for code in codes if code != settings.source_language]


def _document(settings: Settings, code: str, source: list[tuple[str, object]], translated: dict[str, object],
              stale: set[str], budgets: dict[str, dict] | None) -> etree._Element:
    source_tag = settings.language(settings.source_language).tag
    target_tag = settings.language(code).tag
    xliff = etree.Element(_q("xliff"), nsmap={None: NS}, version="1.2")
    file = etree.SubElement(xliff, _q("file"), {"original": text_file(code), "source-language": source_tag,
                                               "target-language": target_tag, "datatype": "plaintext",
                                               "product-name": settings.slug, "tool-id": TOOL_ID})
    header = etree.SubElement(file, _q("header"))
    etree.SubElement(header, _q("tool"), {"tool-id": TOOL_ID, "tool-name": "brochure_build", "tool-version": __version__})
    note = etree.SubElement(header, _q("note"))
    note.text = (f"Translate every unit into {target_tag}. Keep each target within maxwidth characters: longer, its "
                 "section no longer fits its pages. Units in state needs-review-translation were translated from an "
                 "older source text: review them and set them to translated.")
    body = etree.SubElement(file, _q("body"))
    for key, text in source:
        attributes = {"id": key, "resname": key, "datatype": "plaintext"}
        entry = (budgets or {}).get(key) if budgets is not None else None
        if entry is not None:
            attributes |= {"maxwidth": str(entry["budget"]), "size-unit": "char"}
        unit = etree.SubElement(body, _q("trans-unit"), attributes)
        unit.set(f"{{{XML_NS}}}space", "preserve")
        etree.SubElement(unit, _q("source")).text = str(text)
        target = etree.SubElement(unit, _q("target"))
        if key not in translated:
            target.set("state", "new")
        else:
            target.text = str(translated[key])
            target.set("state", "needs-review-translation" if key in stale else "translated")
        where = etree.SubElement(unit, _q("note"), {"from": TOOL_ID})
        where.text = _note_for(settings, entry) if budgets is not None else (
            f"{settings.slug}: not measured (the edition did not build); {len(str(text))} characters in the source")
    return xliff


def serialise(document: etree._Element) -> str:
    """The file as lxml writes it, with the declaration in double quotes: byte for byte how
    translate-toolkit (and most CAT tools built on libxml2) write XLIFF back."""
    body = etree.tostring(document.getroottree(), pretty_print=True, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body


# --- import


@dataclass
class Unit:
    key: str
    line: int
    source: str
    target: str | None
    state: str | None
    maxwidth: int | None


@dataclass
class XliffFile:
    path: Path
    display: str
    code: str
    units: list[Unit] = field(default_factory=list)


@dataclass
class ImportSummary:
    code: str
    updated: list[str]
    confirmed: list[str]
    untranslated: int


def _parser() -> etree.XMLParser:
    # No DTD, no entities, no network: a translator's file is data, never instructions to fetch or expand.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True)


def read_xliff(path: Path, settings: Settings, problems: list[Problem]) -> XliffFile | None:
    """Parse and check one file's envelope: XLIFF 1.2, one <file> of this product and a target language."""
    display = shown_path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        problems.append(Problem(display, 0, "", f"cannot be read: {error.strerror}"))
        return None
    try:
        tree = etree.fromstring(raw, _parser())
    except etree.XMLSyntaxError as error:
        line, column = error.position
        problems.append(Problem(display, line, "", f"not well-formed XML (column {column}): {error.msg}: "
                                                   "is this the file the CAT tool exported?"))
        return None
    if tree.getroottree().docinfo.doctype:
        problems.append(Problem(display, 1, "", "a DOCTYPE is not allowed in an XLIFF file: remove it"))
        return None
    if tree.tag != _q("xliff") or tree.get("version") != "1.2":
        found = etree.QName(tree).localname + (f" version {tree.get('version')}" if tree.get("version") else "")
        problems.append(Problem(display, tree.sourceline or 1, "", f"not an XLIFF 1.2 file (the root is {found}): export "
                                                                   "XLIFF 1.2 from the CAT tool"))
        return None
    files = tree.findall(_q("file"))
    if len(files) != 1:
        problems.append(Problem(display, tree.sourceline or 1, "", f"has {len(files)} <file> elements, expected one: "
                                                                   "import the file `brochure xliff export` wrote"))
        return None
    file = files[0]
    if file.get("product-name") != settings.slug:
        problems.append(Problem(display, file.sourceline, "product-name",
                                f"{file.get('product-name')!r} is not this product ({settings.slug}): a file of another brochure?"))
        return None
    code = next((lang.code for lang in settings.languages if lang.tag == file.get("target-language")), None)
    if code is None or code == settings.source_language:
        targets = ", ".join(lang.tag for lang in settings.languages if lang.code != settings.source_language)
        problems.append(Problem(display, file.sourceline, "target-language",
                                f"{file.get('target-language')!r} is not a target language of this brochure ({targets})"))
        return None
    result = XliffFile(path, display, code)
    for element in file.iter(_q("trans-unit")):
        target = element.find(_q("target"))
        source = element.find(_q("source"))
        for part in (source, target):
            if part is not None and len(part):
                problems.append(Problem(display, part.sourceline, element.get("id", ""),
                                        f"<{etree.QName(part[0]).localname}> inside <{etree.QName(part).localname}>: "
                                        "markup is not allowed, the text blocks are plain text"))
        maxwidth = element.get("maxwidth")
        result.units.append(Unit(element.get("id", ""), element.sourceline, _text(source), _text(target) if target is not None else None,
                                 target.get("state") if target is not None else None,
                                 int(maxwidth) if maxwidth and maxwidth.isdigit() else None))
    return result


def _text(element: etree._Element | None) -> str:
    return "".join(element.itertext()) if element is not None else ""


def check_units(xliff: XliffFile, source: dict[str, object], problems: list[Problem], warnings: list[Problem]) -> None:
    """Every unit names a source block once, with the current source text and a usable target."""
    seen: dict[str, int] = {}
    outdated = []
    for unit in xliff.units:
        where = (xliff.display, unit.line, unit.key)
        if unit.key in seen:
            problems.append(Problem(*where, f"duplicate unit (first on line {seen[unit.key]}): remove one"))
            continue
        seen[unit.key] = unit.line
        if unit.key not in source:
            problems.append(Problem(*where, "unknown unit: no such block in the source text; was it exported from this project?"))
            continue
        if unicodedata.normalize("NFC", unit.source) != unicodedata.normalize("NFC", str(source[unit.key])):
            outdated.append(unit)
            continue
        if unit.target is None or unit.state == "new" and not unit.target.strip():
            continue  # still untranslated: nothing to import
        if not unit.target.strip():
            problems.append(Problem(*where, "empty target: translate it, or set its state to new to leave it untranslated"))
            continue
        control = _CONTROL.search(unit.target)
        if control:
            problems.append(Problem(*where, f"character U+{ord(control[0]):04X} at column {control.start() + 1} of the target "
                                            "is a control character: remove it"))
            continue
        if unit.maxwidth is not None and len(unit.target) > unit.maxwidth:
            excess = len(unit.target) - unit.maxwidth
            warnings.append(Problem(*where, f"target has {len(unit.target)} characters, {excess} over its maxwidth of "
                                            f"{unit.maxwidth}: its section will not fit its pages; shorten it"))
    for unit in outdated:
        problems.append(Problem(xliff.display, unit.line, unit.key,
                                "the source text has changed since this file was exported: export again with "
                                "`brochure xliff export` and carry the translation over"))


def import_files(root: Path, paths: Iterable[Path], out=None) -> list[ImportSummary]:
    """`brochure xliff import`: check every file, then write the targets into the text files."""
    problems: list[Problem] = []
    settings = load_settings(root, problems)
    if settings is None:
        raise ContentError(problems)
    source_doc = load_source(root, settings, problems)
    if source_doc is None:
        raise ContentError(problems)
    source = dict(leaves(source_doc.data))
    warnings: list[Problem] = []
    files: dict[str, XliffFile] = {}
    for path in paths:
        xliff = read_xliff(path, settings, problems)
        if xliff is None:
            continue
        if xliff.code in files:
            problems.append(Problem(xliff.display, 0, "", f"a second file for {xliff.code} "
                                                           f"(the first is {files[xliff.code].display}): import one per language"))
            continue
        files[xliff.code] = xliff
        check_units(xliff, source, problems, warnings)
    planned = {code: _planned_text(root, settings, xliff, source, problems) for code, xliff in files.items()}
    for warning in warnings:
        print(f"warning: {warning}", file=out)
    if problems:
        raise ContentError(problems)
    summaries = []
    for code, (text, summary) in planned.items():
        if text is not None:
            write_text_atomic(root / text_file(code), text)  # never a half-written text file
        summaries.append(summary)
    return summaries


def _planned_text(root: Path, settings: Settings, xliff: XliffFile, source: dict[str, object],
                  problems: list[Problem]) -> tuple[str | None, ImportSummary]:
    """The text file as the import would leave it (None: unchanged), and what changed."""
    path = root / text_file(xliff.code)
    summary = ImportSummary(xliff.code, [], [], 0)
    before = len(problems)
    doc = load_yaml(path, text_file(xliff.code), problems, root)
    if doc is None:
        return None, summary
    recorded = recorded_fingerprints(doc)
    changes: dict[str, str] = {}
    for unit in xliff.units:
        if unit.key not in source or unit.target is None or not unit.target.strip():
            summary.untranslated += unit.key in source
            continue
        current = value_at(doc.data, unit.key)
        if current is None or str(current) != unit.target:
            changes[unit.key] = unit.target
            summary.updated.append(unit.key)
        if unit.state in CONFIRMED and recorded.get(unit.key) != fingerprint(str(source[unit.key])):
            recorded[unit.key] = fingerprint(str(source[unit.key]))
            if unit.key not in changes:
                summary.confirmed.append(unit.key)
    if not changes and not summary.confirmed or len(problems) > before:
        return None, summary
    original = path.read_text(encoding="utf-8")
    try:
        text = apply_changes(original, changes)
    except EditError as error:
        problems.append(Problem(text_file(xliff.code), 0, "", f"{error}"))
        return None, summary
    text = render_fingerprints(text, recorded)
    reloaded = yaml.safe_load(text)
    wrong = [key for key, value in changes.items() if value_at(reloaded, key) != value]
    if wrong:  # a guard: yamledit writes every value so that it reads back as written
        problems.append(Problem(text_file(xliff.code), 0, wrong[0], "could not be written so that it reads back unchanged: "
                                                                    "edit it by hand"))
        return None, summary
    return text, summary
