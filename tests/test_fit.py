"""Copy-fit chosen by the build (render/fit.py): the kinds' `fit:` ranges searched per section,
photo frames grown within their heights and the photo's pixels, optional fields shown only when
needed, the choice and each page's fill in the layout report and in preflight, and a clear error
when nothing in the ranges fits. Real layouts with WeasyPrint, no mocks."""

from __future__ import annotations

import json

import pytest
import yaml
from PIL import Image

from brochure_build.build import build
from brochure_build.errors import BuildError
from brochure_build.render.fit import GOAL, Choice, Fitter, Trial, fittable, lay_out_fitted, layout_digest, rank
from brochure_build.render.images import prepare_images
from brochure_build.render.pdf import Renderer
from brochure_build.render.templating import make_environment, render_html
from brochure_build.review.preflight import preflight
from brochure_build.source.content import load_content
from conftest import pdf_path
from test_kinds import problems_of

EN = "brochure/text/en.yaml"


def choose(project, code: str, section_id: str):
    """The fitter's choice for the run starting with `section_id`, laid out for real."""
    settings, (edition,) = load_content(project, [code])
    environment = make_environment(project, settings.layouts)
    images = prepare_images(project, settings, "screen", [figure.spec for figure in edition.figures.values()])
    out = project / "build" / code
    renderer = Renderer(project)
    try:
        def html_of(run, css):
            return render_html(environment, edition, "screen", project, out, images, run, css)

        fitter = Fitter(project, edition, lambda run, css: renderer.render(html_of(run, css), out / "fit.html", code),
                        layout_digest(project, edition), f"{code} screen")
        run = next(run for run in fittable(edition) if run[0].spec.id == section_id)
        choice, trial = fitter.choose(run)
        return choice, trial, fitter.trials_run
    finally:
        renderer.close()


def edit_section(project, code: str, section_id: str, change) -> None:
    path = project / f"brochure/text/{code}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data["sections"][section_id])
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000), encoding="utf-8")


def test_a_short_text_gets_a_larger_step_and_a_long_one_a_smaller_step(project):
    usual, _, _ = choose(project, "en", "priority-4")
    body = yaml.safe_load((project / EN).read_text(encoding="utf-8"))["sections"]["priority-4"]["body"]

    edit_section(project, "en", "priority-4", lambda section: section.update(body=body[:1]))
    short, short_trial, _ = choose(project, "en", "priority-4")
    edit_section(project, "en", "priority-4", lambda section: section.update(body=body + body[-1:]))
    long, long_trial, _ = choose(project, "en", "priority-4")

    assert short.step > usual.step > long.step, (short.step, usual.step, long.step)
    assert float(short.values["--body-size"].removesuffix("pt")) > float(long.values["--body-size"].removesuffix("pt"))
    for trial in (short_trial, long_trial):  # both fit their one page
        assert trial.pages == 1 and trial.overflow is None and not trial.frames_overflow


def test_a_fitting_setting_at_the_goal_keeps_the_larger_step_over_a_fuller_page():
    def ranked(step: int, fill: float) -> tuple:
        choice = Choice(("s",), step, 6, {})
        return rank(choice, Trial(1, [fill], [True], None, 0.0, 250.0))

    # Both reach the goal: the larger type wins, though a taller photo at the smaller step fills more.
    assert ranked(4, GOAL + 0.02) > ranked(3, 0.99)
    # Neither reaches it: the fuller page wins; reaching it beats not reaching it.
    assert ranked(2, 0.80) > ranked(4, 0.70)
    assert ranked(1, GOAL) > ranked(5, GOAL - 0.01)


def test_one_word_added_keeps_the_type_step(project):
    usual, _, _ = choose(project, "en", "priority-2")

    def add_word(section):
        section["body"][0] = section["body"][0].replace(" the ", " the very ", 1)

    edit_section(project, "en", "priority-2", add_word)
    edited, trial, _ = choose(project, "en", "priority-2")
    assert edited.step == usual.step, (usual, edited)
    assert trial.lowest_text_fill() >= GOAL


