"""`brochure preflight`: the committed content passes; overflowing text, a low-resolution photo
and a font from outside fonts/ each fail their check, named."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from fontTools.ttLib import TTFont
from PIL import Image

from brochure_build.build import build
from brochure_build.cli import main
from brochure_build.errors import BuildError
from brochure_build.review.preflight import CHECKS


def run_preflight(root, capsys, *languages: str) -> tuple[int, str]:
    argv = ["preflight", "--root", str(root)]
    for code in languages:
        argv += ["--lang", code]
    status = main(argv)
    return status, capsys.readouterr().out


def test_committed_content_passes_every_check(built_project, capsys):
    status, out = run_preflight(built_project, capsys)
    assert status == 0, out
    header, *rows = out.splitlines()[:7]
    assert header.split() == ["lang", *CHECKS]
    assert [row.split()[0] for row in rows] == ["zh", "en", "fr", "es", "ru", "ar"]
    # Every check passes; the fill column shows the emptiest text page, above the 80 % it warns under.
    fill = CHECKS.index("fill")
    for row in rows:
        cells = row.split()[1:]
        assert cells[:fill] + cells[fill + 1:] == ["pass"] * (len(CHECKS) - 1), out
        assert re.fullmatch(r"\d+%", cells[fill]) and int(cells[fill][:-1]) >= 80, out
    assert out.rstrip().endswith("Preflight passed: 6 languages × 9 checks.")
    report = json.loads((built_project / "build/preflight.json").read_text())
    assert report["passed"] is True
    assert report["languages"]["ar"]["accessibility"] == {"status": "pass", "messages": []}
    html = (built_project / "build/preflight.html").read_text()
    thumbnails = re.findall(r'<img src="(preflight/[a-z]{2}/page-\d\d\.png)"', html)
    assert len(thumbnails) == 72
    assert all((built_project / "build" / thumb).is_file() for thumb in thumbnails)


def double_the_text(root, code: str) -> None:
    path = root / "brochure/text" / f"{code}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for section in data["sections"].values():
        if "body" in section:
            section["body"] = [f"{paragraph} {paragraph}" for paragraph in section["body"]]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def without_fit(root, *kinds: str) -> None:
    """Take the `fit:` block out of the kinds' declarations: their sections keep the type of
    tokens.css, and text that does not fit overflows as it is instead of failing the search."""
    for kind in kinds:
        path = root / "layouts/pages" / f"{kind}.kind.yaml"
        text, count = re.subn(r"\nfit:\n(?:[ #].*\n)*", "\n", path.read_text(encoding="utf-8"))
        assert count == 1, kind
        path.write_text(text, encoding="utf-8")


def test_doubled_text_fails_copy_fit_naming_the_sections(project, capsys):
    build(project, ["en"])
    double_the_text(project, "en")
    # The fitter shrinks the type first; the first run it cannot fit fails the build, named with its pages.
    with pytest.raises(BuildError) as caught:
        build(project, ["en"])
    assert re.fullmatch(r"en screen: section 'commitment' and 'cooperation' does not fit pages 2-4 in any setting of "
                        r"layouts/pages/section\.kind\.yaml: at the smallest \(--body-size 8\.8pt, --body-leading 1\.38, "
                        r"--box-size 8\.4pt, --heading-size 16pt\) \d+ lines \([\d.]+ mm\) are left over; shorten the text, "
                        r"or widen the ranges in the declaration", str(caught.value)), str(caught.value)
    status, out = run_preflight(project, capsys, "en")
    assert status == 1
    row = out.splitlines()[1].split()
    assert row[0] == "en" and row[1 + CHECKS.index("copy-fit")] == "FAIL"
    assert "en copy-fit: screen: the last layout is older than its inputs" in out, out
    # Without fit: the same text overflows as it is, and the layout report names each section that
    # runs past its planned pages. Priority 1 had room to spare: its doubled text still fits page 6.
    without_fit(project, "section", "priority", "closing")
    with pytest.raises(BuildError, match="section 'cooperation' does not fit pages 3-4: "):
        build(project, ["en"])
    status, out = run_preflight(project, capsys, "en")
    assert status == 1
    row = out.splitlines()[1].split()
    assert row[0] == "en" and row[1 + CHECKS.index("copy-fit")] == "FAIL"
    named = re.findall(r"en copy-fit: screen: section '([\w-]+)' does not fit (pages? [\d-]+): \d+ lines \([\d.]+ mm\) "
                       r"run onto page \d+; shorten the text", out)
    assert named == [("cooperation", "pages 3-4"), ("priority-2", "page 7"), ("priority-3", "page 8"),
                     ("priority-4", "page 9"), ("closing", "page 10")], out
    # The last good PDFs are still there, and still pass the checks that read them.
    assert row[1 + CHECKS.index("fonts")] == "pass"
    assert row[1 + CHECKS.index("content")] == "pass"
    assert "\nPreflight failed: 1 check failed, 0 with warnings.\n" in out  # the brochure's table; the leaflet's follows


def test_a_heading_ending_on_a_word_alone_is_a_warning(project, capsys):
    """Without the zh divider's width and without no_runt on the divider and priority headings, the Chinese
    divider ends on one character and an English heading on one word: the build writes the
    PDFs, preflight warns, naming page, section, heading and the word alone."""
    languages = project / "layouts/css/languages.css"
    css, count = re.subn(r"html:lang\(zh\) \.opener__heading \{[^}]*\}\n", "", languages.read_text(encoding="utf-8"))
    assert count == 1
    languages.write_text(css, encoding="utf-8")
    for kind in ("priority", "opener"):
        template = project / f"layouts/pages/{kind}.html.j2"
        template.write_text(template.read_text(encoding="utf-8").replace(" | no_runt", ""), encoding="utf-8")
    build(project, ["zh", "en"])
    status, out = run_preflight(project, capsys, "zh", "en")
    assert "zh copy-fit: warning: page 5 (priorities): the heading “卢森堡人权行动的四个优先事项” ends with “项” alone on its " \
           "last line: hold its last words together (the no_runt filter in its template) or give the heading a width " \
           "that breaks it evenly (README, Page kinds)" in out, out
    assert "en copy-fit: warning: page 9 (priority-4): the heading “Protecting and promoting the rights of the child” " \
           "ends with “child” alone on its last line" in out, out
    assert status == 0  # a warning: the files go to the press all the same


def test_low_resolution_photo_and_foreign_font_fail(project, capsys):
    # A photo with a sixth of the pixels it needs: 50 ppi at its placed size.
    photo = project / "assets/photos/asselborn-murad.jpg"
    Image.open(photo).convert("RGB").resize((343, 134)).save(photo, quality=90)
    # A font from outside fonts/: a renamed copy of Noto Sans in assets/, declared and allowed.
    font = TTFont(project / "fonts/NotoSans-Regular.ttf")
    for record in font["name"].names:
        if record.nameID in (1, 4, 16):
            record.string = "Intruder Sans"
    font.save(project / "assets/intruder.ttf")
    with (project / "layouts/css/fonts.css").open("a") as css:
        css.write('\n@font-face { font-family: "Intruder"; src: url("../../assets/intruder.ttf"); }\n'
                  '.figure__credit { font-family: "Intruder"; }\n')
    settings = project / "brochure/brochure.yaml"
    settings.write_text(settings.read_text().replace("en: {tag: en, fonts: [Brochure Serif, Brochure Sans]}",
                                                     "en: {tag: en, fonts: [Brochure Serif, Brochure Sans, Intruder]}"))
    build(project, ["en"])
    status, out = run_preflight(project, capsys, "en")
    assert status == 1
    assert re.search(r"en images: print: page 6: asselborn-murad is 50 ppi at its placed size \(343×134 px over 174×68 mm\); "
                     r"the print file needs 300 ppi", out), out
    assert "en images: screen: page 6: asselborn-murad is 50 ppi" in out
    assert re.search(r"en fonts: print: font 'Intruder Sans' \([A-Z]{6}\+Intruder\) is not one of the fonts in fonts/", out), out
    # Cells are two spaces apart at least: a fill cell may read "73% warn" (the photo cannot grow to
    # fill page 6 at the step the Latin editions share).
    row = re.split(r"\s{2,}", out.splitlines()[1].strip())
    failed = [check for check, status in zip(CHECKS, row[1:], strict=True) if status == "FAIL"]
    assert failed == ["fonts", "images"]


def test_unbuilt_project_fails_every_file_check_and_warns_of_stale_translations(project, capsys):
    source = project / "brochure/text/zh.yaml"
    text = source.read_text(encoding="utf-8")
    source.write_text(text.replace("卢森堡一直", "卢森堡始终", 1), encoding="utf-8")
    status, out = run_preflight(project, capsys, "zh", "fr")
    assert status == 1
    assert "zh pages: no print, screen, imposed PDF in build/zh/: run `brochure build`" in out
    assert re.search(r"fr content: warning: brochure/text/fr\.yaml:\d+: sections\.\S+: stale", out), out


def test_a_glyph_id_zero_in_a_shown_string_is_a_notdef():
    """pdfinspect.has_notdef reads WeasyPrint's two-byte glyph ids: id 0 (.notdef) at an even
    offset is found, in a string or in a TJ array; a zero byte of a non-zero id is not."""
    import pikepdf

    from brochure_build.review.pdfinspect import has_notdef

    assert has_notdef([pikepdf.String(b"\x00\x21\x00\x00\x01\x02")])
    assert has_notdef([pikepdf.Array([pikepdf.String(b"\x00\x21"), -250, pikepdf.String(b"\x00\x00")])])
    assert not has_notdef([pikepdf.String(b"\x01\x00\x00\x02")])  # ids 0x0100 and 0x0002
    assert not has_notdef([pikepdf.String(b"\x00\x21\x00")])      # an odd byte left over: no id
    assert not has_notdef([pikepdf.Array([pikepdf.String(b"\x00\x21"), -250])])


def test_the_files_are_checked_alike_on_one_process_and_on_two(built_project, tmp_path):
    """review/filechecks.check_groups: an edition's press files and its screen file are checked
    on two processes; the results are those of one process."""
    import shutil

    import pikepdf

    from brochure_build.paths import output_name
    from brochure_build.review.filechecks import check_groups
    from brochure_build.source.content import load_content

    settings, (edition,) = load_content(built_project, ["ar"])
    files = {variant: built_project / "build/ar" / output_name(settings, "ar", variant, "pdf")
             for variant in ("print", "screen", "imposed")}
    # A defect in each group's files: the print file without its output intent, the screen file without its tags.
    defective = {variant: tmp_path / "ar" / path.name for variant, path in files.items()}
    defective["print"].parent.mkdir()
    for variant, path in files.items():
        shutil.copy(path, defective[variant])
    for variant, key in (("print", "/OutputIntents"), ("screen", "/StructTreeRoot")):
        with pikepdf.open(defective[variant], allow_overwriting_input=True) as pdf:
            del pdf.Root[key]
            pdf.save(defective[variant])
    serial = check_groups(built_project, settings, [("ar", edition, files), ("ar", edition, defective)], jobs=1)
    parallel = check_groups(built_project, settings, [("ar", edition, files), ("ar", edition, defective)], jobs=2)
    assert [(counts, {check: vars(result) for check, result in results.items()}) for results, counts in parallel] == \
           [(counts, {check: vars(result) for check, result in results.items()}) for results, counts in serial]
    (good, good_counts), (bad, _) = parallel
    assert all(result.status == "pass" for result in good.values()), good
    assert good_counts == {"print": 12, "imposed": 6, "screen": 12}
    assert bad["colour"].messages[0] == "print: no PDF/X output intent with an embedded profile"
    assert bad["accessibility"].messages == ["screen: not a tagged PDF (no /MarkInfo /Marked or /StructTreeRoot)"]
