"""Prepress rules (prepress.py): the built press files pass every rule; a copy of a built file with
one defect (made with pikepdf, or rendered from the old stylesheet) fails it, the rule named; and
the print files carry what the rules ask for."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pikepdf
import pytest

from brochure_build.build import build
from brochure_build.cli import main
from brochure_build.errors import BuildError
from brochure_build.press.impose import impose
from brochure_build.render.fontsubsets import FONT_PROGRAMS, subset_tag
from brochure_build.review import prepress
from brochure_build.source.content import load_edition, load_settings
from conftest import pdf_path

LANGUAGES = ["zh", "en", "fr", "es", "ru", "ar"]
MM = 72 / 25.4
# The divider's rule before this branch: the tint a background of the section, which stops at the trim.
OLD_OPENER_CSS = ".page-opener { page: full; height: 297mm; background: var(--color-tint); padding: 40mm 22mm 0; box-sizing: border-box; }"


def defective_copy(source: Path, target: Path, change) -> Path:
    """A copy of `source` at `target`, changed by `change(pdf)`."""
    with pikepdf.open(source) as pdf:
        change(pdf)
        pdf.save(target)
    return target


@pytest.mark.parametrize("code", LANGUAGES)
def test_built_press_files_pass_every_prepress_rule(built_project, code):
    assert prepress.press_problems(pdf_path(built_project, code, "print"), pdf_path(built_project, code, "imposed")) == []


def test_print_and_imposed_carry_the_pdfx4_keys_and_no_annotations_or_interpolation(built_project):
    for variant in ("print", "imposed"):
        with pikepdf.open(pdf_path(built_project, "en", variant)) as pdf:
            assert pdf.trailer.Info.GTS_PDFXVersion == "PDF/X-4"
            xmp = prepress.xmp_properties(pdf.Root.Metadata.read_bytes())
            assert xmp["{http://ns.adobe.com/xap/1.0/}CreatorTool"].startswith("brochure_build ")
            assert str(pdf.trailer.Info.Creator) == xmp["{http://ns.adobe.com/xap/1.0/}CreatorTool"]
            instance = xmp["{http://ns.adobe.com/xap/1.0/mm/}InstanceID"]
            document = xmp["{http://ns.adobe.com/xap/1.0/mm/}DocumentID"]
            assert re.fullmatch(r"xmp\.iid:[0-9a-f-]{36}", instance) and instance[8:] != document[8:]
            assert instance != "xmp.iid:00000000-0000-0000-0000-000000000000"
            assert all("/Annots" not in page.obj for page in pdf.pages)
            images = [obj for obj in pdf.objects if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == "/Image"]
            assert len(images) == 7 and not any(image.get("/Interpolate", False) for image in images)
    # The screen file keeps its links: only the press files lose them.
    with pikepdf.open(pdf_path(built_project, "en", "screen")) as pdf:
        assert len(pdf.pages[4].obj.Annots) > 0  # the divider's links to the priorities


def test_missing_pdfx_keys_fail_naming_the_rule(built_project, tmp_path):
    def strip_keys(pdf):
        del pdf.trailer.Info["/GTS_PDFXVersion"]
        xmp = pdf.Root.Metadata.read_bytes()
        xmp = re.sub(rb"<xmp:CreatorTool>[^<]*</xmp:CreatorTool>", b"", xmp)
        xmp = re.sub(rb"<xmpMM:InstanceID>[^<]*</xmpMM:InstanceID>", b"", xmp)
        pdf.Root.Metadata.write(xmp)

    copy = defective_copy(pdf_path(built_project, "en", "print"), tmp_path / "print.pdf", strip_keys)
    with pikepdf.open(copy) as pdf:
        assert prepress.pdfx_problems(pdf) == [
            "PDF/X-4 (ISO 15930-7) identification: the Info dictionary has no /GTS_PDFXVersion (PDF/X-4)",
            "PDF/X-4 (ISO 15930-7) metadata: the XMP metadata lacks xmp:CreatorTool, xmpMM:InstanceID",
        ]


def test_annotations_and_interpolation_fail_naming_page_and_object(built_project, tmp_path):
    def add_defects(pdf):
        link = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link,
                                                    Rect=[60, 500, 500, 540], Dest=pikepdf.String("priority-1")))
        pdf.pages[4].obj.Annots = pikepdf.Array([link])
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == "/Image":
                obj.Interpolate = True

    copy = defective_copy(pdf_path(built_project, "en", "print"), tmp_path / "print.pdf", add_defects)
    with pikepdf.open(copy) as pdf:
        annotations = prepress.annotation_problems(pdf)
        interpolated = prepress.interpolation_problems(pdf)
    assert len(annotations) == 1
    assert re.fullmatch(r"page 5: print shop: annotations: 1 Link annotations \(objects \d+\): a press file has none", annotations[0])
    assert len(interpolated) == 7
    assert all(re.match(r"image object \d+: print shop: image interpolation: /Interpolate true", m) for m in interpolated)


def test_tint_stopping_at_the_trim_fails_the_rendered_bleed_check_on_every_edge(project):
    """The old stylesheet, rendered: the divider's tint a background of the section, cut at the trim."""
    css = project / "layouts/css/pages.css"
    text = css.read_text(encoding="utf-8")
    new = re.search(r"@page opener \{.*\}\n\.page-opener \{[^}]*\}", text).group(0)
    css.write_text(text.replace(new, OLD_OPENER_CSS), encoding="utf-8")
    build(project, ["en"])
    problems = prepress.bleed_problems(pdf_path(project, "en", "print"))
    assert [re.match(r"page (\d+): print shop: bleed: colour reaches the trim along the (\w+) edge", m).groups()
            for m in problems] == [("5", "top"), ("5", "bottom"), ("5", "left"), ("5", "right")]
    assert "over 210 mm" in problems[0] and "over 297 mm" in problems[2]
    assert "must run 3 mm past the trim" in problems[0]