def test_a_photo_frame_grows_to_fill_the_page_and_never_below_300_ppi(project):
    edit_section(project, "en", "priority-4", lambda section: section.update(body=section["body"][:1]))
    choice, trial, _ = choose(project, "en", "priority-4")
    # The frame grew from its smallest (60 mm) towards its largest (brochure.yaml: [60mm, 110mm]).
    assert 60 < choice.frames["unicef-turkey"] <= 110
    assert trial.fills[0] >= 0.85

    # A photo with fewer pixels may not be enlarged past 300 ppi: 2055 × 900 px covers 174 mm
    # wide and 900 / 300 inch = 76.2 mm high.
    photo = project / "assets/photos/unicef-turkey.jpg"
    Image.new("RGB", (2055, 900), (40, 90, 140)).save(photo, "JPEG", dpi=(300, 300))
    choice, trial, _ = choose(project, "en", "priority-4")
    assert 60 < choice.frames["unicef-turkey"] <= 76.2


def test_the_built_files_keep_every_photo_at_300_ppi_or_more_and_record_the_fill(built_project):
    settings_report = preflight(built_project, ["en", "zh"])
    for _, report in settings_report:
        for code, results in report.items():
            assert results["images"].status == "pass", (code, results["images"].messages)
            assert results["fill"].status == "pass", (code, results["fill"].messages)
            assert results["fill"].pages and all(page["fill"] >= 0.85 for page in results["fill"].pages)
    layout = json.loads(pdf_path(built_project, "en", "screen").with_suffix(".layout.json").read_text())
    text_pages = [page for page in layout["fill"] if page["text"]]
    assert [page["page"] for page in text_pages] == [3, 6, 7, 8, 9, 10]
    assert set(layout["fit"]) == {"commitment", "cooperation", "priority-1", "priority-2", "priority-3", "priority-4",
                                  "closing"}
    assert layout["fit"]["commitment"] == layout["fit"]["cooperation"]  # a shared page: one setting


def test_an_optional_pull_quote_is_shown_only_when_the_page_needs_it(project):
    choice, trial, _ = choose(project, "en", "closing")
    assert choice.optional == ("quote",) and trial.fills[0] >= 0.85
    edit_section(project, "en", "closing", lambda section: section.update(body=section["body"] + section["body"][:1]))
    choice, trial, _ = choose(project, "en", "closing")
    assert choice.optional == () and choice.hidden == ("quote",)
    assert '[data-fit-optional="quote"] { display: none !important; }' in choice.css()


def test_a_second_search_reuses_the_cached_layouts(project):
    _, _, first = choose(project, "en", "priority-2")
    _, _, second = choose(project, "en", "priority-2")
    assert first >= 2
    assert second == 1  # the remembered choice, laid out once for its pages


def test_when_nothing_fits_the_build_fails_naming_section_language_setting_and_what_is_left(project):
    edit_section(project, "en", "priority-4", lambda section: section.update(body=section["body"] * 3))
    before = sorted(p.name for p in (project / "build").rglob("*.pdf")) if (project / "build").exists() else []
    with pytest.raises(BuildError) as caught:
        build(project, ["en"])
    message = str(caught.value)
    assert message.startswith("en screen: section 'priority-4' does not fit page 9 in any setting of "
                              "layouts/pages/priority.kind.yaml: at the smallest (--body-size 8.8pt, --body-leading 1.38, "
                              "--box-size 8.4pt; photo frames 60 mm) "), message
    assert message.endswith(" are left over; shorten the text, or widen the ranges in the declaration"), message
    assert " lines (" in message and " mm)" in message
    after = sorted(p.name for p in (project / "build").rglob("*.pdf"))
    assert [name for name in after if "-en-" in name and "leaflet" not in name] == \
        [name for name in before if "-en-" in name and "leaflet" not in name]  # no brochure PDF half made


