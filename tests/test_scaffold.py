"""A new brochure from `brochure new`: it builds, and its kinds show what this brochure does not
use: blocks, a repeated group, paragraph counts that differ per language, a section sharing a
page, sections that flow, and the named cause of a section ending early."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from brochure_build.build import build
from brochure_build.errors import BuildError
from brochure_build.source.translations import check_content
from conftest import REPO
from helpers import normalize, page_texts


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "brochure_build", *args], cwd=cwd, capture_output=True, text=True)


def new_project(target: Path) -> Path:
    result = run_cli("new", str(target), "--root", str(REPO), cwd=REPO)
    assert result.returncode == 0, result.stderr
    return target


@pytest.fixture(scope="module")
def booklet(tmp_path_factory) -> Path:
    """The scaffold as `brochure new` writes it, built in both languages."""
    root = new_project(tmp_path_factory.mktemp("new") / "booklet")
    build(root)
    return root


def screen_pages(root: Path, code: str) -> list[str]:
    return [normalize(text) for text in page_texts(root / "build" / code / f"my-booklet-{code}-screen.pdf")]


def set_plan(root: Path, **pages: str) -> None:
    """Give sections of the scaffold's plan other `pages:` values (and keys)."""
    path = root / "brochure/brochure.yaml"
    text = path.read_text(encoding="utf-8")
    for section, value in pages.items():
        text, count = re.subn(rf"(\{{id: {section},\s+kind: \w+,\s+)pages: [^}}]*\}}", rf"\g<1>pages: {value}}}", text)
        assert count == 1, section
    path.write_text(text, encoding="utf-8")


def add_articles(root: Path, copies: int) -> None:
    """Repeat the three articles `copies` times more, in both languages."""
    for code in ("en", "fr"):
        path = root / f"brochure/text/{code}.yaml"
        text = path.read_text(encoding="utf-8")
        start = text.index("    articles:\n") + len("    articles:\n")
        end = text.index("\n  signatures:")
        articles = text[start:end].rstrip("\n") + "\n"
        more = "".join(re.sub(r'number: "(\d)"', lambda m, k=k: f'number: "{k}{m[1]}"', articles) for k in range(1, copies + 1))
        path.write_text(text[:start] + articles + more + text[end:], encoding="utf-8")


def test_new_project_builds_and_passes_preflight(booklet):
    for code in ("en", "fr"):
        for variant in ("print", "screen", "imposed"):
            assert (booklet / "build" / code / f"my-booklet-{code}-{variant}.pdf").is_file()
        assert len(PdfReader(booklet / "build" / code / f"my-booklet-{code}-print.pdf").pages) == 4
    result = run_cli("preflight", "--root", str(booklet), cwd=booklet)
    assert result.returncode == 0, result.stdout
    assert "Preflight passed: 2 languages × 9 checks." in result.stdout
    check = run_cli("check", cwd=booklet)
    assert check.returncode == 0 and check.stdout.splitlines()[1:] == ["  en  source, 30 blocks", "  fr  complete"]


def test_new_refuses_a_folder_in_use(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "notes.txt").write_text("mine")
    result = run_cli("new", str(tmp_path / "x"), "--root", str(REPO), cwd=REPO)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"{tmp_path / 'x'}: already exists and is not an empty folder: choose a new folder",
                                          "Aborted."]


def test_blocks_render_in_order(booklet):
    page = screen_pages(booklet, "en")[1]
    words = ["Preamble", "belongstoeveryone", "Whyacharter", "Inshort", "Read,borrow,return.", "hospitalforthemind",
             "inscriptionoverthedoor"]
    positions = [page.index(normalize(word)) for word in words]
    assert positions == sorted(positions)


def test_repeated_group_and_a_section_sharing_its_page(booklet):
    """Three articles of one section on page 3, and the signatures below them on the same page."""
    for code, words in (("en", ["1Freeaccess", "2Borrowing", "threeweeks", "Abookreserved", "3Quiet", "Signed"]),
                        ("fr", ["1Libreaccès", "2Prêt", "troissemaines", "3Silence", "Signé"])):
        page = screen_pages(booklet, code)[2]
        positions = [page.index(normalize(word)) for word in words]
        assert positions == sorted(positions), code


