"""The three files per edition: PDF/X-4 print, PDF/UA-1 screen, imposed sheets; read back with
pypdf, pypdfium2 and qpdf."""

from __future__ import annotations

import re
import shutil
import subprocess

import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader

from brochure_build.build import build
from brochure_build.errors import BuildError
from brochure_build.press.impose import sheet_order
from brochure_build.review.filechecks import structure_elements
from brochure_build.review.pdfinspect import image_placements, objects_naming, rgb_operators
from brochure_build.source.content import load_content
from conftest import copy_project, pdf_path
from helpers import normalize

LANGUAGES = ["zh", "en", "fr", "es", "ru", "ar"]
VARIANTS = ["print", "screen", "imposed"]
MM = 72 / 25.4


def xmp(reader: PdfReader) -> str:
    return reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()


def rect_mm(box) -> tuple[float, ...]:
    return tuple(round(float(v) / MM, 1) for v in box)


@pytest.mark.parametrize("code", LANGUAGES)
def test_print_is_pdf_x4_with_the_fogra39_output_intent(built_project, code):
    pdf = pdf_path(built_project, code, "print")
    assert pdf.read_bytes()[:8] == b"%PDF-1.6"  # PDF/X-4 is based on PDF 1.6
    reader = PdfReader(pdf)
    intents = reader.trailer["/Root"]["/OutputIntents"]
    assert len(intents) == 1
    intent = intents[0].get_object()
    assert intent["/S"] == "/GTS_PDFX"
    assert intent["/OutputConditionIdentifier"] == "FOGRA39"
    assert intent["/RegistryName"] == "http://www.color.org"
    profile = intent["/DestOutputProfile"].get_object()
    assert profile["/N"] == 4
    assert profile.get_data() == (built_project / "assets/color/FOGRA39L-coated.icc").read_bytes()
    assert "<pdfxid:GTS_PDFXVersion>PDF/X-4</pdfxid:GTS_PDFXVersion>" in xmp(reader)
    assert reader.metadata["/Trapped"] == "/False"
    assert reader.metadata["/Title"]


@pytest.mark.parametrize("code", LANGUAGES)
def test_print_boxes_on_every_page(built_project, code):
    reader = PdfReader(pdf_path(built_project, code, "print"))
    assert len(reader.pages) == 12
    for page in reader.pages:
        assert rect_mm(page.trimbox) == (0, 0, 210, 297)
        assert rect_mm(page.bleedbox) == (-3, -3, 213, 300)
        assert rect_mm(page.mediabox) == rect_mm(page.bleedbox)


@pytest.mark.parametrize("code", LANGUAGES)
def test_print_has_no_rgb_anywhere(built_project, code):
    for variant in ("print", "imposed"):
        pdf = pdf_path(built_project, code, variant)
        assert objects_naming(pdf, "/DeviceRGB") == [], variant
        assert objects_naming(pdf, "/CalRGB") == [], variant
        assert rgb_operators(pdf) == 0, variant
        placements = image_placements(pdf)
        assert placements and {p.colour_space for p in placements} == {"/DeviceCMYK"}, variant


def test_print_photos_keep_at_least_300_ppi_and_screen_photos_are_150(built_project):
    print_ppi = [p.ppi for p in image_placements(pdf_path(built_project, "en", "print"))]
    screen = image_placements(pdf_path(built_project, "en", "screen"))
    assert len(print_ppi) == len(screen) == 7
    assert min(print_ppi) >= 299
    assert all(148 <= p.ppi <= 152 for p in screen), [round(p.ppi) for p in screen]
    assert {p.colour_space for p in screen} == {"/DeviceRGB"}


@pytest.mark.parametrize("code", LANGUAGES)
def test_fonts_are_embedded_and_subset(built_project, code):
    for variant in ("print", "screen"):
        reader = PdfReader(pdf_path(built_project, code, variant))
        fonts = reader.pages[0]["/Resources"]["/Font"]
        for font in fonts.values():
            font = font.get_object()
            assert re.match(r"/[A-Z]{6}\+", str(font["/BaseFont"])), font["/BaseFont"]
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            assert "/FontFile2" in descriptor or "/FontFile3" in descriptor