def paint_white_band_over_the_covers_right_bleed(pdf) -> None:
    """The cover's photo then stops at the trim on its right edge."""
    page = pdf.pages[0]
    trim = [float(v) for v in page.obj.TrimBox]
    media = [float(v) for v in page.obj.MediaBox]
    band = f"q 0 0 0 0 k {trim[2]:.3f} {media[1]:.3f} {media[2] - trim[2]:.3f} {media[3] - media[1]:.3f} re f Q".encode()
    page.contents_add(pdf.make_stream(band), prepend=False)


def test_rendered_bleed_check_sees_a_sliver_on_one_edge(built_project, tmp_path):
    """A white band painted over the bleed of the cover's right edge (the photo then stops at the trim)."""
    copy = defective_copy(pdf_path(built_project, "en", "print"), tmp_path / "print.pdf", paint_white_band_over_the_covers_right_bleed)
    problems = prepress.bleed_problems(copy)
    assert len(problems) == 1 and problems[0].startswith("page 1: print shop: bleed: colour reaches the trim along the right edge")


def test_the_bleed_check_renders_again_only_the_pages_whose_drawing_changed(built_project, tmp_path):
    """Each page's finding is kept by a digest of what it draws: the band painted on the cover
    changes page 1 alone, and only page 1 is checked anew (one new entry); it is still found."""
    cache = tmp_path / "bleed"
    original = pdf_path(built_project, "en", "print")
    assert prepress.bleed_problems(original, cache) == []
    assert len(list(cache.iterdir())) == 12
    assert prepress.bleed_problems(original, cache) == []  # answered from the cache
    assert len(list(cache.iterdir())) == 12

    copy = defective_copy(original, tmp_path / "print.pdf", paint_white_band_over_the_covers_right_bleed)
    problems = prepress.bleed_problems(copy, cache)
    assert len(problems) == 1 and problems[0].startswith("page 1: print shop: bleed: colour reaches the trim along the right edge")
    assert len(list(cache.iterdir())) == 13


def rewrite_sheet(pdf, change) -> None:
    for page in pdf.pages:
        content = page.obj.Contents.read_bytes().decode()
        page.obj.Contents = pdf.make_stream(change(content, page).encode())


