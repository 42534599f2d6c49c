"""`brochure xliff export` and `import`: the translators' round trip through XLIFF 1.2."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from lxml import etree

from brochure_build.errors import ContentError
from brochure_build.source.content import load_settings
from brochure_build.source.translations import check_content, leaves
from brochure_build.source.xliff import NS, export, import_files, layout_blocks, xliff_path
from conftest import REPO
from test_content_errors import run_cli

SCHEMA_DIR = REPO / "tests" / "data" / "xliff"
TEXT_FILES = ("zh", "en", "fr", "es", "ru", "ar")


def xliff_schema() -> etree.XMLSchema:
    """The OASIS XLIFF 1.2 strict schema, its xml namespace import pointed at the local copy."""
    text = (SCHEMA_DIR / "xliff-core-1.2-strict.xsd").read_bytes()
    text = text.replace(b'schemaLocation="http://www.w3.org/2001/xml.xsd"',
                        f'schemaLocation="{(SCHEMA_DIR / "xml.xsd").as_uri()}"'.encode())
    return etree.XMLSchema(etree.fromstring(text, base_url=str(SCHEMA_DIR) + "/"))


def units(path: Path) -> dict[str, etree._Element]:
    return {unit.get("id"): unit for unit in etree.parse(str(path)).iter(f"{{{NS}}}trans-unit")}


def target_of(unit: etree._Element) -> etree._Element:
    return unit.find(f"{{{NS}}}target")


def text_files(root: Path) -> dict[str, bytes]:
    return {code: (root / f"brochure/text/{code}.yaml").read_bytes() for code in TEXT_FILES}


def exported(root: Path, code: str = "en") -> Path:
    """Export without measuring (no build): maxwidth is left out."""
    settings = load_settings(root, [])
    export(root, [code], {code: None})
    return xliff_path(root, settings, code)


def set_target(path: Path, key: str, text: str, state: str = "translated") -> None:
    tree = etree.parse(str(path))
    unit = next(unit for unit in tree.iter(f"{{{NS}}}trans-unit") if unit.get("id") == key)
    target = target_of(unit)
    target.text = text
    target.set("state", state)
    tree.write(str(path), xml_declaration=True, encoding="UTF-8")


@pytest.fixture(scope="module")
def measured_exports(built_project, tmp_path_factory) -> Path:
    """The built project's XLIFF files with maxwidth (the build is current, so nothing re-renders)."""
    from brochure_build.source.xliff import measure_and_export

    measure_and_export(built_project, None, out=io.StringIO())
    return built_project / "build" / "xliff"


def test_export_writes_one_valid_xliff_12_file_per_target_language(measured_exports, built_project):
    schema = xliff_schema()
    files = sorted(path.name for path in measured_exports.glob("*.xlf"))
    assert files == [f"luxembourg-hrc-2022-2024-{code}.xlf" for code in sorted(TEXT_FILES[1:])]
    source = dict(leaves(__import__("yaml").safe_load((built_project / "brochure/text/zh.yaml").read_text())))
    for path in measured_exports.glob("*.xlf"):
        document = etree.parse(str(path))
        schema.assertValid(document)
        found = units(path)
        assert list(found) == list(source)  # one unit per block, in the source's order, keyed by the block's key
        assert {target_of(unit).get("state") for unit in found.values()} == {"translated"}
        assert all(unit.find(f"{{{NS}}}source").text == str(source[key]) for key, unit in found.items())
    file = etree.parse(str(measured_exports / "luxembourg-hrc-2022-2024-ar.xlf")).find(f"{{{NS}}}file")
    assert (file.get("source-language"), file.get("target-language"), file.get("product-name")) == (
        "zh-Hans", "ar", "luxembourg-hrc-2022-2024")


def test_a_schema_violation_is_found(measured_exports):
    """The schema check can fail: a unit without its required source is invalid."""
    document = etree.parse(str(measured_exports / "luxembourg-hrc-2022-2024-en.xlf"))
    unit = next(document.iter(f"{{{NS}}}trans-unit"))
    unit.remove(unit.find(f"{{{NS}}}source"))
    assert not xliff_schema().validate(document)


