"""The Chinese edition against the printed source: every word, on the planned pages, in our fonts."""

from __future__ import annotations

import re

import pytest
import yaml

from brochure_build.source.content import load_settings
from conftest import REPO, SOURCE_TEXT, pdf_path
from helpers import embedded_fonts, normalize, page_texts

LABELS = re.compile(r"^(说明：|承诺：|贡献：|\d+\.)")
CLOSING_PUNCTUATION = "，。、；：？！）》」』”’"


def source_blocks() -> list[str]:
    """The source's blocks, cut into the pieces the brochure prints (labels and markers removed).

    The print's one typo is corrected as the source README says an edition must.
    """
    text = SOURCE_TEXT.read_text(encoding="utf-8").replace("儿童的权力", "儿童的权利")
    pieces = []
    for block in re.split(r"\n\s*\n", text):
        block = normalize(block)
        if not block:
            continue
        block = LABELS.sub("", block).removesuffix("—")
        # A caption block holds the caption, then the credit after ©.
        pieces.extend(part for part in block.split("©") if part)
    return pieces


def test_source_is_split_into_every_block():
    blocks = source_blocks()
    assert len(blocks) > 60
    assert "卢森堡外交和欧洲事务部" in blocks and "RosaLëtzebuerg" in blocks


@pytest.mark.parametrize("variant", ["print", "screen"])
def test_every_block_of_the_source_is_in_the_pdf(built_project, variant):
    pages = page_texts(pdf_path(built_project, "zh", variant))
    document = normalize("".join(pages))
    missing = [block for block in source_blocks() if block not in document]
    assert missing == []


def test_page_count_and_sections_on_their_planned_pages(built_project):
    settings = load_settings(built_project, [])
    text = yaml.safe_load((REPO / "brochure/text/zh.yaml").read_text(encoding="utf-8"))
    pages = [normalize(page) for page in page_texts(pdf_path(built_project, "zh", "print"))]
    assert len(pages) == settings.page_count == 12
    assert normalize("".join(text["sections"]["cover"]["title_lines"])) in pages[0]
    for section in settings.sections:
        if "heading" in text["sections"].get(section.id, {}):  # the cover's words are its title lines
            heading = normalize(text["sections"][section.id]["heading"])
            found = [number for number, page in enumerate(pages, 1) if heading in page]
            assert any(section.first_page <= number <= section.last_page for number in found), section.id
        for figure_id in section.figures:
            caption = normalize(text["figures"][figure_id]["caption"])
            assert caption in pages[section.first_page - 1] or caption in pages[section.last_page - 1], figure_id
    # The first page of a section holds its heading or its first photo's caption.
    for section in settings.sections[1:-1]:
        words = text["sections"][section.id]
        first = pages[section.first_page - 1]
        assert normalize(words["heading"]) in first or any(
            normalize(text["figures"][f]["caption"]) in first for f in section.figures), section.id


def test_back_cover_lists_the_priorities_in_order(built_project):
    back = page_texts(pdf_path(built_project, "zh", "print"))[10]  # page 11, the diagram (12 is the outside back cover)
    positions = [back.index(name) for name in ("支持法治", "基于人权的可持续发展", "性别平等", "保护和提升儿童的权利")]
    assert positions == sorted(positions)
    assert "儿童的权力" not in "".join(page_texts(pdf_path(built_project, "zh", "print")))


def test_only_project_fonts_are_embedded(built_project):
    families = set(yaml.safe_load((REPO / "fonts/manifest.yaml").read_text())["fonts"][i]["family"]
                   for i in range(14))
    for variant in ("print", "screen"):
        fonts = embedded_fonts(pdf_path(built_project, "zh", variant))
        assert fonts, "no fonts found"
        for base_font, full_name in fonts.items():
            assert full_name, f"{base_font} is not embedded"
            assert full_name.removesuffix(" Bold") in families, base_font
        # Chinese uses the real bold face of the CJK sans and the serif for text.
        assert {"Noto Sans CJK SC Bold", "Noto Serif CJK SC"} <= set(fonts.values())


def test_no_line_starts_with_closing_punctuation(built_project):
    for page in page_texts(pdf_path(built_project, "zh", "print")):
        for line in page.splitlines():
            assert not line.strip() or line.strip()[0] not in CLOSING_PUNCTUATION, line
