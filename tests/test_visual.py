"""Visual regression: every page of every edition against its approved snapshot in tests/snapshots/.

Snapshots are the screen PDF's pages at 30 dpi (about 250 × 350 px, RGB). After a deliberate
change to the look, `make approve` rewrites them; commit them with the change.

How the tolerance was chosen (brochure_build.review.snapshots.Tolerance; measured on the committed
content, all 72 pages for the noise, the English edition for the changes). "strong" is the
largest share of any 9 × 9 px square whose pixels changed by more than 48 (largest channel,
0–255, beyond what the 3 × 3 neighbourhood explains), limit 30 %; "weak" the same for 15 × 15 px
squares and changes beyond 16, limit 75 %.

    must pass (rendering noise)                       strong   weak   pages failing
    the same PDF rendered twice                          0 %     0 %   none
    pypdfium2 4.30.0 (pdfium 6462) instead of 5.15.2    11 %    13 %   none
    rendered at 120 dpi and reduced (other anti-aliasing) 17 %  24 %   none
    the same, shifted a quarter of a pixel               18 %    53 %   none
    LCD sub-pixel text                                   16 %    27 %   none
    lines and boxes without anti-aliasing                29 %    25 %   none

    must fail (deliberate changes)                    strong   weak   pages failing
    one line added to a paragraph (page 2)               40 %    36 %   2
    the pledge box 4 mm lower                            64 %    60 %   2, 5, 8
    --margin-top 20 mm → 21 mm                           46 %    42 %   2–4, 7, 8, 10, 11
    body text 9.6 pt → 9.8 pt                            56 %    68 %   2, 5, 7–10
    the priority number's red → green (0.05 % of a page) 53 %    22 %   7–10
    --color-primary → green                             100 %   100 %   1, 6, 12
    headings red                                         75 %    66 %   2, 5–12
    --color-accent a little darker (#00a1de → #0090c8)    0 %   100 %   12
    --color-tint darker by 18                             0 %   100 %   2, 5–10
    the photo of page 7 replaced by a white one         100 %   100 %   7
    the photo of page 3 lighter by 20                     0 %   100 %   3

Not caught, by design at this resolution: a word changed for one of the same width (the text
tests check words), headings a shade lighter (#0b3b6f → #1f5fa0: 17 %, 31 %). Text rendered
without anti-aliasing or the whole page shifted by half a pixel fail: they are visible changes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageChops

from brochure_build.build import build
from brochure_build.cli import main
from brochure_build.review.proofs import GAP, label_font, product_prefix
from brochure_build.review.snapshots import Tolerance, compare_pages, diff_sheet, snapshot_images, write_snapshots
from brochure_build.source.content import load_products
from conftest import REPO, pdf_path

SNAPSHOTS = REPO / "tests" / "snapshots"
DIFFS = REPO / "build" / "snapshot-diffs"
TOLERANCE = Tolerance()
PRODUCTS = load_products(REPO, [])
LANGUAGES = [language.code for language in PRODUCTS[0].languages]
# (product, language): the brochure's snapshots in tests/snapshots/<lang>/, another product's in tests/snapshots/<slug>/<lang>/.
EDITIONS = [(product_prefix(index, settings), code) for index, settings in enumerate(PRODUCTS) for code in LANGUAGES]


def snapshot_failures(root: Path, code: str, diffs: Path, prefix: str = "") -> list[str]:
    """Compare the built pages of `code` with the approved snapshots; write old | new | diff for each failure."""
    name = f"{prefix}-{code}" if prefix else code
    for stale in diffs.glob(f"{name}-page-*.png"):
        stale.unlink()
    slug = prefix or PRODUCTS[0].slug
    pages = snapshot_images(root / "build" / code / f"{slug}-{code}-screen.pdf")
    folder = SNAPSHOTS / prefix / code
    approved = sorted(folder.glob("page-*.png"))
    failures = []
    if len(approved) != len(pages):
        failures.append(f"{name}: {len(pages)} pages, {len(approved)} approved snapshots in {folder.relative_to(REPO)}/")
    font = label_font(root, 14)
    for number, (page, path) in enumerate(zip(pages, approved, strict=False), 1):  # a count mismatch is reported above
        old = Image.open(path).convert("RGB")
        difference = compare_pages(old, page, TOLERANCE)
        if difference.fails(TOLERANCE):
            diffs.mkdir(parents=True, exist_ok=True)
            target = diffs / f"{name}-page-{number:02d}.png"
            diff_sheet(old, page, TOLERANCE, font).save(target)
            failures.append(f"{name} page {number}: {difference.describe(TOLERANCE)}; see {target}")
    return failures


def advice(failures: list[str]) -> str:
    return ("\n".join(failures) + "\nEach diff image shows approved | now | difference (magenta: strong, orange: weak)."
            "\nIf the change is deliberate, run `make approve` and commit tests/snapshots/.")


@pytest.mark.parametrize(("prefix", "code"), EDITIONS, ids=[f"{p or 'brochure'}-{c}" for p, c in EDITIONS])
def test_pages_match_approved_snapshots(built_project, prefix, code):
    failures = snapshot_failures(built_project, code, DIFFS, prefix)
    assert not failures, advice(failures)


def test_a_moved_paragraph_a_changed_colour_and_a_missing_photo_fail(project, tmp_path):
    en = project / "brochure/text/en.yaml"
    en.write_text(en.read_text(encoding="utf-8").replace(
        "all the various areas of its external action.",
        "all the various areas of its external action, at home and abroad, in every forum it joins.", 1), encoding="utf-8")
    tokens = project / "layouts/css/tokens.css"
    tokens.write_text(tokens.read_text().replace("--color-accent-red: #e1261c", "--color-accent-red: #1ce126"))
    photo = project / "assets/photos/hrc-luxembourg.jpg"
    Image.new("RGB", Image.open(photo).size, "white").save(photo)
    build(project, ["en"])

    failures = snapshot_failures(project, "en", tmp_path)
    failing = [int(failure.split(":")[0].split()[-1]) for failure in failures]
    # page 2: the photo; 3: the paragraphs after the longer one moved; 6–9: the priority numbers
    assert failing == [2, 3, 6, 7, 8, 9], advice(failures)
    assert f"see {tmp_path / 'en-page-02.png'}" in failures[0] and "`make approve`" in advice(failures)

    sheet = Image.open(tmp_path / "en-page-02.png").convert("RGB")
    width, height = Image.open(SNAPSHOTS / "en" / "page-02.png").size
    assert sheet.width == 3 * width + 4 * GAP
    panel = sheet.crop((sheet.width - GAP - width, sheet.height - GAP - height, sheet.width - GAP, sheet.height - GAP))
    marked = sum(count for count, colour in panel.getcolors(width * height) if colour == (255, 0, 255))
    photo_area = 174 / 210 * width * 200 / 297 * height  # the photo's frame, 174 × 200 mm of the A4 page
    assert marked > 0.8 * photo_area
    assert not (tmp_path / "en-page-04.png").exists()


def test_approve_rewrites_every_page_the_same_way_and_drops_pages_that_are_gone(built_project, tmp_path, capsys):
    snapshots = tmp_path / "snapshots"
    (snapshots / "en").mkdir(parents=True)
    Image.new("RGB", (10, 10)).save(snapshots / "en" / "page-13.png")  # from a longer plan
    assert main(["proofs", "--root", str(built_project), "--snapshots", str(snapshots), "--lang", "en", "--lang", "ar"]) == 0
    assert "32 snapshots written" in capsys.readouterr().out  # 12 pages of the brochure, 4 of the leaflet, twice
    names = [f"page-{number:02d}.png" for number in range(1, 13)]
    assert sorted(path.name for path in (snapshots / "en").iterdir()) == names
    leaflet = PRODUCTS[1].slug
    assert sorted(path.name for path in snapshots.iterdir()) == sorted(["ar", "en", leaflet])
    assert sorted(path.name for path in (snapshots / leaflet / "ar").iterdir()) == names[:4]
    first = {path: path.read_bytes() for path in snapshots.rglob("*.png")}
    write_snapshots(built_project, snapshots, ["en", "ar"])
    assert {path: path.read_bytes() for path in snapshots.rglob("*.png")} == first  # approving twice changes nothing
    pages = snapshot_images(pdf_path(built_project, "ar", "screen"))
    for number, page in enumerate(pages, 1):
        approved = Image.open(snapshots / "ar" / f"page-{number:02d}.png")
        assert approved.size == page.size and ImageChops.difference(approved.convert("RGB"), page).getbbox() is None