def test_notes_say_where_a_block_is_printed_and_maxwidth_its_budget(measured_exports, built_project):
    en = units(measured_exports / "luxembourg-hrc-2022-2024-en.xlf")
    body = en["sections.priority-2.body[1]"]
    assert body.get("size-unit") == "char" and int(body.get("maxwidth")) > len(target_of(body).text)
    note = body.find(f"{{{NS}}}note").text
    assert note.startswith("luxembourg-hrc-2022-2024: page 7, section priority-2, kind priority; ")
    assert "before a section overflows" in note
    # Alt text and document metadata are not on a page: no width limit, and the note says so.
    alt = en["figures.unicef-turkey.alt"]
    assert alt.get("maxwidth") is None and "not printed on a page" in alt.find(f"{{{NS}}}note").text
    # A pledge is printed by the brochure and by the leaflet: its budget is the tighter of the two.
    pledge = en["sections.priority-2.pledges[0]"]
    note = pledge.find(f"{{{NS}}}note").text
    assert "luxembourg-hrc-2022-2024: page 7, section priority-2" in note and "luxembourg-hrc-2022-2024-leaflet: page " in note
    from brochure_build.source.content import load_products

    budgets = [layout_blocks(built_project, product, "en")["sections.priority-2.pledges[0]"]["budget"]
               for product in load_products(built_project, [])]
    assert len(budgets) == 2 and int(pledge.get("maxwidth")) == min(budgets)
    # Chinese has other budgets than English: measured per language.
    fr = units(measured_exports / "luxembourg-hrc-2022-2024-fr.xlf")
    assert fr["sections.priority-2.body[1]"].get("maxwidth") != body.get("maxwidth")


def test_a_block_near_its_limit_gets_a_smaller_budget_than_one_with_room(built_project):
    settings = load_settings(built_project, [])
    blocks = layout_blocks(built_project, settings, "en")
    room = {key: entry["budget"] - entry["chars"] for key, entry in blocks.items()}
    # Page 9 (priority-4) is nearly full; page 10 (closing) has more room left.
    assert blocks["sections.priority-4.body[0]"]["free_mm"] < blocks["sections.closing.body[0]"]["free_mm"]
    assert room["sections.priority-4.body[0]"] < room["sections.closing.body[0]"] / 2


def test_maxwidth_is_what_the_layout_holds(built_project, tmp_path):
    """maxwidth is what the block's section holds at the setting the build chose: a block grown to
    90 % of it still builds; grown to 130 % it no longer fits that setting, and the build sets the
    section smaller (type or photo frames) to hold it; grown far beyond what the smallest setting
    holds, the section fails with the copy-fit message."""
    import re

    import yaml

    from brochure_build.build import build
    from brochure_build.errors import BuildError
    from conftest import copy_project

    settings = load_settings(built_project, [])
    key = "sections.priority-2.body[1]"
    entry = layout_blocks(built_project, settings, "en")[key]
    root = copy_project(tmp_path / "grown")
    en = root / "brochure/text/en.yaml"
    written = en.read_text()
    original = dict(leaves(yaml.safe_load(written)))[key]
    filler = " Luxembourg supports these efforts in every forum and at every level of its action."

    def grow_to(chars: int) -> None:
        text = original
        while len(text) < chars:
            text += filler
        en.write_text(written.replace(original, text[:chars].rstrip() + "."), encoding="utf-8")

    def setting(project: Path) -> tuple[int, float]:
        """priority-2's chosen step and photo frame height (mm), from the layout report."""
        report = json.loads((project / "build/en/luxembourg-hrc-2022-2024-en-print.layout.json").read_text())
        fit = report["fit"]["priority-2"]
        return fit["step"], float(fit["frames"]["mali-agriculture"].removesuffix("mm"))

    measured_at = setting(built_project)
    grow_to(int(entry["budget"] * 0.9))
    build(root, ["en"])
    grow_to(int(entry["budget"] * 1.3))
    build(root, ["en"])
    assert setting(root) < measured_at  # a smaller step, or the same step with a smaller photo frame
    # Eight times its budget: more than the whole section's words again, past the smallest setting.
    grow_to(int(entry["budget"] * 8))
    with pytest.raises(BuildError) as failed:
        build(root, ["en"])
    assert re.fullmatch(
        r"en screen: section 'priority-2' does not fit page 7 in any setting of layouts/pages/priority\.kind\.yaml: "
        r"at the smallest \(--body-size 8\.8pt, --body-leading 1\.38, --box-size 8\.4pt; photo frames 60 mm\) "
        r"\d+ lines \([\d.]+ mm\) are left over; shorten the text, or widen the ranges in the declaration",
        str(failed.value)), str(failed.value)


def test_export_states_for_stale_and_missing_blocks(project):
    zh = project / "brochure/text/zh.yaml"
    zh.write_text(zh.read_text().replace("卢森堡承诺在所有国际论坛中促进人权。", "卢森堡承诺在所有国际论坛中积极促进人权。"))
    en = project / "brochure/text/en.yaml"
    contribution = next(line for line in en.read_text().splitlines() if line.startswith("    contribution: Luxembourg is a regular"))
    en.write_text(en.read_text().replace(contribution + "\n", ""))
    found = units(exported(project))
    assert target_of(found["sections.commitment.pledges[0]"]).get("state") == "needs-review-translation"
    missing = target_of(found["sections.priority-1.contribution"])
    assert (missing.get("state"), missing.text) == ("new", None)
    assert target_of(found["sections.commitment.pledges[1]"]).get("state") == "translated"


