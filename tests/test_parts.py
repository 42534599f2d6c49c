"""An edition written part by part and joined (render/units.py, press/join.py): the joined file
reads as the file written whole, and an edit writes only the part it touched."""

from __future__ import annotations

import hashlib
import json
import shutil

import pikepdf
import pypdfium2
import yaml
from PIL import ImageChops

from brochure_build.build import build
from brochure_build.press import join
from brochure_build.render import units
from brochure_build.render.fontsubsets import face_file
from brochure_build.render.pdf import Renderer
from brochure_build.review import uarules
from conftest import copy_project, pdf_path

# Four parts, each starting a page: bookmarks that skip a level and go back up across parts
# (h1, then h3 in the next part, then h2), one closed; links from each part to another's heading.
PAGES = """<!doctype html><html lang="en"><head><title>Parts</title><style>
@font-face { font-family: Body; src: url(fonts/NotoSans-Regular.ttf); }
@font-face { font-family: Body; font-weight: bold; src: url(fonts/NotoSans-Bold.ttf); }
@page { size: A6; margin: 15mm }
body { font-family: Body; font-size: 10pt }
section { break-before: page }
.closed { bookmark-state: closed }
</style></head><body>
<section><h1 id="one">One</h1><p>First part, to <a href="#three">the third</a> and <a href="#deep">the deep one</a>.</p></section>
<section><h3 id="deep">Deep heading</h3><p>Second part: an h3 under the first part's h1.</p>
<h2 class="closed" id="two">Two, closed</h2><h3>Under two</h3><p>Back to <a href="#one">the first</a>.</p></section>
<section><h1 id="three">Three</h1><p>Third part, with words Ä Ö Ü that the others lack, to <a href="#two">two</a>.</p></section>
<section><h2 id="four">Four</h2><p>Last part, no link.</p></section>
</body></html>"""


def outline(pdf: pikepdf.Pdf) -> list[tuple]:
    pages = {page.objgen: index for index, page in enumerate(pdf.pages)}
    found = []
    with pdf.open_outline() as tree:
        def visit(items, depth):
            for item in items:
                found.append((depth, item.title, pages[item.destination[0].objgen], item.is_closed))
                visit(item.children, depth + 1)
        visit(tree.root, 1)
    return found


def links(pdf: pikepdf.Pdf) -> list[tuple]:
    destinations = {str(name): value for name, value in pikepdf.NameTree(pdf.Root.Names.Dests).items()}
    pages = {page.objgen: index for index, page in enumerate(pdf.pages)}
    return [(index, str(link.Dest), pages[destinations[str(link.Dest)][0].objgen], str(link.get("/Contents", "")))
            for index, page in enumerate(pdf.pages) for link in page.obj.get("/Annots", ())]


def structure(pdf: pikepdf.Pdf) -> list[str]:
    found = []

    def visit(element):
        kids = element.get("/K")
        for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
            if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
                found.append(str(kid.S))
                visit(kid)

    visit(pdf.Root.StructTreeRoot)
    return found


def font_programs(pdf: pikepdf.Pdf) -> dict[str, str]:
    programs = {}
    for page in pdf.pages:
        for font in page.Resources.Font.values():
            descriptor = font.DescendantFonts[0].FontDescriptor
            programs[str(font.BaseFont).split("+")[1]] = hashlib.sha256(descriptor.FontFile2.read_bytes()).hexdigest()
    return programs


def test_parts_joined_read_as_the_document_written_whole(tmp_path):
    """Pages, bookmarks (nested by level across parts, the closed one closed), named destinations,
    links and how each is described (by the heading it leads to, also when that is in another
    part), the structure tree in reading order, and one font program per face, the one the whole
    file embeds: the same as WeasyPrint's file of the whole document, and the same PDF/UA findings
    (the page skips heading levels on purpose)."""
    root = copy_project(tmp_path / "project")
    renderer = Renderer(root)
    try:
        document = renderer.render(PAGES, root / "parts.html", "parts")
        assert len(document.pages) == 4
        whole = tmp_path / "whole.pdf"
        renderer.write(document, whole, "screen", "parts")
        parts = []
        for number, page in enumerate(document.pages):
            target = tmp_path / f"part-{number}.pdf"
            part = document.copy([page])
            foreign, written = units.write_part(
                lambda document, target, foreign: renderer.write(document, target, "screen", "parts", None, foreign), part, target)
            parts.append(join.JoinedPart(target, foreign, tuple((level, state) for level, _, _, state in page.bookmarks),
                                         written.descriptions, written.subsets))
        assert [part.foreign for part in parts] == [("deep", "three"), ("one",), ("two",), ()]
        joined = tmp_path / "joined.pdf"
        join.join(parts, joined, lambda face, index, glyphs, hinting, missing: renderer.subsets.united(
            face_file([root / "fonts"], face), index, glyphs, hinting, missing))
    finally:
        renderer.close()

    with pikepdf.open(whole) as expected, pikepdf.open(joined) as actual:
        assert outline(actual) == outline(expected) == [
            (1, "One", 0, False), (2, "Deep heading", 1, False), (2, "Two, closed", 1, True), (3, "Under two", 1, False),
            (1, "Three", 2, False), (2, "Four", 3, False)]
        assert links(actual) == links(expected)
        assert ("0", "three", 2, "Three") in {(str(a), b, c, d) for a, b, c, d in links(actual)}
        assert structure(actual) == structure(expected)
        assert font_programs(actual) == font_programs(expected)
        assert len({program for program in font_programs(actual).values()}) == 2
    findings = uarules.check(whole)
    assert uarules.check(joined) == findings and all("heading" in finding for finding in findings)
    expected_pages, actual_pages = pypdfium2.PdfDocument(whole), pypdfium2.PdfDocument(joined)
    for index in range(4):
        assert not ImageChops.difference(expected_pages[index].render(scale=1).to_pil(),
                                         actual_pages[index].render(scale=1).to_pil()).getbbox(), f"page {index + 1}"