def test_a_malformed_fit_declaration_is_reported_with_file_line_and_key(project):
    path = project / "layouts/pages/closing.kind.yaml"
    text = path.read_text(encoding="utf-8")
    text = text[:text.index("fit:")] + (
        "fit:\n"
        "  steps: 0\n"
        "  vary:\n"
        "    body-size: [9pt, 11pt]\n"
        "    --closing-size: [14pt, 10pt]\n"
        "    --closing-leading: [1.5, 2em]\n"
        "  frames: sometimes\n"
        "  optional: [heading, subtitle]\n"
        "  shrink: yes\n")
    path.write_text(text, encoding="utf-8")
    f = "layouts/pages/closing.kind.yaml"
    line = text[:text.index("fit:")].count("\n") + 1
    assert sorted(problems_of(project)) == sorted([
        f"{f}:{line + 1}: fit.steps: expected a whole number of steps from 1 to 24, found 0: see README, Page kinds",
        f"{f}:{line + 3}: fit.vary.body-size: 'body-size' is not a custom property: the layouts' CSS reads what the fitter "
        "sets through var(--name), such as --body-size: see README, Page kinds",
        f"{f}:{line + 4}: fit.vary.--closing-size: the smallest comes first: [10pt, 14pt]: see README, Page kinds",
        f"{f}:{line + 5}: fit.vary.--closing-leading: every value needs the same unit, found [1.5, '2em']: "
        "see README, Page kinds",
        f"{f}:{line + 6}: fit.frames: expected grow (photo frames grow within their heights in brochure.yaml) or fixed, "
        "found 'sometimes': see README, Page kinds",
        f"{f}:{line + 7}: fit.optional[0]: 'heading' is required: only an optional field (required: false) can be left "
        "out: see README, Page kinds",
        f"{f}:{line + 7}: fit.optional[1]: 'subtitle' is not a field of this kind: see README, Page kinds",
        f"{f}:{line + 8}: fit.shrink: unknown key (expected one of: steps, vary, languages, frames, optional, share): "
        "see README, Page kinds",
    ])


def test_preflight_warns_of_a_text_page_under_80_percent_naming_page_and_shortfall(project):
    edit_section(project, "en", "closing", lambda section: section.update(body=section["body"][:1]))
    build(project, ["en"])
    report = dict(preflight(project, ["en"])[0][1])
    fill = report["en"]["fill"]
    assert fill.status == "warn"
    [message] = fill.messages
    assert message.startswith("warning: page 10 (closing): "), message
    assert " mm empty at its foot, " in message and " mm short of 80% (step 6 of 6" in message


def test_a_paragraph_edited_rebuilds_only_the_product_that_prints_it(project):
    build(project, ["en"])
    edit_section(project, "en", "priority-2", lambda section: section["body"].__setitem__(0, section["body"][0] + " Also."))
    rebuilt = {(item.path.name, item.skipped) for item in build(project, ["en"])}
    assert ("luxembourg-hrc-2022-2024-en-screen.pdf", False) in rebuilt
    assert ("luxembourg-hrc-2022-2024-en-print.pdf", False) in rebuilt
    # The leaflet prints the priorities' headings and pledges, not their paragraphs.
    assert {skipped for name, skipped in rebuilt if "leaflet" in name} == {True}


