"""The screen PDFs' structure (PDF/UA-1): what tagging.py repairs, and the rules of uarules.py.

Every rule passes on the built files of every edition, and fails, naming its clause, the page
and the object, on a copy of a built file given the defect it looks for (made with pikepdf).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pikepdf
import pypdfium2
import pytest

from brochure_build.build import build
from brochure_build.review import uarules
from brochure_build.review.filechecks import SCREEN_MAX_BYTES
from brochure_build.review.preflight import preflight
from conftest import pdf_path

LANGUAGES = ("zh", "en", "fr", "es", "ru", "ar")


def rtl_words(pdf: Path) -> list[str]:
    return uarules.rtl_words_of_html(pdf.with_suffix(".html").read_text(encoding="utf-8"))


def structure(pdf: pikepdf.Pdf) -> list:
    """Every structure element reached from the Document, in reading order."""
    found = []

    def walk(element):
        found.append(element)
        for kid in uarules.kids_of(element):
            if uarules.is_element(kid):
                walk(kid)

    walk(uarules.kids_of(pdf.Root.StructTreeRoot)[0])
    return found


def on_page(pdf: pikepdf.Pdf, element, number: int) -> bool:
    return element.get("/Pg") is not None and element.Pg.objgen == pdf.pages[number - 1].obj.objgen


def text_of(pdf_file: Path, number: int) -> str:
    document = pypdfium2.PdfDocument(pdf_file)
    try:
        return document[number - 1].get_textpage().get_text_range()
    finally:
        document.close()


@pytest.fixture()
def defect(built_project, tmp_path):
    """A function that copies a built screen file, lets `change` damage it, and returns the rules' messages."""
    def make(code: str, change) -> list[str]:
        source = pdf_path(built_project, code, "screen")
        copy = tmp_path / source.name
        with pikepdf.open(source) as pdf:
            change(pdf)
            pdf.save(copy)
        shutil.copy(source.with_suffix(".html"), copy.with_suffix(".html"))
        return uarules.check(copy, rtl_words(copy) if code == "ar" else None)
    return make


# --- the built files ----------------------------------------------------------------------------

@pytest.mark.parametrize("code", LANGUAGES)
def test_built_screen_files_pass_every_rule_and_stay_small(built_project, code):
    screen = pdf_path(built_project, code, "screen")
    assert uarules.check(screen, rtl_words(screen) if code == "ar" else None) == []
    assert screen.stat().st_size < SCREEN_MAX_BYTES


def test_divider_has_one_link_per_priority_in_a_link_element_described_by_its_heading(built_project):
    with pikepdf.open(pdf_path(built_project, "en", "screen")) as pdf:
        annotations = list(pdf.pages[4].Annots)
        assert len(annotations) == 4
        assert str(annotations[0].Contents) == "Supporting the rule of law, civic space and human rights defenders, and fighting impunity"
        items = [e for e in structure(pdf) if e.S == "/LI" and on_page(pdf, e, 5)]
        assert [[str(kid.S) for kid in uarules.kids_of(item)] for item in items] == [["/Lbl", "/LBody"]] * 4
        link = uarules.kids_of(uarules.kids_of(items[0])[1])[0]
        assert link.S == "/Link" and uarules.kids_of(link)[0].Type == "/OBJR"


def test_cover_reads_title_first_and_figures_are_boxed_where_drawn(built_project):
    with pikepdf.open(pdf_path(built_project, "en", "screen")) as pdf:
        elements = structure(pdf)
        kinds = [str(e.S) for e in elements if on_page(pdf, e, 1) and e.S in ("/H1", "/Figure", "/Caption")]
        assert kinds == ["/H1", "/Figure", "/Caption"]
        cover = next(e for e in elements if e.S == "/Figure")
        assert [round(float(v)) for v in cover.A.BBox] == [-9, -9, 604, 850]  # full bleed photo, 216 × 303 mm
        assert not any(e.S == "/Caption" and any(k.get("/S") == "/Caption" for k in uarules.kids_of(e) if uarules.is_element(k))
                       for e in elements)