def test_bookmark_depths_nest_under_the_last_lower_level():
    assert join.bookmark_depths([1, 3, 2, 3, 1, 2, 4, 4, 1]) == [1, 2, 2, 3, 1, 2, 3, 3, 1]
    assert join.bookmark_depths([2, 1, 3]) == [1, 1, 2]


def test_an_edit_writes_only_its_part_and_gives_the_file_a_clean_build_gives(project, tmp_path):
    """After a paragraph of one section is edited, the build lays out and writes the parts of that
    section only (the others come from build/.cache/units/), and its files are byte for byte
    those of a clean build of the edited text."""
    build(project, ["en"])
    cache = project / units.CACHE_DIR
    before = {path.name for path in cache.glob("*.json")}
    files = {path: path.stat().st_ino for path in cache.iterdir()}  # a part written again is a new file
    assert len(before) > 20  # every part of the brochure's and the leaflet's en screen and print files
    text = project / "brochure/text/en.yaml"
    data = yaml.safe_load(text.read_text(encoding="utf-8"))
    body = data["sections"]["priority-2"]["body"]
    words = body[0].split(" ")
    body[0] = " ".join(words[:10] + ["also"] + words[10:])
    text.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000), encoding="utf-8")

    build(project, ["en"])
    written = [json.loads((cache / name).read_text()) for name in {path.name for path in cache.glob("*.json")} - before]
    assert sorted(section["id"] for measures in written for section in measures["copy_fit"]["sections"]) == \
        ["priority-2", "priority-2"]  # its screen part and its print part
    assert all(path.stat().st_ino == inode for path, inode in files.items())  # the others were read, not written

    clean = copy_project(tmp_path / "clean")
    shutil.copy(text, clean / "brochure/text/en.yaml")
    build(clean, ["en"])
    for variant in ("screen", "print", "imposed"):
        assert pdf_path(project, "en", variant).read_bytes() == pdf_path(clean, "en", variant).read_bytes(), variant


def test_a_link_to_no_element_of_the_edition_fails_the_build_as_weasyprint_would(project, capsys):
    """A part's links to other parts are written with stand-in targets (units.write_part); a link
    whose target no part has still fails the build, with WeasyPrint's words."""
    from brochure_build.cli import main

    closing = project / "layouts/pages/closing.html.j2"
    first, rest = closing.read_text(encoding="utf-8").split("\n", 1)
    closing.write_text(f'{first}\n<a href="#nowhere">a link to nothing</a>\n{rest}', encoding="utf-8")
    assert main(["build", "--root", str(project), "--lang", "en"]) == 1
    assert "en screen: WeasyPrint: No anchor #nowhere for internal URI reference" in capsys.readouterr().err


def test_a_damaged_kept_part_is_laid_out_again(project):
    """A kept part's PDF cut short (a full disk, another tool) is not joined: the part is laid out
    and written again, and the edition's file is whole."""
    build(project, ["en"])
    for path in (project / units.CACHE_DIR).glob("*.pdf"):
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    build(project, ["en"], force=False)  # nothing changed: the files stay
    text = project / "brochure/text/en.yaml"
    text.write_text(text.read_text(encoding="utf-8").replace("Luxembourg’s action aims", "Luxembourg’s action also aims", 1),
                    encoding="utf-8")
    build(project, ["en"])
    for variant in ("screen", "print"):
        document = pypdfium2.PdfDocument(pdf_path(project, "en", variant))
        assert len(document) == 12
        assert all(document[index].get_textpage().get_text_range().strip() for index in range(12)), variant
