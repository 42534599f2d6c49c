"""Page kinds declared by the layouts: declarations are checked, content is validated against
them, and the pipeline's code knows no kind, field or label of this brochure."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from brochure_build.errors import ContentError
from brochure_build.source.content import load_content

SRC = Path(__file__).resolve().parent.parent / "src"
# Words of this brochure's design: its kinds, fields, labels and country.
BROCHURE_WORDS = re.compile(r"pledge|contribution|priorit|opener|back-cover|Luxembourg", re.I)


def problems_of(project: Path, languages=("zh",)) -> list[str]:
    with pytest.raises(ContentError) as caught:
        load_content(project, list(languages))
    return [str(problem) for problem in caught.value.problems]


def test_no_python_file_knows_this_brochure():
    found = [f"{path.relative_to(SRC)}:{number}: {line.strip()}"
             for path in sorted(SRC.rglob("*.py"))
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if BROCHURE_WORDS.search(line)]
    assert found == []


def test_the_word_check_finds_a_brochure_word(tmp_path):
    """The test above can fail: the same pattern finds a field name in code."""
    sample = tmp_path / "sample.py"
    sample.write_text('SCHEMA = {"pledges": "list"}\n', encoding="utf-8")
    assert BROCHURE_WORDS.search(sample.read_text(encoding="utf-8"))


def test_template_without_declaration(project):
    (project / "layouts/pages/priority.kind.yaml").unlink()
    problems = problems_of(project)
    assert ("layouts/pages/priority.html.j2: template without a declaration: write layouts/pages/priority.kind.yaml "
            "listing the fields it takes (see README, Page kinds)") in problems


def test_declaration_without_template(project):
    (project / "layouts/pages/quote.kind.yaml").write_text("fields:\n  text: {type: text, becomes: p}\n", encoding="utf-8")
    assert problems_of(project) == ["layouts/pages/quote.kind.yaml: declaration without a template: write "
                                    "layouts/pages/quote.html.j2, or remove the declaration"]


def test_malformed_declaration(project):
    (project / "layouts/pages/closing.kind.yaml").write_text(
        "fields:\n"
        "  heading: {type: txt, becomes: h2}\n"
        "  body: {type: texts, becomes: paragraph, may_differ: maybe}\n"
        "  spec: {type: text, becomes: p}\n"
        "  notes: {type: text, becomes: p, may_differ: true}\n"
        "labels: credit\n"
        "colour: red\n", encoding="utf-8")
    f = "layouts/pages/closing.kind.yaml"
    assert sorted(problems_of(project)) == sorted([
        f"{f}:2: fields.heading.type: expected one of text, texts, blocks, group, found 'txt': see README, Page kinds",
        f"{f}:3: fields.body.becomes: expected what the field is in the tagged PDF, one of h1, h2, h3, h4, p, list, lbl, "
        "figure, caption, quote, box, none; found 'paragraph': see README, Page kinds",
        f"{f}:3: fields.body.may_differ: expected true or false, found 'maybe': see README, Page kinds",
        f"{f}:4: fields.spec: 'spec' is reserved (the templates' section.spec): choose another name: see README, Page kinds",
        f"{f}:5: fields.notes.may_differ: only a list (texts or blocks) may differ in length between languages: "
        "see README, Page kinds",
        f"{f}:6: labels: expected a list of label names, such as [credit]: see README, Page kinds",
        f"{f}:7: colour: unknown key in a kind declaration (expected fields, labels, fit): see README, Page kinds",
    ])


def test_labels_are_what_the_kinds_declare(project):
    """A label no kind declares is unknown; one a kind declares is required in every language."""
    zh = project / "brochure/text/zh.yaml"
    text = zh.read_text(encoding="utf-8")
    zh.write_text(text.replace("  contribution: 贡献\n", "  note: 注\n", 1), encoding="utf-8")
    lines = text.splitlines()
    labels_line = lines.index("labels:") + 1
    note_line = next(i for i, line in enumerate(zh.read_text(encoding="utf-8").splitlines(), 1) if line == "  note: 注")
    assert sorted(problems_of(project)) == sorted([
        f"brochure/text/zh.yaml:{labels_line}: labels.contribution: missing",
        f"brochure/text/zh.yaml:{note_line}: labels.note: unknown key (expected one of: credit, contribution, pledges, "
        "priority_number)",
    ])


def test_each_products_kinds_validate_the_shared_text(project):
    """The leaflet's kinds are its own (layouts/leaflet/pages/): a field they require must be in
    the text of the sections the leaflet places, in every language."""
    kind = project / "layouts/leaflet/pages/priority.kind.yaml"
    kind.write_text(kind.read_text(encoding="utf-8").replace(
        "fields:\n", "fields:\n  summary: {type: text, becomes: p}\n"), encoding="utf-8")
    zh = (project / "brochure/text/zh.yaml").read_text(encoding="utf-8").splitlines()
    assert sorted(problems_of(project)) == sorted(
        f"brochure/text/zh.yaml:{zh.index(f'  priority-{n}:') + 1}: sections.priority-{n}.summary: missing" for n in range(1, 5))


def test_a_product_names_its_own_layouts_and_slug(project):
    leaflet = project / "brochure/products/leaflet.yaml"
    text = leaflet.read_text(encoding="utf-8")
    leaflet.write_text(text.replace("slug: luxembourg-hrc-2022-2024-leaflet", "slug: luxembourg-hrc-2022-2024")
                       .replace("kind: back,", "kind: bak, "), encoding="utf-8")
    lines = leaflet.read_text(encoding="utf-8").splitlines()
    back = next(i for i, line in enumerate(lines, 1) if "kind: bak" in line)
    assert problems_of(project) == [
        f"brochure/products/leaflet.yaml:{back}: sections[5].kind: unknown page kind 'bak' (did you mean 'back'?): a kind is "
        "a template layouts/leaflet/pages/<kind>.html.j2 with its declaration <kind>.kind.yaml beside it"]
    leaflet.write_text(text.replace("slug: luxembourg-hrc-2022-2024-leaflet", "slug: luxembourg-hrc-2022-2024"),
                       encoding="utf-8")
    assert problems_of(project) == [
        "brochure/products/leaflet.yaml: slug: 'luxembourg-hrc-2022-2024' is already the slug of brochure/brochure.yaml: "
        "each product needs its own, it names its PDFs"]


def test_a_products_layouts_stay_under_layouts(project):
    leaflet = project / "brochure/products/leaflet.yaml"
    text = leaflet.read_text(encoding="utf-8")
    leaflet.write_text(text.replace("layouts: layouts/leaflet", "layouts: ../elsewhere"), encoding="utf-8")
    line = next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith("layouts:"))
    problems = problems_of(project)
    assert (f"brochure/products/leaflet.yaml:{line}: layouts: ../elsewhere: expected layouts or a folder under it, "
            "such as layouts/leaflet") in problems
