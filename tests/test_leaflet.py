"""The second product: a 4-page A5 leaflet of the campaign, built by the same `brochure build`
from the same text files, with its own page plan, kinds and CSS."""

from __future__ import annotations

import pytest
import yaml
from pypdf import PdfReader

from brochure_build.source.content import load_products
from conftest import REPO
from helpers import normalize, page_texts

LEAFLET = load_products(REPO, [])[1]
LANGUAGES = [language.code for language in LEAFLET.languages]
MM = 72 / 25.4


def leaflet_pdf(root, code: str, variant: str):
    return root / "build" / code / f"{LEAFLET.slug}-{code}-{variant}.pdf"


def test_the_leaflet_is_a_product_of_its_own():
    assert LEAFLET.file == "brochure/products/leaflet.yaml" and LEAFLET.layouts == "layouts/leaflet"
    assert (LEAFLET.page.width_mm, LEAFLET.page.height_mm) == (148.0, 210.0)
    assert [(s.id, s.kind, s.first_page, s.shares_page) for s in LEAFLET.sections] == [
        ("cover", "cover", 1, False), ("priority-1", "priority", 2, False), ("priority-2", "priority", 2, True),
        ("priority-3", "priority", 3, False), ("priority-4", "priority", 3, True), ("closing", "back", 4, False)]
    # No copied text: the product file holds structure only, every word comes from brochure/text/<lang>.yaml.
    product = yaml.safe_load((REPO / LEAFLET.file).read_text(encoding="utf-8"))
    assert set(product) == {"slug", "page", "layouts", "figures", "sections"}


@pytest.mark.parametrize("code", [code for code in LANGUAGES if code != "ar"])
def test_each_page_holds_its_words(built_project, code):
    """Arabic is left out: its extracted text comes in visual order (see the screen-PDF notes); its
    pages are compared with their snapshots in test_visual.py."""
    text = yaml.safe_load((REPO / f"brochure/text/{code}.yaml").read_text(encoding="utf-8"))
    sections = text["sections"]
    # Hyphenation adds U+2010 at line ends in the extracted text; the pledge label is set in capitals.
    pages = [normalize(page).replace("\u2010", "").casefold()
             for page in page_texts(leaflet_pdf(built_project, code, "screen"))]

    def words(value: str) -> str:
        return normalize(value).casefold()

    assert len(pages) == 4
    assert [line for line in sections["cover"]["title_lines"] if words(line) not in pages[0]] == []
    for page, ids in ((pages[1], ("priority-1", "priority-2")), (pages[2], ("priority-3", "priority-4"))):
        assert words(text["labels"]["pledges"]) in page
        for section_id in ids:
            assert words(sections[section_id]["heading"]) in page
            assert all(words(pledge) in page for pledge in sections[section_id]["pledges"])
    assert words(sections["closing"]["heading"]) in pages[3]
    assert all(words(paragraph)[:40] in pages[3] for paragraph in sections["closing"]["body"])
    # A priority's body and contribution are the brochure's, not the leaflet's.
    assert words(sections["priority-1"]["contribution"])[:20] not in "".join(pages)


@pytest.mark.parametrize("code", ["zh", "ar"])
def test_print_and_imposed_files_are_a5_with_bleed(built_project, code):
    reader = PdfReader(leaflet_pdf(built_project, code, "print"))
    assert len(reader.pages) == 4
    for page in reader.pages:
        trim = [float(v) for v in page.trimbox]
        bleed = [float(v) for v in page.bleedbox]
        assert round((trim[2] - trim[0]) / MM) == 148 and round((trim[3] - trim[1]) / MM) == 210
        assert round((trim[0] - bleed[0]) / MM) == 3 and round((bleed[2] - trim[2]) / MM) == 3
    assert len(PdfReader(leaflet_pdf(built_project, code, "imposed")).pages) == 2
    screen = PdfReader(leaflet_pdf(built_project, code, "screen"))
    assert "/StructTreeRoot" in screen.trailer["/Root"] and screen.trailer["/Root"]["/Lang"] == LEAFLET.language(code).tag
