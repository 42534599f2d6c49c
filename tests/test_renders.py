"""The build's renders (Renderer.render_remembering): each line broken once, through the
renderer's line-break memo (render/linebreaks.py), and the PDF the one WeasyPrint writes without it."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from brochure_build.render.pdf import Renderer
from conftest import pdf_path

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


CJK_PAGE = """<!DOCTYPE html>
<html lang="zh"><head><meta charset="utf-8"><title>t</title><style>@page { size: 120mm 160mm; margin: 10mm }</style>
</head><body><p style="font-family: 'Brochure Sans CJK'">卢森堡支持普遍定期审议、特别程序和条约机构。</p>
<p style="font-family: 'Brochure Serif CJK'; font-weight: 700">卢森堡竞选人权理事会成员。</p></body></html>"""


def test_each_whole_font_is_read_once_per_process_and_the_pdf_is_the_same(project, monkeypatch, tmp_path):
    """WeasyPrint reads a font's whole face anew for every PDF it writes (16-25 MB per CJK face);
    the renderer reads it once (fontsubsets.SubsetCache.whole_face), and the PDF is unchanged."""
    from weasyprint.pdf import fonts as pdf_fonts

    read = pdf_fonts.get_hb_object_data
    reads: list[int] = []
    monkeypatch.setattr(pdf_fonts, "get_hb_object_data", lambda hb_object, *more: reads.append(len(more)) or read(hb_object, *more))
    base = project / "build" / "t.html"
    sheets = [project / "layouts" / "css" / "fonts.css"]
    renderer = Renderer(project)
    try:
        # Plain WeasyPrint: each face read, and each subset read back. (A document keeps its fonts:
        # each PDF below is of a document of its own, as each preview unit and each build variant is.)
        expected = renderer.render(CJK_PAGE, base, "zh test", None, sheets).write_pdf()
        assert len(reads) == 4
        reads.clear()
        written = []
        for number in range(3):
            document = renderer.render(CJK_PAGE, base, "zh test", None, sheets)
            renderer.write_preview(document, tmp_path / f"{number}.pdf", "zh test")
            written.append((tmp_path / f"{number}.pdf").read_bytes())
        # The two whole faces once (else six times); the two subsets the first PDF made, read back
        # (the next PDFs take them from the disk cache).
        assert len(reads) == 4
        assert len(renderer.subsets.faces) == 2 and renderer.subsets.face_bytes > 30_000_000
        assert written[0] == written[1] == written[2]
        assert font_bytes(written[0]) == font_bytes(expected)
    finally:
        renderer.close()


def font_bytes(pdf: bytes) -> list[bytes]:
    """The embedded font programs of a PDF, in page order."""
    reader = PdfReader(io.BytesIO(pdf))
    programs = []
    for font in reader.pages[0]["/Resources"]["/Font"].values():
        font = font.get_object()
        descriptor = (font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font)["/FontDescriptor"]
        programs.append(next(descriptor[key].get_object().get_data() for key in ("/FontFile", "/FontFile2", "/FontFile3")
                             if key in descriptor))
    return sorted(programs)


BOXES = """<div class="box" style="break-inside: avoid; border: 1pt solid; padding: 2mm">{}</div>"""
COLUMN_PAGES = {
    # Paragraphs, then two boxes that do not break: the tries creep up by a few px at a time.
    "boxes": f"<p>{WORDS[:700]}</p><p>{WORDS[:500]}</p>" + BOXES.format(WORDS[:420]) + BOXES.format(WORDS[:300]),
    # A float in the columns: laid out within the column (its own block formatting context).
    "float": f"<p><span style='float: left; width: 20mm; height: 12mm; background: #ccc'></span>{WORDS[:700]}</p>"
             f"<p>{WORDS[:500]}</p>" + BOXES.format(WORDS[:420]) + BOXES.format(WORDS[:300]),
    # A footnote in the columns: the column holding it leaves a trace in the layout context (it is
    # laid out each time, never answered); the columns after it are answered.
    "footnote": f"<p>{WORDS[:700]}<span style='float: footnote'>A note.</span></p><p>{WORDS[:500]}</p>"
                + BOXES.format(WORDS[:420]) + BOXES.format(WORDS[:300]),
}


def column_page(body: str) -> str:
    return PAGE.replace(f'<div class="text"><p>{WORDS}</p><p>{WORDS[:400]}</p></div>', f'<div class="text">{body}</div>')


def test_column_balancing_through_the_memo_gives_the_pages_weasyprint_gives(project, monkeypatch):
    """Renderer.render answers column-balancing tries from the memo (render/columntrials.py): the
    pages are WeasyPrint's own, byte for byte, with boxes that do not break, a float, a footnote;
    with CHECK, every answer is laid out again and compared, box for box."""
    import weasyprint

    from brochure_build.render import columntrials

    monkeypatch.setattr(columntrials, "CHECK", True)
    base = project / "build" / "t.html"
    sheets = [project / "layouts" / "css" / name for name in STYLESHEETS]
    renderer = Renderer(project)
    try:
        for name, body in COLUMN_PAGES.items():
            html = column_page(body)
            before = dict(columntrials.counts)
            through_memo = renderer.render(html, base, "en test", None, sheets).write_pdf()
            assert columntrials.counts["answered"] > before["answered"], name
            plain = weasyprint.HTML(string=html, base_url=str(base)).render(
                font_config=renderer.font_config, stylesheets=renderer.stylesheets.get(sheets)).write_pdf()
            assert through_memo == plain, name
            if name == "footnote":
                assert "A note." in PdfReader(io.BytesIO(through_memo)).pages[0].extract_text()
    finally:
        renderer.close()


@pytest.mark.parametrize("code", ["es", "fr"])
def test_the_memo_answers_the_balancing_of_an_edition_as_weasyprint_would(built_project, monkeypatch, code):
    """The Spanish and French screen files, whose priority pages take the most tries (the tries
    creep up by a few px while a box does not fit): laid out again from their kept HTML through
    the memo with CHECK (every answer laid out again and compared), the pages are those of plain
    WeasyPrint, pixel for pixel, and the memo answered tries."""
    import weasyprint

    from brochure_build.render import columntrials

    monkeypatch.setattr(columntrials, "CHECK", True)
    html = pdf_path(built_project, code, "screen").with_suffix(".html")
    before = dict(columntrials.counts)
    with columntrials.active():
        through_memo = weasyprint.HTML(filename=html).write_pdf()
    assert columntrials.counts["answered"] - before["answered"] >= 10, code
    plain = weasyprint.HTML(filename=html).write_pdf()
    assert page_bitmaps(through_memo) == page_bitmaps(plain)


def page_bitmaps(pdf: bytes) -> list[bytes]:
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        return [page.render(scale=1).to_pil().tobytes() for page in document]
    finally:
        document.close()


def test_a_print_file_leaves_the_output_profile_and_identifier_to_the_postprocess(project, tmp_path):
    """Renderer.write leaves out what the postprocess stage replaces (pdf.output_profile_left_out):
    the output intent's profile (WeasyPrint's 0.5 MB re-serialisation, compressed at the slowest
    level) and the file identifier (every stream compressed a second time to hash it). A profile
    that is not the output intent is kept. The finished file has the profile file byte for byte
    (tests/test_variants.py) and a content-derived identifier (postprocess.write_with_content_id)."""
    import pikepdf

    icc = "../assets/color/FOGRA39L-coated.icc"  # from build/t.html
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>t</title><style>
      @page {{ size: 120mm 160mm; margin: 10mm; bleed: 3mm }}
      @color-profile device-cmyk {{ src: url("{icc}"); components: cyan, magenta, yellow, black; }}
      @color-profile --proof {{ src: url("{icc}"); components: cyan, magenta, yellow, black; }}
      p {{ font-family: "Brochure Sans"; color: device-cmyk(0 0.6 1 0); background: color(--proof 0.1 0 0 0) }}
    </style></head><body><p>Luxembourg</p></body></html>"""
    renderer = Renderer(project)
    try:
        document = renderer.render(page, project / "build" / "t.html", "en test", None, [project / "layouts/css/fonts.css"])
        renderer.write(document, tmp_path / "print.pdf", "print", "en test")
    finally:
        renderer.close()
    with pikepdf.open(tmp_path / "print.pdf") as written:
        intent = written.Root.OutputIntents[0].DestOutputProfile
        assert intent.read_bytes() == b"" and int(intent.N) == 4
        spaces = {str(name): space for name, space in written.pages[0].Resources.ColorSpace.items()}
        assert spaces["/device-cmyk"][1].objgen == intent.objgen  # one stream: the postprocess's set_data serves both
        assert len(spaces["/--proof"][1].read_bytes()) > 100_000  # not the intent: embedded as WeasyPrint does
        assert "/ID" not in written.trailer
