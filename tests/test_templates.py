"""Layouts are design, not code: templates render in a sandbox. The classic ways out of Jinja2
to Python's object graph (and from there to files and commands) are refused with the template's
file and line, in the build and in the preview; the committed layouts render as before (their
pages are compared with the snapshots by test_visual.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from brochure_build.cli import main
from brochure_build.errors import BuildError
from brochure_build.preview.live import Pending, Preview
from brochure_build.render.templating import make_environment, render_html
from brochure_build.source.content import load_content

CLOSING = "layouts/pages/closing.html.j2"


def add_line(root: Path, line: str, template: str = CLOSING) -> int:
    """Insert `line` after the template's first line; returns its line number (2)."""
    path = root / template
    first, rest = path.read_text(encoding="utf-8").split("\n", 1)
    path.write_text(f"{first}\n{line}\n{rest}", encoding="utf-8")
    return 2


def render(root: Path) -> str:
    """The English screen HTML, as the build makes it (photos stand in as any file: no image is read)."""
    settings, (edition,) = load_content(root, ["en"])
    images = dict.fromkeys(settings.figures, root / "assets" / "photos" / "none.jpg")
    return render_html(make_environment(root), edition, "screen", root, root / "build" / "en", images)


def marker_command(marker: Path) -> str:
    return f"touch {marker}"


# Each: a line a hostile layout adds, and what the build says of it (after `layouts/pages/closing.html.j2:2: `).
ESCAPES = {
    # The issue's: a shell command through the globals of Jinja2's own helpers.
    "cycler": ("{{ cycler.__init__.__globals__.os.popen('COMMAND').read() }}", "unsafe access to `__init__` is not allowed in a layout"),
    "joiner": ("{{ joiner.__init__.__globals__.os.popen('COMMAND').read() }}", "unsafe access to `__init__` is not allowed in a layout"),
    "namespace": ("{{ namespace.__init__.__globals__.os.popen('COMMAND').read() }}",
                  "unsafe access to `__init__` is not allowed in a layout"),
    # lipsum is not offered at all (made-up words have no place in a brochure).
    "lipsum": ("{{ lipsum.__globals__['os'].popen('COMMAND').read() }}", "template error: 'lipsum' is undefined"),
    "template reference": ("{{ self._TemplateReference__context.cycler.__init__.__globals__.os.popen('COMMAND').read() }}",
                           "unsafe access to `_TemplateReference__context` is not allowed in a layout"),
    # Flask's `request`, `config`, `url_for`: no such globals here.
    "request": ("{{ request.application.__globals__.__builtins__.__import__('os').popen('COMMAND').read() }}",
                "template error: 'request' is undefined"),
    "config": ("{{ config.__class__.__init__.__globals__['os'].popen('COMMAND').read() }}", "template error: 'config' is undefined"),
    "mro": ("{% for c in ''.__class__.__mro__[1].__subclasses__() %}{% if c.__name__ == 'Popen' %}"
            "{{ c('COMMAND', shell=True) }}{% endif %}{% endfor %}", "unsafe access to `__class__` is not allowed in a layout"),
    "attr filter": ("{{ (css_href|attr('__globals__'))['os'].popen('COMMAND').read() }}",
                    "unsafe access to `__globals__` is not allowed in a layout"),
    "attr filter, underscores escaped": ("{{ (cycler|attr('\\x5f\\x5finit\\x5f\\x5f')|attr('\\x5f\\x5fglobals\\x5f\\x5f')).os }}",
                                         "unsafe access to `__init__` is not allowed in a layout"),
    "str.format": ("{{ '{0.__class__.__init__.__globals__}'.format(cycler) }}", "unsafe access to `__class__` is not allowed in a layout"),
    "str.format_map": ("{{ '{c.__init__.__globals__}'.format_map({'c': cycler}) }}",
                       "unsafe access to `__init__` is not allowed in a layout"),
    "%-format": ("{{ '%s' % edition.text_file.read_text() }}", "unsafe access to `text_file` is not allowed in a layout"),
    "format filter": ("{{ '%s'|format(cycler.__init__) }}", "unsafe access to `__init__` is not allowed in a layout"),
    # A path reads and writes files: the content's own file path is not given to layouts.
    "a path": ("{{ edition.text_file.parent.parent.joinpath('x').write_text('COMMAND') }}",
               "unsafe access to `text_file` is not allowed in a layout"),
    "a function's globals": ("{{ image_href.__globals__['os'].system('COMMAND') }}",
                             "unsafe access to `__globals__` is not allowed in a layout"),
    "a method's function": ("{{ edition.section.__func__.__globals__['os'].system('COMMAND') }}",
                            "unsafe access to `__func__` is not allowed in a layout"),
    "a dict changed": ("{{ edition.settings.figures.clear() }}", "unsafe access to `clear` is not allowed in a layout"),
}