def test_untouched_round_trip_changes_no_byte(project):
    before = text_files(project)
    paths = [exported(project, code) for code in TEXT_FILES[1:]]
    summaries = import_files(project, paths, out=io.StringIO())
    assert text_files(project) == before
    assert all(not summary.updated and not summary.confirmed for summary in summaries)


def test_translate_toolkit_reads_and_writes_the_files_back_unchanged(project):
    from translate.storage import xliff as toolkit

    for code in TEXT_FILES[1:]:
        path = exported(project, code)
        store = toolkit.xlifffile.parsefile(str(path))
        assert len(store.units) == 83
        unit = next(unit for unit in store.units if unit.getid().endswith("\x04sections.priority-2.body[1]"))
        assert unit.source and unit.target and unit.target != unit.source
        assert bytes(store) == path.read_bytes()


def test_import_writes_only_the_changed_line(project):
    path = exported(project)
    en = project / "brochure/text/en.yaml"
    before = en.read_text().splitlines()
    key = "sections.priority-4.body[0]"
    old = dict(leaves(__import__("yaml").safe_load(en.read_text())))[key]
    new = old.replace("Luxembourg", "The Grand Duchy of Luxembourg", 1) + " It says: “yes: no”, [a] {b} #c"
    set_target(path, key, new)
    [summary] = import_files(project, [path], out=io.StringIO())
    assert summary.updated == [key]
    after = en.read_text().splitlines()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert len(changed) == 1 and changed[0][1].startswith("      - ")
    assert dict(leaves(__import__("yaml").safe_load(en.read_text())))[key] == new
    assert check_content(project, ["en"], out=io.StringIO()) == 0


def test_import_of_a_stale_block_records_its_fingerprint(project):
    zh = project / "brochure/text/zh.yaml"
    zh.write_text(zh.read_text().replace("卢森堡承诺在所有国际论坛中促进人权。", "卢森堡承诺在所有国际论坛中积极促进人权。"))
    path = exported(project)
    key = "sections.commitment.pledges[0]"
    assert target_of(units(path)[key]).get("state") == "needs-review-translation"
    out = io.StringIO()
    check_content(project, ["en"], out=out)
    assert "1 stale" in out.getvalue()
    set_target(path, key, "Luxembourg pledges to actively promote human rights in all international forums.")
    import_files(project, [path], out=io.StringIO())
    out = io.StringIO()
    check_content(project, ["en"], out=out)
    assert "  en  complete" in out.getvalue()


def test_import_adds_a_missing_block_where_it_belongs(project):
    en = project / "brochure/text/en.yaml"
    text = en.read_text()
    line = next(line for line in text.splitlines() if line.startswith("    contribution: Luxembourg is a regular"))
    en.write_text(text.replace(line + "\n", ""))
    path = exported(project)
    key = "sections.priority-1.contribution"
    set_target(path, key, "Luxembourg contributes regularly: to the Trust Fund for Victims.")
    import_files(project, [path], out=io.StringIO())
    data = __import__("yaml").safe_load(en.read_text())
    assert data["sections"]["priority-1"]["contribution"] == "Luxembourg contributes regularly: to the Trust Fund for Victims."
    assert check_content(project, ["en"], out=io.StringIO()) == 0


def bad_file(project: Path, tmp_path: Path, edit) -> tuple[list[str], dict[str, bytes]]:
    path = exported(project)
    broken = tmp_path / "en.xlf"
    shutil.copy(path, broken)
    edit(broken)
    before = text_files(project)
    with pytest.raises(ContentError) as caught:
        import_files(project, [broken], out=io.StringIO())
    assert text_files(project) == before  # nothing is written when anything is wrong
    return [str(problem) for problem in caught.value.problems]