@pytest.mark.parametrize("code", LANGUAGES)
def test_screen_is_tagged_pdf_ua_with_language_title_and_metadata(built_project, code):
    settings, (edition,) = load_content(built_project, [code])
    pdf = pdf_path(built_project, code, "screen")
    reader = PdfReader(pdf)
    root = reader.trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"] is True or root["/MarkInfo"]["/Marked"] == True  # noqa: E712
    assert "/StructTreeRoot" in root
    assert root["/Lang"] == edition.language.tag
    assert root["/ViewerPreferences"]["/DisplayDocTitle"] is True or root["/ViewerPreferences"]["/DisplayDocTitle"] == True  # noqa: E712
    info = reader.metadata
    assert info["/Title"] == edition.meta.title
    assert info["/Author"] == edition.meta.author
    assert info["/Subject"] == edition.meta.subject
    assert info["/Keywords"] == ", ".join(edition.meta.keywords)
    metadata = xmp(reader)
    assert 'pdfuaid:part="1"' in metadata
    assert f"<rdf:li>{edition.language.tag}</rdf:li>" in metadata  # dc:language
    assert pdf.stat().st_size < 2_000_000


@pytest.mark.parametrize("code", LANGUAGES)
def test_every_photo_carries_its_alt_text_in_reading_order(built_project, code):
    settings, (edition,) = load_content(built_project, [code])
    reader = PdfReader(pdf_path(built_project, code, "screen"))
    alts = [str(figure["/Alt"]) for figure in structure_elements(reader, "/Figure")]
    expected = [figure.alt for section in edition.sections for figure in section.figures]
    assert alts == expected


@pytest.mark.parametrize("code", LANGUAGES)
def test_bookmarks_one_per_section_in_page_order(built_project, code):
    settings, (edition,) = load_content(built_project, [code])
    reader = PdfReader(pdf_path(built_project, code, "screen"))
    outline = reader.outline
    assert all(not isinstance(item, list) for item in outline), "the outline is flat"
    titles = [item.title for item in outline]
    expected = [edition.meta.title] + [section["heading"] for section in edition.sections if section.words.get("heading")]
    assert [normalize(t) for t in titles] == [normalize(t) for t in expected]
    # Plain text: what no_runt sets in a heading to steer its line breaks is not in its bookmark.
    print_titles = [item.title for item in PdfReader(pdf_path(built_project, code, "print")).outline]
    assert print_titles == titles and not [t for t in titles if "\u2060" in t or "\u00a0" in t]
    pages = [reader.get_destination_page_number(item) + 1 for item in outline]
    assert pages == sorted(pages)
    # The headings' structure elements follow the pages too (the reading order, Arabic included).
    heading_pages = [reader.get_page_number(h["/Pg"].get_object()) for h in structure_elements(reader, "/H2") if "/Pg" in h]
    assert heading_pages == sorted(heading_pages) and len(heading_pages) >= 9


def test_sheet_order_for_saddle_stitching():
    assert sheet_order(12) == [(12, 1), (2, 11), (10, 3), (4, 9), (8, 5), (6, 7)]
    assert sheet_order(12, right_to_left=True) == [(1, 12), (11, 2), (3, 10), (9, 4), (5, 8), (7, 6)]
    with pytest.raises(BuildError, match="saddle stitching needs a multiple of 4 pages; the print file has 10"):
        sheet_order(10)


def clean(text: str) -> str:
    # pdfium marks a hyphenation point as U+FFFE in one extraction and drops it in the other.
    return normalize(text.replace("\ufffe", "").replace("\x02", ""))


def half_texts(pdf, sheet: int, trim_width_pt: float) -> tuple[str, str]:
    """Text of the left and right page of an imposed sheet side, read by position."""
    page = pdfium.PdfDocument(str(pdf))[sheet]
    reader_page = PdfReader(pdf).pages[sheet]
    trim = reader_page.trimbox
    text = page.get_textpage()
    left = text.get_text_bounded(float(trim.left), float(trim.bottom), float(trim.left) + trim_width_pt, float(trim.top))
    right = text.get_text_bounded(float(trim.left) + trim_width_pt, float(trim.bottom), float(trim.right), float(trim.top))
    return clean(left), clean(right)


