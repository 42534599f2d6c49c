"""Bad content gets one line per problem, file:line: key: message, all at once, exit 1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from brochure_build.errors import ContentError
from brochure_build.source.content import load_content


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "brochure_build", *args], cwd=cwd, capture_output=True, text=True)


def break_chinese_text(project: Path) -> Path:
    """Four mistakes in zh.yaml: a pledge list given as text, a key typo, a missing key, an empty caption."""
    zh = project / "brochure/text/zh.yaml"
    replace_in(zh, "    pledges:\n      - 卢森堡承诺继续遵照", "    pledges: 卢森堡承诺继续遵照")
    replace_in(zh, "  priority-3:\n    heading:", "  priority-3:\n    heding:")
    replace_in(zh, "    contribution: 卢森堡持续通过", "    contributions: 卢森堡持续通过")
    replace_in(zh, "    caption: 卢森堡在人权理事会", "    caption: ''")
    return zh


def test_every_problem_is_reported_with_file_line_and_key(project):
    zh = break_chinese_text(project)
    with pytest.raises(ContentError) as caught:
        load_content(project, ["zh"])
    f = "brochure/text/zh.yaml"
    assert sorted(str(p) for p in caught.value.problems) == sorted([
        f"{f}:{line_of(zh, 'pledges: 卢森堡承诺继续遵照')}: sections.priority-2.pledges: expected a list, found text",
        f"{f}:{line_of(zh, 'heding:')}: sections.priority-3.heding: unknown key (did you mean 'heading'?): "
        "not a field of page kind 'priority' (layouts/pages/priority.kind.yaml)",
        f"{f}:{line_of(zh, '  priority-3:')}: sections.priority-3.heading: missing",
        f"{f}:{line_of(zh, 'contributions:')}: sections.priority-4.contributions: unknown key (did you mean 'contribution'?): not a field "
        "of page kind 'priority' (layouts/pages/priority.kind.yaml)",
        f"{f}:{line_of(zh, '  priority-4:')}: sections.priority-4.contribution: missing",
        f"{f}:{line_of(zh, 'caption: ' + chr(39))}: figures.hrc-luxembourg.caption: is empty",
    ])


def test_cli_prints_problems_and_exits_1_without_traceback(project):
    break_chinese_text(project)
    result = run_cli("build", "--lang", "zh", cwd=project)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == "Aborted with 6 errors."
    assert all(line.startswith("brochure/text/zh.yaml:") for line in lines[:-1])
    assert not (project / "build/zh").exists()


def test_debug_shows_the_traceback(project):
    break_chinese_text(project)
    result = run_cli("build", "--lang", "zh", "--debug", cwd=project)
    assert result.returncode == 1 and "Traceback" in result.stderr


def test_settings_errors(project):
    settings = project / "brochure/brochure.yaml"
    replace_in(settings, "bleed: 3mm", "bleed: three")
    replace_in(settings, "kind: priority,   pages: 7,", "kind: priorty,    pages: 7,")
    replace_in(settings, "pages: 12,    text: cover}", "pages: 12-13, text: cover}")
    with pytest.raises(ContentError) as caught:
        load_content(project)
    f = "brochure/brochure.yaml"
    assert sorted(str(p) for p in caught.value.problems) == sorted([
        f"{f}:{line_of(settings, 'bleed:')}: page.bleed: expected a length such as 3mm, found 'three'",
        f"{f}:{line_of(settings, 'priorty')}: sections[5].kind: unknown page kind 'priorty' (did you mean 'priority'?): "
        "a kind is a template layouts/pages/<kind>.html.j2 with its declaration <kind>.kind.yaml beside it",
        f"{f}:{line_of(settings, 'text: cover')}: sections[10].pages: the page plan has 13 pages: saddle stitching needs a multiple of 4",
    ])


def test_yaml_syntax_error_names_the_line(project):
    zh = project / "brochure/text/zh.yaml"
    replace_in(zh, "  pledges: 承诺", "  pledges: [承诺")
    with pytest.raises(ContentError) as caught:
        load_content(project, ["zh"])
    (problem,) = caught.value.problems
    assert problem.file == "brochure/text/zh.yaml" and problem.message.startswith("YAML syntax error")
    assert problem.line in (line_of(zh, "pledges: [承诺"), line_of(zh, "pledges: [承诺") + 1)


def test_duplicate_keys_and_aliases_are_errors(project):
    zh = project / "brochure/text/zh.yaml"
    replace_in(zh, "  credit: ©\n", "  credit: ©\n  credit: (c)\n")
    replace_in(zh, "  author: 卢森堡外交和欧洲事务部", "  author: &who 卢森堡外交和欧洲事务部")
    replace_in(zh, "  subject: 卢森堡竞选联合国人权理事会2022-2024年任期成员国", "  subject: *who")
    with pytest.raises(ContentError) as caught:
        load_content(project, ["zh"])
    messages = [str(p) for p in caught.value.problems]
    assert (f"brochure/text/zh.yaml:{line_of(zh, 'credit: (c)')}: labels.credit: duplicate key "
            f"(first on line {line_of(zh, 'credit: ©')}): remove one") in messages
    assert (f"brochure/text/zh.yaml:{line_of(zh, 'subject: *who')}: meta.subject: anchors and aliases (&, *) are "
            "not allowed: write the value out") in messages


def test_unknown_language_is_named(project):
    result = run_cli("build", "--lang", "xx", cwd=project)
    assert result.returncode == 1
    assert "--lang xx: no such language" in result.stderr and "Traceback" not in result.stderr


def test_a_kind_that_is_not_a_name_is_an_error(project):
    """`kind: []` (found by the hostile-input fuzzing: it raised a TypeError) is reported like any
    other wrong value, with its file, line and key."""
    settings = project / "brochure/brochure.yaml"
    replace_in(settings, "kind: priority,   pages: 7,", "kind: [],   pages: 7,")
    with pytest.raises(ContentError) as caught:
        load_content(project)
    assert [str(p) for p in caught.value.problems] == [
        f"brochure/brochure.yaml:{line_of(settings, 'kind: [],')}: sections[5].kind: expected the name of a page kind, found a list"]