def test_paragraph_counts_may_differ_per_language(booklet, tmp_path):
    """Article 2 has two paragraphs in English and one in French: allowed by may_differ; check stays
    exact at the field: a changed source makes the field stale, a removed field is missing."""
    en = yaml_text(booklet, "en")
    fr = yaml_text(booklet, "fr")
    assert en.count("A book reserved") == 1 and "renouvelables deux fois ; un livre réservé" in fr
    project = new_project(tmp_path / "p")
    path = project / "brochure/text/en.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("may be renewed twice.", "may be renewed once."), encoding="utf-8")
    out = io.StringIO()
    assert check_content(project, ["fr"], out=out) == 0
    line = next(i for i, text in enumerate(yaml_text(project, "fr").splitlines(), 1) if "heading: Prêt" in text) + 1
    assert out.getvalue().splitlines()[1:] == [
        "  fr  0 missing, 0 extra, 1 stale",
        f"warning: brochure/text/fr.yaml:{line}: sections.articles.articles[1].paragraphs: stale: the en source changed "
        "after this was translated; update it, then run "
        "`brochure check --accept --lang fr --key sections.articles.articles[1].paragraphs`"]
    fr_path = project / "brochure/text/fr.yaml"
    fr_path.write_text(yaml_text(project, "fr").replace(
        "        paragraphs:\n          - Les livres sont prêtés", "        paragraphz:\n          - Les livres sont prêtés"),
        encoding="utf-8")
    with pytest.raises(Exception) as caught:
        check_content(project, ["fr"], out=io.StringIO())
    messages = [str(problem) for problem in caught.value.problems]
    source_line = next(i for i, t in enumerate(yaml_text(project, "en").splitlines(), 1) if "heading: Borrowing" in t) + 1
    assert (f"brochure/text/fr.yaml:{line - 2}: sections.articles.articles[1].paragraphs: missing: translate the en block "
            f"at brochure/text/en.yaml:{source_line}") in messages


def yaml_text(root: Path, code: str) -> str:
    return (root / f"brochure/text/{code}.yaml").read_text(encoding="utf-8")


def test_a_section_flows_over_as_many_pages_as_it_needs(tmp_path):
    project = new_project(tmp_path / "p")
    set_plan(project, articles="auto", signatures="auto, shares_page: true", back="auto")
    add_articles(project, 12)  # 39 articles: pages 3 to 6, the signatures on 7, the back cover on 8
    build(project, ["en"])
    pages = screen_pages(project, "en")
    assert len(pages) == 8
    assert "1Freeaccess" in pages[2] and "123Quiet" in pages[5] and "Signed" in pages[6]
    assert all("Quiet" in page for page in pages[2:6]) and "RiversideLibrary·open" in pages[7]


def test_flowing_sections_must_come_to_a_multiple_of_4(tmp_path):
    project = new_project(tmp_path / "p")
    set_plan(project, articles="auto", signatures="auto, shares_page: true", back="auto")
    add_articles(project, 5)
    with pytest.raises(BuildError) as caught:
        build(project, ["en"])
    assert str(caught.value) == (
        "en screen: the pages come to 6: saddle stitching needs a multiple of 4; the flowing sections 'articles' "
        "(pages 3-5), 'signatures' (page 5), 'back' (page 6) decide the count: add 2 pages of content or remove 2, "
        "or plan fixed pages")


def test_a_fixed_section_after_a_flowing_one_is_refused(tmp_path):
    project = new_project(tmp_path / "p")
    set_plan(project, articles="auto", signatures="auto, shares_page: true")
    result = run_cli("check", cwd=project)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0].endswith(
        "sections[4].pages: section 'back' follows 'signatures', which flows over as many pages as it needs: its pages "
        "are not known before layout; write pages: auto")


def test_a_section_ending_early_is_named_once(tmp_path):
    """The preamble is planned on pages 2-3 and ends on page 2: every later section starts a page
    early, but only the preamble is reported, with its plan, where it ended and what to do."""
    project = new_project(tmp_path / "p")
    plan = project / "brochure/brochure.yaml"
    text = plan.read_text(encoding="utf-8")
    text = text.replace("{id: preamble,   kind: text,     pages: 2}", "{id: preamble,   kind: text,     pages: 2-3}")
    text = text.replace("pages: 3, shares_page: true}", "pages: 4, shares_page: true}").replace(
        "{id: articles,   kind: articles, pages: 3}", "{id: articles,   kind: articles, pages: 4}")
    text = text.replace("  - {id: back,       kind: back,     pages: 4}",
                        "  - {id: again,      kind: text,     pages: 5, text: preamble}\n"
                        "  - {id: again-2,    kind: text,     pages: 6, text: signatures}\n"
                        "  - {id: again-3,    kind: text,     pages: 7, text: preamble}\n"
                        "  - {id: back,       kind: back,     pages: 8}")
    plan.write_text(text, encoding="utf-8")
    with pytest.raises(BuildError) as caught:
        build(project, ["en"])
    assert str(caught.value) == (
        "en screen: section 'preamble' is planned on pages 2-3 but ends on page 2, 1 page early, so every section after "
        "it starts early; give it page 2 in the plan, fill its pages, or let it flow (pages: auto)")