def test_imposed_defects_fail_gripper_bleed_strip_and_target_rules(built_project, tmp_path):
    imposed = pdf_path(built_project, "en", "imposed")

    def old_marks(content, page):
        # What the sheets had before: no strip, no targets, a mark 1.5 mm from the sheet's edge and one in the bleed.
        content = re.sub(r"q( [\d.]+ [\d.]+ [\d.]+ [\d.]+ k [\d.]+ [\d.]+ [\d.]+ [\d.]+ re f)+ Q", "", content)
        content = re.sub(r"q /Reg CS 1 SCN [\d.]+ w [^Q]* c [^Q]*S Q", "", content)
        bleed = [float(v) for v in page.obj.BleedBox]
        x = (bleed[0] + bleed[2]) / 2
        return content + f"\nq /Reg CS 1 SCN 0.25 w {x:.2f} {1.5 * MM:.2f} m {x:.2f} {6.5 * MM:.2f} l " \
                         f"{x:.2f} {bleed[1] + 2:.2f} m {x:.2f} {bleed[1] + 20:.2f} l S Q"

    copy = defective_copy(imposed, tmp_path / "imposed.pdf", lambda pdf: rewrite_sheet(pdf, old_marks))
    with pikepdf.open(copy) as pdf:
        problems = prepress.sheet_problems(pdf)
    side_one = [m for m in problems if m.startswith("sheet side 1:")]
    assert side_one == [
        "sheet side 1: print shop: marks outside the bleed: 1 marks inside the BleedBox "
        f"(the first at 250.0, {float(pdf_bleed_bottom(imposed)) / MM + 2 / MM:.1f} mm from the sheet's lower left corner)",
        "sheet side 1: print shop: gripper margin: 1 marks within 10 mm of the sheet's edge (the closest 1.5 mm from it)",
        "sheet side 1: print shop: colour control strip: no solid patch of C, M, Y, K outside the bleed "
        "(the press measures each ink's density on it)",
        "sheet side 1: print shop: registration targets: 0 registration targets in the registration colour "
        "(/Separation /All), at least 2 needed to check the plates' register",
    ]
    assert len(problems) == 6 * 4


def pdf_bleed_bottom(pdf: Path) -> float:
    with pikepdf.open(pdf) as document:
        return float(document.pages[0].obj.BleedBox[1])


def test_imposed_marks_leave_the_gripper_margin_free_on_every_edge(built_project):
    with pikepdf.open(pdf_path(built_project, "ar", "imposed")) as pdf:
        for page in pdf.pages:
            marks = prepress.sheet_marks(page)
            media = [float(v) for v in page.obj.MediaBox]
            assert min(min(m.box[0] - media[0], m.box[1] - media[1], media[2] - m.box[2], media[3] - m.box[3])
                       for m in marks) >= 10 * MM
            strip = [m for m in marks if m.painted == "fill"]
            assert len(strip) >= 80 and {m.colour for m in strip} >= set(prepress.PROCESS_SOLIDS)
            assert len([m for m in marks if m.colour == "registration" and m.curved]) == 4


def test_preflight_names_the_rules_of_defective_press_files(built_project, project, tmp_path, capsys):
    shutil.copytree(built_project / "build" / "en", project / "build" / "en")
    status = main(["preflight", "--root", str(project), "--lang", "en"])
    out = capsys.readouterr().out
    assert status == 0, out
    print_pdf = pdf_path(project, "en", "print")
    defective_copy(print_pdf, tmp_path / "print.pdf", lambda pdf: pdf.trailer.Info.__delitem__("/GTS_PDFXVersion"))
    shutil.copy(tmp_path / "print.pdf", print_pdf)
    status = main(["preflight", "--root", str(project), "--lang", "en"])
    out = capsys.readouterr().out
    assert status == 1
    assert "en colour: print: PDF/X-4 (ISO 15930-7) identification: the Info dictionary has no /GTS_PDFXVersion (PDF/X-4)" in out