def replace(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def test_malformed_xml_names_line_and_column(project, tmp_path):
    problems = bad_file(project, tmp_path, lambda p: replace(p, "</source>", "</sauce>"))
    assert len(problems) == 1
    assert problems[0].startswith(f"{tmp_path / 'en.xlf'}:10: not well-formed XML (column ")


def test_a_file_that_is_not_xliff(project, tmp_path):
    problems = bad_file(project, tmp_path, lambda p: p.write_text("<html><body>hello</body></html>"))
    assert problems[0].endswith(":1: not an XLIFF 1.2 file (the root is html): export XLIFF 1.2 from the CAT tool")


def test_wrong_target_language_and_wrong_product(project, tmp_path):
    problems = bad_file(project, tmp_path, lambda p: replace(p, 'target-language="en"', 'target-language="de"'))
    assert problems[0].endswith(":3: target-language: 'de' is not a target language of this brochure (en, fr, es, ru, ar)")
    problems = bad_file(project, tmp_path, lambda p: replace(p, 'product-name="luxembourg-hrc-2022-2024"', 'product-name="leaflet"'))
    assert problems[0].endswith(
        ":3: product-name: 'leaflet' is not this product (luxembourg-hrc-2022-2024): a file of another brochure?")


def test_unit_problems_are_all_reported_at_once(project, tmp_path):
    def edit(path: Path) -> None:
        tree = etree.parse(str(path))
        found = {unit.get("id"): unit for unit in tree.iter(f"{{{NS}}}trans-unit")}
        found["labels.pledges"].set("id", "labels.promises")  # unknown
        found["labels.contribution"].set("id", "meta.title")  # duplicate
        found["sections.commitment.heading"].find(f"{{{NS}}}source").text = "对多边主义的承诺"  # an old export
        target_of(found["sections.commitment.body[0]"]).append(etree.Element(f"{{{NS}}}g", id="1"))  # markup
        target_of(found["sections.commitment.body[1]"]).text = "Luxembourg\u202e gnitov"  # a bidi control
        target_of(found["sections.commitment.body[2]"]).text = "  "  # empty
        tree.write(str(path), xml_declaration=True, encoding="UTF-8")

    problems = bad_file(project, tmp_path, edit)
    messages = [problem.split(": ", 1)[1] for problem in problems]
    assert len(problems) == 7  # the unit renamed to meta.title is also a duplicate with another source
    assert "labels.promises: unknown unit: no such block in the source text; was it exported from this project?" in messages
    assert any(m.startswith("meta.title: duplicate unit (first on line ") for m in messages)
    assert ("meta.title: the source text has changed since this file was exported: export again with "
            "`brochure xliff export` and carry the translation over") in messages
    assert ("sections.commitment.heading: the source text has changed since this file was exported: export again with "
            "`brochure xliff export` and carry the translation over") in messages
    assert ("sections.commitment.body[0]: <g> inside <target>: markup is not allowed, the text blocks are plain text"
            in messages)
    assert ("sections.commitment.body[1]: character U+202E at column 11 of the target is a control character: remove it"
            in messages)
    assert ("sections.commitment.body[2]: empty target: translate it, or set its state to new to leave it untranslated"
            in messages)


def test_a_target_over_its_maxwidth_is_a_warning(project, tmp_path):
    path = exported(project)
    replace(path, '<trans-unit id="sections.closing.heading" resname="sections.closing.heading" datatype="plaintext"',
            '<trans-unit id="sections.closing.heading" resname="sections.closing.heading" datatype="plaintext" '
            'maxwidth="20" size-unit="char"')
    out = io.StringIO()
    import_files(project, [path], out=out)
    line = next(line for line in path.read_text().splitlines() if 'id="sections.closing.heading"' in line)
    number = path.read_text().splitlines().index(line) + 1
    assert out.getvalue() == (f"warning: {path}:{number}: sections.closing.heading: target has 55 characters, 35 over its "
                              "maxwidth of 20: its section will not fit its pages; shorten it\n")


def test_cli_import_exit_status_and_messages(project, tmp_path):
    path = exported(project)
    result = run_cli("xliff", "import", str(path), cwd=project)
    assert result.returncode == 0 and result.stdout == "en: 0 blocks updated, 0 confirmed as current, 0 untranslated\n"
    broken = tmp_path / "broken.xlf"
    broken.write_text("<xliff")
    result = run_cli("xliff", "import", str(broken), cwd=project)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "not well-formed XML" in result.stderr and result.stderr.rstrip().endswith("Aborted with 1 error.")


def test_layout_report_keeps_the_budgets(built_project):
    report = json.loads((built_project / "build/zh/luxembourg-hrc-2022-2024-zh-print.layout.json").read_text())
    entry = report["blocks"]["sections.closing.body[0]"]
    assert entry["page"] == 10 and entry["section"] == "closing" and entry["budget"] > entry["chars"] > 100
    # Found although the layouts hold their range of years with a word joiner (hold_ranges, no_runt).
    english = json.loads((built_project / "build/en/luxembourg-hrc-2022-2024-en-print.layout.json").read_text())
    assert {english["blocks"][key]["page"] for key in ("sections.closing.heading", "sections.closing.body[0]")} == {10}