@pytest.mark.parametrize("name", list(ESCAPES))
def test_a_way_out_of_the_sandbox_is_refused_naming_the_template_and_line(project, tmp_path, name):
    marker = tmp_path / "ran"
    line, message = ESCAPES[name]
    number = add_line(project, line.replace("COMMAND", marker_command(marker)))
    with pytest.raises(BuildError) as refused:
        render(project)
    assert str(refused.value) == f"{CLOSING}:{number}: {message}"
    assert not marker.exists()


def test_an_included_template_is_named_with_its_own_line(project):
    # A partial beside base.html.j2: pages/ holds page kinds, each with its declaration.
    (project / "layouts/extra.html.j2").write_text("<p>fine</p>\n<p>{{ ''.__class__ }}</p>\n", encoding="utf-8")
    number = add_line(project, '{% include "extra.html.j2" %}')
    assert number == 2
    with pytest.raises(BuildError) as refused:
        render(project)
    assert str(refused.value) == "layouts/extra.html.j2:2: unsafe access to `__class__` is not allowed in a layout"


def test_what_layouts_use_still_works(project):
    """Loops, macros, namespaces, filters, string methods, the content's values and the helpers."""
    add_line(project, "{% macro m(x) %}[{{ x|upper }}]{% endmacro %}{% set ns = namespace(n=0) %}"
                      "{% for s in edition.sections %}{% set ns.n = ns.n + loop.index %}{% endfor %}"
                      "{{ m(edition.language.code) }} {{ ns.n }} {{ edition.section('closing').spec.first_page }} "
                      "{{ '{0}-{1}'.format(variant, edition.meta.keywords|length) }} {{ '%s/%d'|format('a', 3) }} "
                      "{{ range(3)|join(',') }} {{ dict(a=1)|tojson }} {{ css_href('css/base.css') }}")
    html = render(project)
    assert "\n[EN] 66 10 screen-5 a/3 0,1,2 {\"a\": 1} ../../layouts/css/base.css\n" in html


def test_the_build_refuses_it_and_keeps_the_last_good_pdfs(project, tmp_path, capsys):
    marker = tmp_path / "ran"
    number = add_line(project, "{{ cycler.__init__.__globals__.os.popen('" + marker_command(marker) + "').read() }}")
    status = main(["build", "--root", str(project), "--lang", "en"])
    captured = capsys.readouterr()
    assert (status, captured.err) == (1, f"{CLOSING}:{number}: unsafe access to `__init__` is not allowed in a layout\nAborted.\n")
    assert not marker.exists()
    # The leaflet, which does not use the broken template, builds; the brochure leaves no PDF.
    assert sorted(path.name for path in (project / "build").rglob("*.pdf")
                  if "-leaflet-" not in path.name and ".cache" not in path.parts) == []


def test_the_preview_shows_it_in_its_banner(project, tmp_path):
    marker = tmp_path / "ran"
    number = add_line(project, "{{ cycler.__init__.__globals__.os.popen('" + marker_command(marker) + "').read() }}")
    preview = Preview(project, "en", parallel=False)
    try:
        preview.render("en", Pending())
        assert preview.view("en").error == f"{CLOSING}:{number}: unsafe access to `__init__` is not allowed in a layout"
        assert preview.status("en")["state"] == "error"
    finally:
        preview.stop()
    assert not marker.exists()


@pytest.mark.parametrize(("heading", "held"), [
    ("Protecting and promoting the rights of the child", "Protecting and promoting the rights of the \u2060child"),
    ("Commitments and responsibilities for the 2022–2024 term",
     "Commitments and responsibilities for the 2022–\u20602024 \u2060term"),  # nor broken at the range's dash
    ("Engagements et responsabilités pour le mandat 2022–2024",
     "Engagements et responsabilités pour le mandat \u20602022–\u20602024"),
    ("التنمية المستدامة والعمل المناخي القائمان على حقوق الإنسان",
     "التنمية المستدامة والعمل المناخي القائمان على حقوق \u2060الإنسان"),
    ("Gender equality", "Gender equality"),                               # too short to end on a runt
    ("Four priorities for all", "Four priorities for \u2060all"),
    ("Pages 10-12 of the plan", "Pages 10-\u206012 of the \u2060plan"),
    # No spaces (Chinese): the last two characters held, the closing punctuation with them.
    ("卢森堡人权行动的四个优先事项", "卢森堡人权行动的四个优先事\u2060项"),
    ("发展和鼓励对所有人人权及基本自由的尊重。", "发展和鼓励对所有人人权及基本自由的尊\u2060重。"),
    ("2022-2024任期的承诺和责任", "2022-\u20602024任期的承诺和责\u2060任"),
    ("人权", "人权"),                                                     # nothing before them to hold them from
    ("Contents", "Contents"),                                           # one word of a spaced script
])
def test_no_runt_holds_a_headings_last_two_words_together(heading, held):
    from brochure_build.render.templating import no_runt

    assert no_runt(heading) == held