def font_names(pdf: Path) -> dict[str, str]:
    """BaseFont -> sha256 of its embedded program."""
    names = {}
    with pikepdf.open(pdf) as document:
        for page in document.pages:
            for font in (page.Resources.get("/Font") or {}).values():
                descriptor = font.DescendantFonts[0].FontDescriptor
                program = next(descriptor[key] for key in FONT_PROGRAMS if key in descriptor)
                names[str(font.BaseFont)] = hashlib.sha256(program.read_bytes()).hexdigest()
    return names


def test_subset_names_are_unique_per_subset_across_editions(built_project):
    """Ganged editions never share a name for different subsets: the tag is the subset's hash."""
    by_name: dict[str, set[str]] = {}
    by_program: dict[str, set[str]] = {}
    for code in LANGUAGES:
        for variant in ("print", "screen"):
            for name, program in font_names(pdf_path(built_project, code, variant)).items():
                by_name.setdefault(name, set()).add(program)
                by_program.setdefault(program, set()).add(name)
    assert all(len(programs) == 1 for programs in by_name.values()), by_name
    assert all(len(names) == 1 for names in by_program.values()), by_program
    serif = [name for name in by_name if name.endswith("+Brochure-Serif")]
    assert len(serif) >= 5  # en, fr, es, ru, ar: one Noto Serif subset each, each its own name
    with pikepdf.open(pdf_path(built_project, "en", "print")) as pdf:
        font = next(iter(pdf.pages[1].Resources.Font.values()))
        descriptor = font.DescendantFonts[0].FontDescriptor
        program = next(descriptor[key] for key in FONT_PROGRAMS if key in descriptor).read_bytes()
        assert str(font.BaseFont).startswith(f"/{subset_tag(program)}+")
        assert descriptor.FontName == font.BaseFont == font.DescendantFonts[0].BaseFont


def test_a_sheet_too_small_for_the_gripper_margin_fails_naming_the_setting(built_project, project, tmp_path):
    settings_file = project / "brochure/brochure.yaml"
    text = settings_file.read_text(encoding="utf-8")
    settings_file.write_text(re.sub(r"sheet: 350mm 500mm", "sheet: SRA3", text), encoding="utf-8")
    settings = load_settings(project, [])
    edition = load_edition(project, settings, "en", [])
    with pytest.raises(BuildError, match=r"brochure/brochure.yaml: print.sheet: 320 × 450 mm cannot hold a spread with "
                                         r"bleed, marks, colour strip and a 10 mm gripper margin \(345 × 464 mm\)"):
        impose(pdf_path(built_project, "en", "print"), tmp_path / "imposed.pdf", edition)


def test_the_edge_strips_are_the_pixels_of_the_whole_page_rendered(built_project):
    """The bleed check renders only the strips along the edges: each of their pixels is the whole
    page's, and the check reads the same from them (the cover: a photo bleeding off three edges)."""
    import pypdfium2 as pdfium

    pdf = pdf_path(built_project, "en", "print")
    document = pdfium.PdfDocument(str(pdf))
    colours = set()
    with pikepdf.open(pdf) as boxes:
        for number in (0, 4):  # the cover, the divider
            page, record = document[number], boxes.pages[number]
            media = [float(v) for v in record.obj.MediaBox]
            trim = [float(v) for v in record.obj.TrimBox]
            whole = page.render(scale=prepress.RENDER_SCALE).to_pil().convert("RGB")
            strips = prepress.EdgeStrips(page, media, trim)
            assert strips.size == whole.size
            width, height = whole.size
            assert strips.top > 12 and strips.left > 12  # the bleed (3 mm at 4 px/mm) and the point inside the trim
            pixels = whole.load()
            edge_points = [(x, y) for x in range(width) for y in (*range(strips.top), *range(height - strips.bottom, height))]
            edge_points += [(x, y) for y in range(height) for x in (*range(strips.left), *range(width - strips.right, width))]
            assert all(strips[point] == pixels[point] for point in edge_points)
            colours |= {strips[point] for point in edge_points}
            assert prepress.missing_bleed(strips, media, trim) == prepress.missing_bleed(whole, media, trim)
            with pytest.raises(IndexError):
                strips[width // 2, height // 2]  # the middle of the page is not rendered
    assert len(colours) > 10  # not blank: the cover's photo, the divider's tint
