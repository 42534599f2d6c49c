"""Proofs: page PNGs, contact sheets with spreads as a reader sees them, the languages sheet."""

from __future__ import annotations

from PIL import Image, ImageChops

from brochure_build.cli import main
from brochure_build.review.proofs import (
    CONTACT_PAGE_WIDTH,
    GAP,
    LANGUAGES_PAGE_WIDTH,
    contact_layout,
    label_font,
    languages_layout,
    page_images,
    reader_spreads,
    thumbnail,
)
from conftest import pdf_path

LANGUAGES = ["zh", "en", "fr", "es", "ru", "ar"]


def test_spreads_left_to_right_and_right_to_left():
    assert reader_spreads(12) == [(None, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11), (12, None)]
    assert reader_spreads(12, right_to_left=True) == [(1, None), (3, 2), (5, 4), (7, 6), (9, 8), (11, 10), (None, 12)]
    assert reader_spreads(8) == [(None, 1), (2, 3), (4, 5), (6, 7), (8, None)]


def same(image: Image.Image, other: Image.Image) -> bool:
    return image.size == other.size and ImageChops.difference(image.convert("RGB"), other.convert("RGB")).getbbox() is None


def test_proofs_command_writes_pages_contact_sheets_and_the_languages_sheet(built_project, capsys):
    assert main(["proofs", "--root", str(built_project), "--dpi", "40"]) == 0
    out = capsys.readouterr().out
    assert "build/ar/contact-sheet.png" in out and "build/proofs/languages.png" in out
    assert "96 page PNGs" in out  # 72 of the brochure, 24 of the leaflet
    leaflet = "luxembourg-hrc-2022-2024-leaflet"
    assert f"build/ar/{leaflet}-contact-sheet.png" in out and f"build/proofs/{leaflet}-languages.png" in out
    assert len(list((built_project / "build/zh/proofs" / leaflet).glob("page-*.png"))) == 4
    build = built_project / "build"
    rendered = {code: page_images(pdf_path(built_project, code, "screen"), 40) for code in LANGUAGES}
    for code in LANGUAGES:
        written = sorted(path.name for path in (build / code / "proofs").iterdir() if path.is_file())  # not the leaflet's folder
        assert written == [f"page-{number:02d}.png" for number in range(1, 13)]
        # each PNG is its page, pixel for pixel
        assert same(Image.open(build / code / "proofs" / "page-07.png"), rendered[code][6])

    font = label_font(built_project, 22)
    line = round(font.size * 1.6)
    for code, right_to_left in (("en", False), ("ar", True)):
        sheet = Image.open(build / code / "contact-sheet.png")
        small = [thumbnail(page, CONTACT_PAGE_WIDTH) for page in rendered[code]]
        width, height = small[0].size
        layout = contact_layout((width, height), 12, line, right_to_left)
        assert sheet.size == layout.size
        for number, (x, y) in layout.places.items():
            assert same(sheet.crop((x, y, x + width, y + height)), small[number - 1]), (code, number)
        places = layout.places
        # facing pages touch; the lower page is on the left when read left to right, on the right for Arabic
        assert places[3] == (places[2][0] + (-width if right_to_left else width), places[2][1])
        assert places[11] == (places[10][0] + (-width if right_to_left else width), places[10][1])
        # the cover and the back cover face nothing
        assert all(place[1] != places[1][1] or abs(place[0] - places[1][0]) > width for number, place in places.items() if number != 1)
        assert all(place[1] != places[12][1] or abs(place[0] - places[12][0]) > width for number, place in places.items() if number != 12)
        # read from the top left, or from the top right in Arabic: page 2 follows the cover on its reading side
        assert (places[2][0] < places[1][0]) == right_to_left and places[2][1] == places[1][1]

    sheet = Image.open(build / "proofs" / "languages.png")
    thumbs = {code: [thumbnail(page, LANGUAGES_PAGE_WIDTH) for page in rendered[code]] for code in LANGUAGES}
    width, height = thumbs["zh"][0].size
    bold = label_font(built_project, 26, bold=True)
    layout = languages_layout((width, height), 6, 12, round(bold.size * 3), round(font.size * 1.8))
    assert sheet.size == layout.size
    assert width == LANGUAGES_PAGE_WIDTH and sheet.width == layout.places[(0, 12)][0] + width + GAP
    for row, code in enumerate(LANGUAGES):
        for number in (1, 6, 12):
            x, y = layout.places[(row, number)]
            assert same(sheet.crop((x, y, x + width, y + height)), thumbs[code][number - 1]), (code, number)


def test_proofs_need_built_pdfs(project, capsys):
    assert main(["proofs", "--root", str(project), "--lang", "fr", "--lang", "ar"]) == 1
    err = capsys.readouterr().err
    assert "build/fr/luxembourg-hrc-2022-2024-fr-screen.pdf not found" in err
    assert "build/ar/luxembourg-hrc-2022-2024-ar-screen.pdf not found" in err
    assert "run `brochure build` (or `make`) first" in err
    assert "Traceback" not in err and not (project / "build" / "proofs").exists()


def test_proofs_reject_an_unknown_language(project, capsys):
    assert main(["proofs", "--root", str(project), "--lang", "de"]) == 1
    err = capsys.readouterr().err
    assert "--lang de: no such language; the brochure has: zh, en, fr, es, ru, ar" in err
    assert "Aborted with 1 error." in err
