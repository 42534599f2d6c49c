"""Build behaviour: outputs, strictness, atomic writes, incremental skips."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pypdf import PdfReader

from brochure_build.build import build
from brochure_build.errors import BuildError
from brochure_build.review.preflight import CHECKS
from conftest import pdf_path


def test_outputs_and_their_sizes(built_project):
    for variant, (width, height) in {"print": (216, 303), "screen": (210, 297)}.items():
        pdf = pdf_path(built_project, "zh", variant)
        assert pdf.with_suffix(".html").is_file()
        box = PdfReader(pdf).pages[0].mediabox
        assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (width, height)


def test_kept_html_renders_with_plain_weasyprint_to_the_same_pages(built_project, tmp_path):
    html = pdf_path(built_project, "zh", "screen").with_suffix(".html")
    out = tmp_path / "plain.pdf"
    subprocess.run([sys.executable, "-m", "weasyprint", str(html), str(out)], check=True, capture_output=True)
    ours = PdfReader(pdf_path(built_project, "zh", "screen"))
    plain = PdfReader(out)
    assert len(plain.pages) == len(ours.pages)
    assert [p.extract_text() for p in plain.pages] == [p.extract_text() for p in ours.pages]


def test_missing_glyph_fails_naming_the_character_and_line(project):
    zh = project / "brochure/text/zh.yaml"
    text = zh.read_text(encoding="utf-8").replace("卢森堡在人权理事会\n", "卢森堡在人权理事会🜁\n", 1)
    zh.write_text(text, encoding="utf-8")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "🜁" in row)
    with pytest.raises(BuildError) as caught:
        build(project, ["zh"])
    assert (f"zh screen: no font of this language has the character '🜁' (U+1F701), used in brochure/text/zh.yaml:{line}"
            in str(caught.value))


def test_a_character_drawn_with_another_languages_font_fails_naming_the_font(project):
    """A character the language's fonts lack but another project font has. Laid out alone, the
    English edition has only its own fonts (pdf.declared_families): the build names the
    character. After the Chinese edition in the same process, the CJK faces are registered, Pango
    falls back to one, no .notdef is drawn, and the build names the font (review/pdfcheck.py)."""
    en = project / "brochure/text/en.yaml"
    text = en.read_text(encoding="utf-8")
    heading = "heading: A long-standing commitment to multilateralism and human rights"
    assert heading in text
    en.write_text(text.replace(heading, f"{heading} 人权", 1), encoding="utf-8")
    with pytest.raises(BuildError, match=r"en screen: no font of this language has the character '人' \(U\+4EBA\), "
                                         r"used in brochure/text/en.yaml:\d+"):
        build(project, ["en"])
    with pytest.raises(BuildError, match=r"en screen: font 'Brochure (Sans|Serif) CJK' is used but is not one of this "
                                         r"language's fonts \(Brochure Serif, Brochure Sans\): a fallback for some character"):
        build(project, ["zh", "en"], jobs=1)
    assert not pdf_path(project, "en", "screen").exists()


def test_css_warning_fails_the_build(project):
    with (project / "layouts/css/base.css").open("a") as css:
        css.write("\n.figure { colour: red; }\n")
    with pytest.raises(BuildError, match=r"zh screen: WeasyPrint: Ignored `colour: red` .* unknown property"):
        build(project, ["zh"])


def test_failed_build_keeps_the_last_good_pdf_and_leaves_no_temporary_file(project):
    build(project, ["zh"])
    pdfs = [pdf_path(project, "zh", variant) for variant in ("print", "screen", "imposed")]
    good = [pdf.read_bytes() for pdf in pdfs]
    # Priority 1's photo frame fixed at 220 mm: no setting of the kind leaves its text room on page 6.
    settings = project / "brochure/brochure.yaml"
    text = settings.read_text()
    frame = "asselborn-murad.jpg,  width: 174mm, height: [60mm, 110mm]"
    assert frame in text
    settings.write_text(text.replace(frame, "asselborn-murad.jpg,  width: 174mm, height: 220mm"))
    with pytest.raises(BuildError, match="section 'priority-1' does not fit page 6 in any setting"):
        build(project, ["zh"])
    assert [pdf.read_bytes() for pdf in pdfs] == good
    assert [p.name for p in pdfs[0].parent.iterdir() if p.name.endswith(".tmp")] == []


def test_unchanged_editions_are_skipped_and_changes_rebuild(project):
    first = build(project, ["zh"])
    assert not any(item.skipped for item in first)
    again = build(project, ["zh"])
    assert all(item.skipped for item in again)
    with (project / "layouts/css/tokens.css").open("a") as css:
        css.write("\n:root { --color-accent: #0099dd; }\n")
    assert not any(item.skipped for item in build(project, ["zh"]))


def test_resource_outside_the_project_is_refused(project):
    with (project / "layouts/css/base.css").open("a") as css:
        css.write('\n.page-cover { background: url("/etc/hostname"); }\n')
    with pytest.raises(BuildError, match=r"layouts/css/base.css:\d+: url\(/etc/hostname\): an absolute path is not allowed"):
        build(project, ["zh"])


def test_font_changed_against_its_manifest_fails(project):
    font = project / "fonts/NotoSans-Regular.ttf"
    data = font.read_bytes()
    font.unlink()  # a hard link to the repository's file: replace, never write through it
    font.write_bytes(data + b"\0")
    with pytest.raises(BuildError, match=r"fonts/NotoSans-Regular.ttf: sha256 is .* the manifest pins"):
        build(project, ["zh"])


def test_two_builds_give_identical_bytes_dated_by_the_edition(project):
    build(project, ["zh"])
    pdf = pdf_path(project, "zh", "print")
    first = pdf.read_bytes()
    build(project, ["zh"], force=True)
    assert pdf.read_bytes() == first
    metadata = PdfReader(pdf).metadata
    assert metadata["/CreationDate"] == metadata["/ModDate"] == "D:20201102"
    assert metadata["/Title"] == "卢森堡，人权理事会2022年-2024年候选国"


def font_programs(pdf) -> dict[str, str]:
    """BaseFont → sha256 of the embedded font program, for every font of the PDF."""
    import hashlib

    import pikepdf

    programs = {}
    with pikepdf.open(pdf) as document:
        for page in document.pages:
            for font in (page.Resources.get("/Font") or {}).values():
                descendant = font.DescendantFonts[0] if "/DescendantFonts" in font else font
                descriptor = descendant.FontDescriptor
                program = next(descriptor[key] for key in ("/FontFile", "/FontFile2", "/FontFile3") if key in descriptor)
                programs[str(font.BaseFont)] = hashlib.sha256(program.read_bytes()).hexdigest()
    return programs


def test_subset_fonts_are_cached_and_embed_the_same_bytes(project):
    """A font is subset once per set of glyphs (build/.cache/fonts/): each part of an edition's
    pages (render/units.py) and the union the joined file embeds, one per face (press/join.py);
    print and screen share the subsets, and a change that keeps the glyphs (a colour) reuses them,
    byte for byte; a new character makes new subsets of its font only."""
    import hashlib

    from brochure_build.preview.serve import set_css_token

    cache = project / "build" / ".cache" / "fonts"
    build(project, ["en"])
    subsets = sorted(cache.iterdir())
    kept = {hashlib.sha256(path.read_bytes()).hexdigest() for path in subsets}
    made = {variant: font_programs(pdf_path(project, "en", variant)) for variant in ("print", "screen")}
    leaflet = font_programs(next((project / "build" / "en").glob("*-leaflet-en-print.pdf")))
    # one program per face in each file, from the cache; shared by both files; the leaflet's text has its own sets
    assert len(set(made["print"].values())) == len({name.split("+")[1] for name in made["print"]}) >= 3
    assert set(made["print"].values()) | set(leaflet.values()) <= kept
    assert set(made["screen"].values()) == set(made["print"].values())

    set_css_token(project / "layouts/css/tokens.css", "color-tint", "#e5f4fa")
    build(project, ["en"])  # rebuilt (the layout changed), every font from the cache
    assert sorted(cache.iterdir()) == subsets
    assert {variant: font_programs(pdf_path(project, "en", variant)) for variant in made} == made

    text = project / "brochure/text/en.yaml"
    text.write_text(text.read_text(encoding="utf-8").replace("Luxembourg’s action aims", "Luxembourg’s action (Ω) aims", 1),
                    encoding="utf-8")
    build(project, ["en"])
    # the body font with Ω: the part's subset and the edition's; the other fonts as before
    assert len(sorted(cache.iterdir())) == len(subsets) + 2


def test_an_edit_to_one_edition_builds_its_press_files_beside_its_screen_file(project):
    """One edition to build and two cores: its screen file and its press files (print, imposed)
    are two jobs, each choosing the copy-fit settings; the files are those of one process,
    byte for byte."""
    from brochure_build.build import OUTPUT_VARIANTS, build_jobs

    assert [job[3] for job in build_jobs([("en", "inputs", ())], 2)] == [("screen",), ("print", "imposed")]
    assert [job[3] for job in build_jobs([("en", "a", ()), ("fr", "b", ())], 2)] == [OUTPUT_VARIANTS] * 2
    assert [job[3] for job in build_jobs([("en", "inputs", ())], 1)] == [OUTPUT_VARIANTS]

    build(project, ["en"])
    text = project / "brochure/text/en.yaml"
    lines = text.read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index("  priority-2:\n")
    first = next(n for n in range(start, len(lines)) if lines[n].startswith("      - "))
    lines[first] = lines[first].replace("      - ", "      - Indeed, ", 1)
    text.write_text("".join(lines), encoding="utf-8")
    rebuilt = build(project, ["en"], jobs=2)
    assert sorted((item.path.name, item.skipped) for item in rebuilt if not item.skipped) == [
        ("luxembourg-hrc-2022-2024-en-imposed.pdf", False), ("luxembourg-hrc-2022-2024-en-print.pdf", False),
        ("luxembourg-hrc-2022-2024-en-screen.pdf", False)]  # the leaflet does not show that paragraph
    files = [pdf_path(project, "en", variant) for variant in OUTPUT_VARIANTS]
    split = [path.read_bytes() for path in files]
    build(project, ["en"], force=True, jobs=1)
    assert [path.read_bytes() for path in files] == split


def test_brochure_make_checks_builds_and_preflights_in_one_process_until_one_fails(project, capsys):
    """`brochure make` (what `make` runs): check, build and preflight, each saying what it says
    as a command of its own; the first that fails stops it, with its exit status."""
    from brochure_build.cli import main

    assert main(["make", "--root", str(project), "--lang", "en"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["Translation status (source: zh)", "  en  complete"]
    assert [line.split()[:2] for line in lines[2:8]] == [["en", "screen"], ["en", "print"], ["en", "imposed"]] * 2
    assert lines[8].split() == ["lang", *CHECKS] and lines[9].startswith("en    pass")
    assert lines.count("Preflight passed: 1 language × 9 checks.") == 2  # the brochure and the leaflet

    built = {path: path.stat().st_mtime_ns for path in (project / "build/en").glob("*.pdf")}
    text = project / "brochure/text/en.yaml"
    text.write_text(text.read_text(encoding="utf-8").replace("  priority-4:\n", "  priority-4\n", 1), encoding="utf-8")
    assert main(["make", "--root", str(project), "--lang", "en"]) == 1
    captured = capsys.readouterr()
    assert "brochure/text/en.yaml" in captured.err and "Aborted" in captured.err
    assert " screen " not in captured.out and "Preflight" not in captured.out  # neither built nor preflighted
    assert {path: path.stat().st_mtime_ns for path in (project / "build/en").glob("*.pdf")} == built


def test_a_builds_processes_register_the_fonts_of_all_its_editions_from_the_start(project):
    """build.build_families: each process of a build registers the fonts of every edition it may
    lay out before its first layout (fonts registered after layouts cost 100 MB more at a
    worker's peak); an edition declaring no fonts means every font."""
    from dataclasses import replace

    from brochure_build.build import build_families
    from brochure_build.source.content import load_content

    _, editions = load_content(project, ["zh", "en", "ar"])
    assert build_families(editions) == ("Brochure Serif CJK", "Brochure Sans CJK", "Brochure Serif", "Brochure Sans",
                                        "Brochure Naskh", "Brochure Sans Arabic")
    assert build_families(editions[1:2]) == ("Brochure Serif", "Brochure Sans")
    undeclared = replace(editions[1], language=replace(editions[1].language, fonts=()))
    assert build_families([editions[0], undeclared]) == ()


def test_a_builds_workers_collect_garbage_as_set_and_skip_their_parents_objects(project, tmp_path, monkeypatch):
    """heap.py: `brochure` sets the collector's thresholds for the build, and the workers are
    forked with the parent's objects frozen (left out of their collections); the parent takes
    its objects back once they are forked."""
    import gc
    import json

    from brochure_build import cli, heap, workers

    seen = tmp_path / "seen"
    seen.mkdir()
    job = workers.job

    def noting():
        (seen / f"{os.getpid()}.json").write_text(json.dumps([gc.get_threshold(), gc.get_freeze_count()]))
        return job()

    monkeypatch.setattr(workers, "job", noting)  # the workers are forked: they see it
    threshold = gc.get_threshold()
    try:
        assert cli.main(["build", "--root", str(project), "--lang", "en", "--jobs", "2"]) == 0
    finally:
        gc.set_threshold(*threshold)
    workers = [json.loads(path.read_text()) for path in seen.iterdir()]
    assert len(workers) == 2
    for worker_threshold, frozen in workers:
        assert tuple(worker_threshold) == heap.THRESHOLD
        assert frozen > 10_000  # the parent's modules, content and caches
    assert gc.get_freeze_count() == 0