@pytest.mark.parametrize("code", ["en", "ar"])
def test_imposed_sheets_carry_the_pages_in_saddle_stitch_order(built_project, code):
    print_pdf = pdf_path(built_project, code, "print")
    imposed = pdf_path(built_project, code, "imposed")
    page_text = [clean(p.get_textpage().get_text_range()) for p in pdfium.PdfDocument(str(print_pdf))]
    reader = PdfReader(imposed)
    assert len(reader.pages) == 6
    for side, (left, right) in enumerate(sheet_order(12, right_to_left=(code == "ar"))):
        got_left, got_right = half_texts(imposed, side, 210 * MM)
        assert got_left == page_text[left - 1], (side, left)
        assert got_right == page_text[right - 1], (side, right)
        page = reader.pages[side]
        assert rect_mm(page.trimbox)[2] - rect_mm(page.trimbox)[0] == 420
        assert rect_mm(page.bleedbox) == tuple(v + d for v, d in zip(rect_mm(page.trimbox), (-3, -3, 3, 3), strict=True))
        assert (round(float(page.mediabox.width) / MM), round(float(page.mediabox.height) / MM)) == (500, 350)
    assert reader.trailer["/Root"]["/OutputIntents"][0].get_object()["/OutputConditionIdentifier"] == "FOGRA39"


def test_imposed_marks_are_in_the_registration_colour_outside_the_bleed(built_project):
    reader = PdfReader(pdf_path(built_project, "en", "imposed"))
    page = reader.pages[0]
    space = page["/Resources"]["/ColorSpace"]["/Reg"].get_object()
    assert [str(space[0]), str(space[1]), str(space[2])] == ["/Separation", "/All", "/DeviceCMYK"]
    content = page.get_contents().get_data().decode()
    marks = content[content.index("/Reg CS"):]
    marks = marks[:marks.index("Q")]  # the crop and fold marks; targets and strip follow
    bleed = page.bleedbox
    points = [tuple(map(float, m)) for m in re.findall(r"([\d.]+) ([\d.]+) [ml]", marks)]
    assert len(points) == 20
    for x, y in points:
        outside = x < float(bleed.left) or x > float(bleed.right) or y < float(bleed.bottom) or y > float(bleed.top)
        assert outside, (x, y)


@pytest.mark.skipif(shutil.which("qpdf") is None, reason="qpdf is installed by make's system dependencies")
def test_qpdf_finds_every_file_clean(built_project):
    for code in LANGUAGES:
        for variant in VARIANTS:
            result = subprocess.run(["qpdf", "--check", str(pdf_path(built_project, code, variant))], capture_output=True, text=True)
            assert result.returncode == 0 and "No syntax or stream encoding errors" in result.stdout, (code, variant, result.stdout)


def test_two_builds_in_two_folders_give_identical_bytes_for_every_variant(project, tmp_path):
    build(project, ["en"])
    elsewhere = copy_project(tmp_path / "another" / "checkout")
    build(elsewhere, ["en"])
    for variant in VARIANTS:
        assert pdf_path(elsewhere, "en", variant).read_bytes() == pdf_path(project, "en", variant).read_bytes(), variant
    reader = PdfReader(pdf_path(project, "en", "print"))
    assert reader.metadata["/CreationDate"] == reader.metadata["/ModDate"] == "D:20201102"
    assert re.search(r"<xmpMM:DocumentID>xmp\.did:[0-9a-f-]{36}</xmpMM:DocumentID>", xmp(reader))


def test_source_date_epoch_dates_the_files(project, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1609459200")  # 2021-01-01T00:00:00Z
    build(project, ["en"])
    for variant in ("print", "screen"):
        assert PdfReader(pdf_path(project, "en", variant)).metadata["/CreationDate"].startswith("D:20210101000000")
