"""The layouts' stylesheets are parsed once per process and content (render/pdf.py
ParsedStylesheets): the same pages as when the HTML links them, a saved change seen at once, and a
CSS mistake reported on every render."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from brochure_build.errors import BuildError
from brochure_build.render.images import prepare_images
from brochure_build.render.pdf import Renderer
from brochure_build.render.templating import STYLESHEETS, make_environment, render_html, unlinked_stylesheets
from brochure_build.source.content import load_content


def render(project, renderer: Renderer, unlinked: bool) -> bytes:
    """The English edition's screen pages 5 to 7 (the opener and two priorities) as PDF bytes."""
    settings, (edition,) = load_content(project, ["en"])
    images = prepare_images(project, settings, "screen", [figure.spec for figure in edition.figures.values()])
    sheets = unlinked_stylesheets(project, settings) if unlinked else ()
    run = tuple(section for section in edition.sections if 5 <= section.spec.first_page <= 7)
    out = project / "build" / "en"
    html = render_html(make_environment(project, settings.layouts), edition, "screen", project, out, images, run,
                       unlinked=sheets)
    assert ("tokens.css" in html) == (not unlinked)
    document = renderer.render(html, out / "part.html", "en screen", None, sheets)
    target = io.BytesIO()
    document.write_pdf(target)
    return target.getvalue()


def text_of(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_parsed_stylesheets_give_the_pages_the_linked_ones_give_and_are_parsed_once(project):
    renderer = Renderer(project)
    try:
        linked = render(project, renderer, unlinked=False)
        first = render(project, renderer, unlinked=True)
        assert renderer.stylesheets.parsed == len(STYLESHEETS)
        second = render(project, renderer, unlinked=True)
        assert renderer.stylesheets.parsed == len(STYLESHEETS)  # nothing parsed again
    finally:
        renderer.close()
    assert linked == first == second


def test_a_saved_stylesheet_is_seen_on_the_next_render(project):
    renderer = Renderer(project)
    base = project / "layouts" / "css" / "base.css"
    try:
        before = render(project, renderer, unlinked=True)
        base.write_text(base.read_text(encoding="utf-8") + '\nh2::before { content: "QZXW "; }\n', encoding="utf-8")
        after = render(project, renderer, unlinked=True)
    finally:
        renderer.close()
    assert "QZXW" not in text_of(before) and "QZXW" in text_of(after)
    assert renderer.stylesheets.parsed == len(STYLESHEETS) + 1  # the saved file only


def test_a_stylesheet_mistake_fails_every_render_not_only_the_first(project):
    tokens = project / "layouts" / "css" / "tokens.css"
    tokens.write_text(tokens.read_text(encoding="utf-8").replace("--color-ink:", "colour: red;\n  --color-ink:", 1),
                      encoding="utf-8")
    renderer = Renderer(project)
    try:
        for _ in range(2):
            with pytest.raises(BuildError) as error:
                render(project, renderer, unlinked=True)
            assert "en screen: WeasyPrint: Ignored `colour: red`" in str(error.value)
            assert "unknown property" in str(error.value)
    finally:
        renderer.close()


def test_a_stylesheet_with_important_or_import_stays_linked(project):
    settings, _ = load_content(project, ["en"])
    assert len(unlinked_stylesheets(project, settings)) == len(STYLESHEETS)
    pages = project / "layouts" / "css" / "pages.css"
    text = pages.read_text(encoding="utf-8")
    # A user-origin !important would outrank the HTML's own <style> (the copy-fit settings).
    pages.write_text(text + "\n.cover { color: black !important; }\n", encoding="utf-8")
    assert unlinked_stylesheets(project, settings) == ()
    pages.write_text('@import "extra.css";\n' + text, encoding="utf-8")
    assert unlinked_stylesheets(project, settings) == ()