def test_priority_number_is_the_headings_label_and_the_credit_name_has_its_language(built_project):
    with pikepdf.open(pdf_path(built_project, "fr", "screen")) as pdf:
        elements = structure(pdf)
        heading = next(e for e in elements if e.S == "/H2" and on_page(pdf, e, 6))
        assert uarules.kids_of(heading)[0].S == "/Lbl"
        assert [str(e.Lang) for e in elements if "/Lang" in e] == ["lb"]


def test_folios_are_artifacts_and_hyphenated_words_read_whole(built_project):
    screen = pdf_path(built_project, "en", "screen")
    with pikepdf.open(screen) as pdf:
        content = pdf.pages[2].Contents.read_bytes()
        assert b"/Artifact <</Type /Pagination>>" in content or b"/Artifact << /Type /Pagination >>" in content
    text = text_of(screen, 3)
    assert "\u2010\r\n" not in text
    assert "reflected" in uarules.words(text)  # "reflec‐ / ted" at a line end


def test_arabic_extracts_in_logical_order_with_lam_alef_in_order(built_project):
    screen = pdf_path(built_project, "ar", "screen")
    words = uarules.words("\n".join(text_of(screen, n) for n in range(1, 13)))
    assert words.count("الإنسان") >= 19 and "اإلنسان" not in words
    assert "على" in words and "عىل" not in words
    source = rtl_words(screen)
    found = [word for word in source if word in set(words)]
    assert len(found) / len(source) >= 0.99


def test_screen_file_has_an_srgb_output_intent(built_project):
    with pikepdf.open(pdf_path(built_project, "zh", "screen")) as pdf:
        intent = pdf.Root.OutputIntents[0]
        assert str(intent.OutputConditionIdentifier) == "sRGB IEC61966-2.1" and int(intent.DestOutputProfile.N) == 3


def test_two_builds_give_identical_screen_bytes(project):
    build(project, ["ar"])
    screen = pdf_path(project, "ar", "screen")
    first = screen.read_bytes()
    build(project, ["ar"], force=True)
    assert screen.read_bytes() == first


# --- each rule fails on its defect ------------------------------------------------------------

def parent_tree_set(pdf: pikepdf.Pdf, key: int, value) -> None:
    numbers = pdf.Root.StructTreeRoot.ParentTree.Nums
    for i in range(0, len(numbers), 2):
        if int(numbers[i]) == key:
            numbers[i + 1] = value


def first(pdf: pikepdf.Pdf, kind: str, page: int | None = None):
    return next(e for e in structure(pdf) if e.S == kind and (page is None or on_page(pdf, e, page)))


def link_in_span(pdf):
    link = first(pdf, "/Link", 5)
    reference = uarules.kids_of(link)[0]
    span = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructElem, S=pikepdf.Name.Span, P=link, Pg=link.Pg,
                                                K=pikepdf.Array([reference])))
    link.K = pikepdf.Array([span] + uarules.kids_of(link)[1:])
    parent_tree_set(pdf, int(reference.Obj.StructParent), span)


def id_as_contents(pdf):
    annotation = pdf.pages[4].Annots[0]
    annotation.Contents = pikepdf.String(str(annotation.Dest))


def doubled_link(pdf):
    annotation = pdf.pages[4].Annots[0]
    copy = pdf.make_indirect(pikepdf.Dictionary(annotation))
    copy.Rect = pikepdf.Array([float(annotation.Rect[0]), float(annotation.Rect[1]), float(annotation.Rect[0]) + 20,
                               float(annotation.Rect[3])])
    copy.StructParent = 999
    pdf.pages[4].Annots.append(copy)
    parent_tree_set(pdf, int(annotation.StructParent), first(pdf, "/Link", 5))
    pdf.Root.StructTreeRoot.ParentTree.Nums.extend([999, first(pdf, "/Link", 5)])