@pytest.mark.parametrize("code", ["en", "fr", "ar"])
def test_headings_end_on_two_words_on_the_page(project, code):
    """The layouts' headings go through no_runt: in the laid-out English, French and Arabic
    editions, no heading set on several lines ends on a line of one word, and none breaks a
    range of years at its dash."""
    from weasyprint.formatting_structure.boxes import LineBox, TextBox

    from brochure_build.render.images import prepare_images
    from brochure_build.render.pdf import Renderer

    settings, (edition,) = load_content(project, [code])
    images = prepare_images(project, settings, "screen", [figure.spec for figure in edition.figures.values()])
    html = render_html(make_environment(project), edition, "screen", project, project / "build" / code, images)
    renderer = Renderer(project)
    try:
        document = renderer.render(html, project / "build" / code / "check.html", f"{code} screen")
    finally:
        renderer.close()
    set_on_lines = []
    for page in document.pages:
        for box in page._page_box.descendants():
            if getattr(box, "element_tag", None) in ("h1", "h2", "h3") and hasattr(box, "children"):
                lines = ["".join(t.text for t in line.descendants() if isinstance(t, TextBox)).strip()
                         for line in box.descendants() if isinstance(line, LineBox)]
                lines = [line for line in lines if line]
                if len(lines) > 1:
                    set_on_lines.append(lines)
    assert len(set_on_lines) >= 5  # several headings take two lines or more
    assert all(len(lines[-1].split()) >= 2 for lines in set_on_lines), set_on_lines
    assert not [lines for lines in set_on_lines if any(re.search(r"\d[–-]\u2060?$", line) for line in lines)]


def test_hold_ranges_holds_a_range_of_numbers_at_its_dash():
    from brochure_build.render.templating import hold_ranges

    assert hold_ranges("le mandat 2022–2024, et 2018-2023") == "le mandat 2022–\u20602024, et 2018-\u20602023"
    assert hold_ranges("COVID-19, pro-démocratie, 1325 (2000)") == "COVID-19, pro-démocratie, 1325 (2000)"


def test_a_laid_out_fragment_with_a_held_range_is_named_by_its_block(project):
    """Messages name the block a laid-out text comes from; the layouts' joiners are not in the file."""
    from brochure_build.render.layoutcheck import block_of

    _, (edition,) = load_content(project, ["en"])
    assert block_of(edition, "Council during the 2022–\u20602024 term").endswith(": sections.closing.body[0]")


@pytest.mark.parametrize("code", ["zh", "en"])
def test_pledges_contributions_and_chinese_paragraphs_hold_their_last_words(project, code):
    """The layouts hold the last two words of every pledge and contribution (no_runt: the boxes are
    set ragged) and the last two characters of every Chinese paragraph (hold_last_characters);
    justified paragraphs of spaced scripts keep their last words free (README, Headings without
    a runt). How a held pair is laid out: test_headings_end_on_two_words_on_the_page."""
    import lxml.html

    from brochure_build.render.images import prepare_images

    settings, (edition,) = load_content(project, [code])
    images = prepare_images(project, settings, "screen", [figure.spec for figure in edition.figures.values()])
    page = lxml.html.fromstring(render_html(make_environment(project), edition, "screen", project, project / "build" / code, images))
    box = 'contains(concat(" ", normalize-space(@class), " "), " box ")'
    boxed = [element.text_content().strip() for element in page.xpath(f"//*[{box}]//p | //*[{box}]//li")]
    # The running text's paragraphs: no class of their own (not the cover's title), not the pull quote's.
    paragraphs = [element.text_content().strip()
                  for element in page.xpath(f"//p[not(@class)][not(ancestor::blockquote)][not(ancestor::*[{box}])]")]
    assert len(boxed) >= 12 and len(paragraphs) >= 12
    joined = "\u2060"
    if code == "zh":
        assert all(joined in text[-4:] for text in boxed + paragraphs if len(text) > 3), \
            [text for text in boxed + paragraphs if joined not in text[-4:]]
    else:
        assert all(f" {joined}" in text for text in boxed), [text for text in boxed if f" {joined}" not in text]
        assert not any(f" {joined}" in text for text in paragraphs), [text for text in paragraphs if f" {joined}" in text]
