"""`brochure check`: missing, extra and stale translations, reported exactly."""

from __future__ import annotations

import io

import pytest

from brochure_build.errors import ContentError
from brochure_build.source.translations import check_content
from test_content_errors import line_of, replace_in, run_cli


def test_committed_content_is_clean(project):
    out = io.StringIO()
    assert check_content(project, None, out=out) == 0
    assert out.getvalue().splitlines()[1:] == [
        "  zh  source, 83 blocks", "  en  complete", "  fr  complete", "  es  complete", "  ru  complete", "  ar  complete"]


def test_removed_key_is_missing_and_exits_1(project):
    fr = project / "brochure/text/fr.yaml"
    text = fr.read_text(encoding="utf-8")
    contribution = next(line for line in text.splitlines() if line.startswith("    contribution:"))
    fr.write_text(text.replace(contribution + "\n", "", 1), encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(ContentError) as caught:
        check_content(project, ["fr"], out=out)
    assert "  fr  1 missing, 0 extra, 0 stale" in out.getvalue()
    zh = project / "brochure/text/zh.yaml"
    assert [str(p) for p in caught.value.problems] == [
        f"brochure/text/fr.yaml:{line_of(fr, '  priority-1:')}: sections.priority-1.contribution: missing: "
        f"translate the zh block at brochure/text/zh.yaml:{line_of(zh, 'contribution: 卢森堡是受害者基金')}"]
    result = run_cli("check", "--lang", "fr", cwd=project)
    assert result.returncode == 1 and "Traceback" not in result.stderr


def test_changed_source_block_makes_translations_stale_but_passes(project):
    zh = project / "brochure/text/zh.yaml"
    replace_in(zh, "卢森堡承诺在所有国际论坛中促进人权。", "卢森堡承诺在所有国际论坛中积极促进人权。")
    out = io.StringIO()
    assert check_content(project, ["en", "ru"], out=out) == 0
    en, ru = project / "brochure/text/en.yaml", project / "brochure/text/ru.yaml"
    lines = out.getvalue().splitlines()
    assert "  en  0 missing, 0 extra, 1 stale" in lines
    for code, path in (("en", en), ("ru", ru)):
        line = line_of(path, "    pledges:") + 1  # the first pledges list is the commitment's
        assert (f"warning: brochure/text/{code}.yaml:{line}: sections.commitment.pledges[0]: stale: the zh source changed "
                f"after this was translated; update it, then run "
                f"`brochure check --accept --lang {code} --key sections.commitment.pledges[0]`") in lines
    # Accepting one block clears it.
    check_content(project, ["en"], accept=True, key="sections.commitment.pledges[0]", out=io.StringIO())
    out = io.StringIO()
    check_content(project, ["en"], out=out)
    assert "  en  complete" in out.getvalue()


def test_extra_key_is_reported(project):
    es = project / "brochure/text/es.yaml"
    replace_in(es, "labels:\n", "labels:\n  note: Nota\n")
    with pytest.raises(ContentError) as caught:
        check_content(project, ["es"], out=io.StringIO())
    assert [str(p) for p in caught.value.problems] == [
        f"brochure/text/es.yaml:{line_of(es, 'note: Nota')}: labels.note: extra: not in the zh source; remove it"]


def test_first_run_without_fingerprints_is_one_line_per_language(project):
    """A new translation has no fingerprints: one note for the language, not a warning per block."""
    for code in ("fr", "ar"):
        path = project / f"brochure/text/{code}.yaml"
        text = path.read_text(encoding="utf-8")
        path.write_text(text[: text.index("source_fingerprints:")], encoding="utf-8")
    out = io.StringIO()
    assert check_content(project, None, out=out) == 0
    lines = out.getvalue().splitlines()
    assert "  fr  0 missing, 0 extra, no source fingerprints yet" in lines
    assert not [line for line in lines if line.startswith("warning:")]
    assert [line for line in lines if line.startswith("note:")] == [
        f"note: brochure/text/{code}.yaml: no source fingerprints recorded yet, so nothing can be stale; once the "
        f"translation is checked against the zh source, record them all with `brochure check --accept --lang {code}`"
        for code in ("fr", "ar")]
    # One command per language records them all.
    result = run_cli("check", "--accept", "--lang", "fr", cwd=project)
    assert result.returncode == 0 and result.stdout == "fr: recorded 83 changed source fingerprints\n"
    out = io.StringIO()
    check_content(project, ["fr"], out=out)
    assert out.getvalue().splitlines()[1:] == ["  fr  complete"]