def section_outside_tree(pdf):
    document = uarules.kids_of(pdf.Root.StructTreeRoot)[0]
    document.K = pikepdf.Array(uarules.kids_of(document)[1:])


def bbox_in_css_pixels(pdf):
    first(pdf, "/Figure", 2).A.BBox = pikepdf.Array([75.6, 75.6, 807.9, 832.9])


def caption_in_caption(pdf):
    caption = first(pdf, "/Caption", 2)
    inner = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructElem, S=pikepdf.Name.Caption, P=caption, Pg=caption.Pg,
                                                 K=caption.K))
    caption.K = pikepdf.Array([inner])


def empty_nonstruct_in_pledge(pdf):
    body = first(pdf, "/LBody", 3)
    empty = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructElem, S=pikepdf.Name.NonStruct, P=body, Pg=body.Pg,
                                                 K=pikepdf.Array()))
    body.K = pikepdf.Array([empty] + uarules.kids_of(body))


def number_without_label(pdf):
    item = first(pdf, "/LI", 5)
    label, body = uarules.kids_of(item)
    item.K = pikepdf.Array([body])
    body.K = pikepdf.Array([label] + uarules.kids_of(body))
    label.S = pikepdf.Name.Span


def paragraph_split_at_a_column(pdf):
    paragraph = next(e for e in structure(pdf) if e.S == "/P" and len(uarules.kids_of(e)) >= 4)
    parent = next(e for e in structure(pdf) if any(uarules.is_element(k) and k.objgen == paragraph.objgen for k in uarules.kids_of(e)))
    kids = uarules.kids_of(paragraph)
    second = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructElem, S=pikepdf.Name.P, P=parent, Pg=paragraph.Pg,
                                                  K=pikepdf.Array(kids[1:])))
    paragraph.K = pikepdf.Array(kids[:1])
    siblings = uarules.kids_of(parent)
    index = next(i for i, k in enumerate(siblings) if uarules.is_element(k) and k.objgen == paragraph.objgen)
    parent.K = pikepdf.Array(siblings[:index + 1] + [second] + siblings[index + 1:])


def hyphens_without_actual_text(pdf):
    page = pdf.pages[2]
    instructions = []
    for operands, operator in pikepdf.parse_content_stream(page):
        if str(operator) == "BDC" and isinstance(operands[1], pikepdf.Dictionary) and "/ActualText" in operands[1]:
            operands = [operands[0], pikepdf.Dictionary(MCID=operands[1].MCID)]
        instructions.append((operands, operator))
    page.Contents = pdf.make_stream(pikepdf.unparse_content_stream(instructions))


def ligatures_without_actual_text(pdf):
    for page in pdf.pages:
        instructions = []
        for operands, operator in pikepdf.parse_content_stream(page):
            if str(operator) == "BDC" and isinstance(operands[1], pikepdf.Dictionary) and "/MCID" not in operands[1]:
                operands = [operands[0], pikepdf.Dictionary()]  # the lam-alef glyph's letters as its ToUnicode has them
            instructions.append((operands, operator))
        page.Contents = pdf.make_stream(pikepdf.unparse_content_stream(instructions))


def bookmarks_swapped(pdf):
    with pdf.open_outline() as outline:
        outline.root[2].destination, outline.root[3].destination = outline.root[3].destination, outline.root[2].destination


def no_output_intent(pdf):
    del pdf.Root.OutputIntents