def test_the_two_jobs_of_a_split_build_search_from_opposite_ends(project):
    """lay_out_fitted's `searches`: the runs whose setting is not known yet are laid out first (in
    plan order) or last (in reverse), the others in plan order; the pages come out in plan order
    whatever the order they were laid out in."""
    settings, _ = load_content(project, ["en"])
    environment = make_environment(project, settings.layouts)
    out = project / "build" / "en"
    renderer = Renderer(project)
    order: list[str] = []

    def lay_out(searches: str):
        _, (edition,) = load_content(project, ["en"])
        images = prepare_images(project, settings, "screen", [figure.spec for figure in edition.figures.values()])

        def html_of(run, css):
            order.append(run[0].spec.id)
            return render_html(environment, edition, "screen", project, out, images, run, css)

        order.clear()
        _, document = lay_out_fitted(project, edition, html_of, lambda html: renderer.render(html, out / "fit.html", "en"),
                                     "en screen", searches=searches)
        return list(dict.fromkeys(order)), document

    def add_word(word: str) -> None:
        for section in ("priority-2", "priority-4"):
            edit_section(project, "en", section, lambda words: words["body"].__setitem__(0, f"{word} {words['body'][0]}"))

    try:
        planned, _ = lay_out("plan")
        # The priorities share one step (priority.kind.yaml, share: [edition]): a word added to two
        # of them leaves all four to set anew.
        priorities = [part for part in planned if part.startswith("priority-")]
        others = [part for part in planned if part not in priorities]
        assert len(priorities) == 4 and others[0] == "cover"
        add_word("Indeed,")
        first, _ = lay_out("first")
        assert set(first[:4]) == set(priorities) and first[4:] == others
        assert first[0] == "priority-2"  # priority 1's step waits for priority 2's own search
        add_word("Also,")
        last, document = lay_out("last")
        assert last[:len(others)] == others and set(last[len(others):]) == set(priorities)
        again, joined_in_plan_order = lay_out("plan")  # every setting known now: laid out in plan order
        assert again == planned
        assert len(document.pages) == len(joined_in_plan_order.pages) == settings.page_count
        assert [page_text(page) for page in document.pages] == [page_text(page) for page in joined_in_plan_order.pages]
        assert "Also, Indeed," in page_text(document.pages[6])  # priority 2's page
    finally:
        renderer.close()


def page_text(page) -> str:
    """The text of a laid-out page, box by box."""
    from weasyprint.formatting_structure.boxes import TextBox

    return " ".join(box.text for box in page._page_box.descendants() if isinstance(box, TextBox))


def test_the_step_a_run_takes_alone_is_known_from_one_trial_when_it_fits_the_largest(project):
    """A kind that shares its step (share.py) needs of each run only the step it would take alone.
    When the search's first trial (the largest step, frames at their smallest) fits and fills the
    page, that is the step, and the trials that would grow the frames are not run; otherwise the
    run's own search says. Either way the full search agrees, and the step is remembered."""
    settings, (edition,) = load_content(project, ["en"])
    environment = make_environment(project, settings.layouts)
    out = project / "build" / "en"
    renderer = Renderer(project)

    def fitter_and_run():
        _, (edition,) = load_content(project, ["en"])
        images = prepare_images(project, settings, "screen", [figure.spec for figure in edition.figures.values()])
        fitter = Fitter(project, edition, lambda run, css: renderer.render(
            render_html(environment, edition, "screen", project, out, images, run, css), out / "fit.html", "en"),
            layout_digest(project, edition), "en screen")
        return fitter, next(run for run in fittable(edition) if run[0].spec.id == "priority-2")

    try:
        largest = settings.kinds["priority"].fit.steps - 1
        fitter, run = fitter_and_run()
        assert fitter.own_step(run) == largest and fitter.trials_run == 1
        assert fitter.own_choice(run).step == largest and fitter.trials_run > 1  # the full search agrees
        again, run = fitter_and_run()
        assert again.own_step(run, search=False) == largest and again.trials_run == 0  # remembered

        edit_section(project, "en", "priority-2", lambda words: words.update(body=words["body"] + words["body"][-1:]))
        fitter, run = fitter_and_run()
        step = fitter.own_step(run)
        searched = fitter.trials_run
        assert step < largest and searched > 1
        assert fitter.own_choice(run).step == step and fitter.trials_run == searched  # that search was the run's own
    finally:
        renderer.close()
