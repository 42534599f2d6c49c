"""One type step shared where a kind's `fit:` asks for it (render/share.py): `share: [edition]`
sets every run of the kind in an edition at one step, `share: [script]` every edition whose
language is written in the same script; a build of one language chooses what a full build
chooses, and the siblings' words are in its fingerprint. Real builds, no mocks."""

from __future__ import annotations

import json
import shutil

from brochure_build.build import build
from brochure_build.render.share import script_of
from brochure_build.source.content import load_content
from conftest import pdf_path
from test_fit import edit_section
from test_kinds import problems_of

PRIORITY = "layouts/pages/priority.kind.yaml"
PRIORITIES = ("priority-1", "priority-2", "priority-3", "priority-4")


def share(project, scopes: str) -> None:
    """Add `share: <scopes>` to the brochure's priority kind's `fit:` (its last key)."""
    path = project / PRIORITY
    lines = path.read_text(encoding="utf-8").splitlines()
    end = max(number for number, line in enumerate(lines) if line.startswith("  frames:"))
    # After `frames:` only the declaration's own `share:` and its comment: fit: is the last mapping.
    assert all(line.startswith(("  share:", "  #")) for line in lines[end + 1:]), lines[end + 1:]
    lines = lines[: end + 1]
    path.unlink()
    path.write_text("\n".join(lines) + f"\n  share: {scopes}\n", encoding="utf-8")


def fit_of(project, code: str) -> dict:
    layout = json.loads(pdf_path(project, code, "screen").with_suffix(".layout.json").read_text(encoding="utf-8"))
    return {section: layout["fit"][section] for section in PRIORITIES}


def text_fills(project, code: str) -> list[float]:
    layout = json.loads(pdf_path(project, code, "screen").with_suffix(".layout.json").read_text(encoding="utf-8"))
    return [page["fill"] for page in layout["fill"] if page["text"]]


def test_the_script_of_an_edition_is_found_from_its_own_words(project):
    _, editions = load_content(project)
    assert {edition.language.code: script_of(edition) for edition in editions} == \
        {"zh": "Hani", "en": "Latn", "fr": "Latn", "es": "Latn", "ru": "Cyrl", "ar": "Arab"}


def test_share_edition_sets_every_run_of_the_kind_at_one_step(project):
    share(project, "[edition]")
    build(project, ["en"])
    fit = fit_of(project, "en")
    own = [fit[section]["own_step"] for section in PRIORITIES]
    assert len(set(own)) > 1, own  # on their own the runs take different steps (5, 5, 5, 3 today)
    assert {fit[section]["step"] for section in PRIORITIES} == {min(own)}
    for section in PRIORITIES:
        assert fit[section]["shared"] == ["en"] and fit[section]["shared_sections"] == list(PRIORITIES)
    assert min(text_fills(project, "en")) >= 0.85  # each fitted again at the shared step: frames grew


def test_share_script_gives_latin_editions_one_step_and_building_one_language_chooses_as_a_full_build(project):
    share(project, "[edition, script]")
    build(project, ["en"])  # alone, from an empty cache: it searches French and Spanish itself
    en = fit_of(project, "en")
    steps = {en[section]["step"] for section in PRIORITIES}
    assert len(steps) == 1 and all(en[section]["shared"] == ["en", "fr", "es"] for section in PRIORITIES)
    alone = pdf_path(project, "en", "screen").read_bytes()

    shutil.rmtree(project / "build")
    build(project, ["es", "zh", "fr", "en"], jobs=2)  # other orders, in parallel workers
    for code in ("fr", "es"):
        fit = fit_of(project, code)
        assert {fit[section]["step"] for section in PRIORITIES} == steps, (code, fit)
        # The shared step is the smallest any run takes alone.
        assert min(fit[section]["own_step"] for section in PRIORITIES) >= min(steps)
    own_steps = [fit_of(project, code)[section]["own_step"] for code in ("en", "fr", "es") for section in PRIORITIES]
    assert min(own_steps) == min(steps)
    zh = fit_of(project, "zh")  # Chinese keeps its own: it shares with no other edition
    assert all(zh[section]["shared"] == ["zh"] for section in PRIORITIES)
    assert fit_of(project, "en") == en
    assert pdf_path(project, "en", "screen").read_bytes() == alone
    for code in ("en", "fr", "es", "zh"):
        assert min(text_fills(project, code)) >= 0.85, code


def test_a_siblings_words_of_a_shared_kind_rebuild_the_editions_of_its_script(project):
    share(project, "[script]")
    build(project, ["en", "zh"])

    def rebuilt(codes):
        return {item.language for item in build(project, codes) if not item.skipped and "leaflet" not in item.path.name}

    edit_section(project, "fr", "closing", lambda section: section["body"].__setitem__(0, section["body"][0] + " Enfin."))
    assert rebuilt(["en", "zh"]) == set()  # a French word of a kind not shared: English stays
    edit_section(project, "fr", "priority-2", lambda section: section["body"].__setitem__(0, section["body"][0] + " Aussi."))
    assert rebuilt(["en", "zh"]) == {"en"}  # of a shared kind: English again, Chinese (another script) not


def test_a_malformed_share_is_reported_with_file_line_and_key(project):
    share(project, "[edition]")
    path = project / PRIORITY
    text = "".join(line for line in path.read_text(encoding="utf-8").splitlines(keepends=True) if "share:" not in line)
    path.unlink()
    path.write_text(text.rstrip("\n") + "\n  share: [edition, language]\n", encoding="utf-8")
    line = text.rstrip("\n").count("\n") + 2
    assert problems_of(project) == [
        f"{PRIORITY}:{line}: fit.share: expected a list of edition and script (one step for every run of the kind "
        "in an edition; and in every edition of the same script), such as [edition, script]; found "
        "['edition', 'language']: see README, Page kinds"]
    path.write_text(text.rstrip("\n") + "\n  share: script\n", encoding="utf-8")
    assert [problem.split(": ", 2)[1] for problem in problems_of(project)] == ["fit.share"]