DEFECTS = [
    ("en", link_in_span, "ISO 14289-1 7.18.5-1 / Matterhorn 28-011: page 5: link annotation", "is a child of Span, not Link"),
    ("en", id_as_contents, "ISO 14289-1 7.18.5-2 / Matterhorn 28-012: page 5: link annotation", "has /Contents 'priority-1', an id"),
    ("en", doubled_link, "ISO 32000-1 14.8.4.4.2 (one link per target area): page 5: link annotations", "to priority-1 overlap"),
    ("en", section_outside_tree, "ISO 14289-1 7.1-3 / Matterhorn 01-005: page 1: MCID", "which the Document's /K does not reach"),
    ("en", bbox_in_css_pixels, "ISO 14289-1 7.3 / ISO 32000-1 14.8.5.4.3 (BBox): page 2: Figure", "is not where its image is drawn"),
    ("en", caption_in_caption, "ISO 32000-1 14.8.4 Table 333 (Caption) / Matterhorn 09-002: page 2: Caption", "is nested in Caption"),
    ("en", empty_nonstruct_in_pledge, "ISO 32000-1 14.7.2 (structure element without content): page 3: NonStruct", "is empty"),
    ("ar", number_without_label, "ISO 32000-1 14.8.4.3.3 Table 336 (Lbl, LBody) / Matterhorn 09-005: page 5: LI",
     "starts with its number ('1') in the LBody"),
    ("zh", paragraph_split_at_a_column, "ISO 14289-1 7.1 (logical structure, one P per paragraph) / Matterhorn 09-001: page 3: P",
     "one paragraph tagged as two"),
    ("en", hyphens_without_actual_text,
     "ISO 14289-1 7.2 / ISO 32000-1 14.9.4 (ActualText of inserted hyphens): page 3: Luxem\u2010 / bourg",
     "the word does not read whole"),
    ("ar", ligatures_without_actual_text, "ISO 14289-1 7.2 (text in logical order) / Matterhorn 10-001:",
     "right-to-left words extract as written"),
    ("ru", bookmarks_swapped, "ISO 14289-1 7.17 (bookmarks follow the headings): bookmark 3", "goes to page 5, the heading 3 is on page 3"),
    ("es", no_output_intent, "ISO 32000-1 14.11.5 (sRGB output intent for DeviceRGB): no RGB output intent", "sRGB expected"),
]


@pytest.mark.parametrize(("code", "change", "start", "end"), DEFECTS, ids=[d[1].__name__ for d in DEFECTS])
def test_each_rule_fails_on_a_copy_with_its_defect(defect, code, change, start, end):
    messages = defect(code, change)
    assert any(message.startswith(start) and end in message for message in messages), messages


def test_preflight_fails_a_screen_file_with_a_defect_naming_the_rule_page_and_object(built_project, tmp_path):
    root = tmp_path / "project"
    shutil.copytree(built_project, root, ignore=shutil.ignore_patterns(".cache", "proofs", "*.png"))
    screen = pdf_path(root, "en", "screen")
    with pikepdf.open(screen, allow_overwriting_input=True) as pdf:
        link_in_span(pdf)
        pdf.save(screen)
    [(_, report), _] = preflight(root, ["en"])  # the brochure, then the leaflet
    result = report["en"]["accessibility"]
    assert result.status == "fail"
    assert any(m.startswith("screen: ISO 14289-1 7.18.5-1 / Matterhorn 28-011: page 5: link annotation ")
               and m.endswith(" 0 R is a child of Span, not Link") for m in result.messages), result.messages


def test_a_credit_language_that_is_not_a_language_tag_is_a_content_error(project):
    from brochure_build.errors import ContentError
    from brochure_build.source.content import load_content

    settings = project / "brochure/brochure.yaml"
    settings.write_text(settings.read_text(encoding="utf-8").replace("credit_lang: lb", "credit_lang: Lëtzebuergesch"), encoding="utf-8")
    line = next(n for n, text in enumerate(settings.read_text(encoding="utf-8").splitlines(), 1) if "credit_lang" in text and "{" in text)
    with pytest.raises(ContentError) as caught:
        load_content(project)
    assert [str(p) for p in caught.value.problems] == [
        f"brochure/brochure.yaml:{line}: figures.pride-parliament.credit_lang: expected a language tag such as lb or de-CH, "
        "found 'Lëtzebuergesch'"]
