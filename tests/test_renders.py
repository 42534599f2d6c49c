"""The build's renders (Renderer.render_remembering): each line broken once, through the
renderer's line-break memo (render/linebreaks.py), and the PDF the one WeasyPrint writes without it."""

from __future__ import annotations

from brochure_build.render.pdf import Renderer

WORDS = ("Luxembourg supports the universal periodic review, the special procedures and the treaty bodies, "
         "and works with civil society and national human rights institutions. ") * 12
STYLESHEETS = ("tokens.css", "fonts.css", "languages.css")
PAGE = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>t</title>
<style>@page {{ size: 120mm 160mm; margin: 10mm }} .text {{ columns: 2; column-fill: balance; hyphens: auto }}</style>
</head><body class="lang-en"><div class="text"><p>{WORDS}</p><p>{WORDS[:400]}</p></div></body></html>"""


def test_a_render_through_the_line_memo_writes_the_same_pdf(project):
    base = project / "build" / "t.html"
    sheets = [project / "layouts" / "css" / name for name in STYLESHEETS]
    renderer = Renderer(project)
    try:
        first = renderer.render_remembering(PAGE, base, "en test", None, sheets)
        memo = renderer.line_breaks()
        assert memo.calls > memo.broken > 0  # column balancing breaks the same lines again
        # The next render breaks none anew: its stylesheets, reused, still declare their font faces
        # (pdf.ParsedStylesheets), so the memo knows its answers hold.
        second = renderer.render_remembering(PAGE, base, "en test", None, sheets)
        assert memo.broken == 0 and memo.calls > 0
        expected = renderer.render(PAGE, base, "en test", None, sheets).write_pdf()  # no memo
        assert first.write_pdf() == expected
        assert second.write_pdf() == expected
    finally:
        renderer.close()
