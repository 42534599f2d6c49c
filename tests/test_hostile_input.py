"""Hostile and broken input: every bad input gets one clear line (file:line: key: message), the
build exits with its documented status, the last good outputs stay byte for byte, and no
temporary file is left behind.

Tests that need previous outputs copy one project built once for English (the fastest edition).
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image
from pypdf import PdfReader

from brochure_build import output
from brochure_build.build import build
from brochure_build.cli import main
from brochure_build.errors import ContentError, Problem
from brochure_build.render.fetcher import ProjectFetcher, ResourceRefused
from brochure_build.source.content import load_content
from brochure_build.source.translations import check_content
from brochure_build.source.yamlsource import MAX_FILE_BYTES
from conftest import REPO, copy_project, pdf_path
from helpers import ctrl_c_as_in_a_terminal, normalize, page_texts
from test_content_errors import line_of, replace_in

EN = "brochure/text/en.yaml"
SETTINGS = "brochure/brochure.yaml"
ALIAS = "anchors and aliases (&, *) are not allowed: write the value out"


@pytest.fixture(scope="module")
def built_en(tmp_path_factory) -> tuple[Path, Path]:
    """The committed content with its English PDFs built: the 'last good build' every test starts from.

    Returns (project folder, a pristine copy of its build/). Tests work in that same folder, restored
    before each: WeasyPrint names images by their absolute URL, so PDFs are byte-identical only
    when rebuilt from the same place.
    """
    base = tmp_path_factory.mktemp("hostile")
    root = copy_project(base / "project")
    build(root, ["en"])
    shutil.copytree(root / "build", base / "pristine-build")
    return root, base / "pristine-build"


@pytest.fixture()
def previous(built_en) -> Path:
    """The built project, restored to its committed inputs and last good build/, that a test may break."""
    root, pristine = built_en
    shutil.rmtree(root)
    copy_project(root)
    shutil.copytree(pristine, root / "build")
    return root


def outputs(root: Path) -> dict[str, bytes]:
    """Every file of the English edition's build folder (PDFs, HTML, stamps), by name; not the
    copy-fit reports (*.layout.json), which a failed build rewrites on purpose for preflight."""
    return {path.name: path.read_bytes() for path in sorted((root / "build/en").iterdir())
            if not path.name.endswith(".layout.json")}


def assert_kept(root: Path, before: dict[str, bytes], but: str | None = None) -> None:
    """The previous outputs are byte-identical and no temporary file is left anywhere; files
    whose name contains `but` (a product rebuilt on purpose) are not compared."""
    after = outputs(root)
    if but:
        before = {name: data for name, data in before.items() if but not in name}
        after = {name: data for name, data in after.items() if but not in name}
    assert sorted(after) == sorted(before)
    assert [name for name in before if after[name] != before[name]] == []
    assert sorted(path.name for path in root.rglob("*.tmp")) == []


def run(capsys, root: Path, *args: str) -> tuple[int, str, str]:
    """`brochure build --root ROOT --lang en ARGS` in this process: (exit status, stdout, stderr)."""
    status = main(["build", "--root", str(root), "--lang", "en", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def aborted(*lines: str) -> str:
    """What stderr holds for a content error: the problems, then the count."""
    return "".join(line + "\n" for line in lines) + f"Aborted with {len(lines)} error{'s' if len(lines) != 1 else ''}.\n"


def assert_fails(capsys, root: Path, *lines: str) -> None:
    """The build fails with exactly these problems, exit 1, and changes nothing."""
    before = outputs(root)
    status, out, err = run(capsys, root)
    assert (status, err) == (1, aborted(*lines))
    assert out == ""
    assert_kept(root, before)


# 1. Content ---------------------------------------------------------------------------------


def test_yaml_syntax_error(previous, capsys):
    en = previous / EN
    replace_in(en, "  keywords: [Luxembourg,", "  keywords: [Luxembourg,,")
    assert_fails(capsys, previous,
                 f"{EN}:{line_of(en, 'keywords:')}: YAML syntax error: did not find expected node content: "
                 "check the quotes, brackets and indentation of this line or the one before")


def test_wrong_type(previous, capsys):
    en = previous / EN
    replace_in(en, "    title_lines:\n      - Luxembourg,\n", "    title_lines: Luxembourg,\n    old_lines:\n      - Luxembourg,\n")
    assert_fails(capsys, previous,
                 f"{EN}:{line_of(en, 'title_lines:')}: sections.cover.title_lines: expected a list, found text",
                 f"{EN}:{line_of(en, 'old_lines:')}: sections.cover.old_lines: unknown key (did you mean 'title_lines'?): "
                 "not a field of page kind 'cover' (layouts/pages/cover.kind.yaml)")


def test_unknown_key_with_did_you_mean(previous, capsys):
    en = previous / EN
    replace_in(en, "    contribution: In absolute terms", "    contributon: In absolute terms")
    assert_fails(capsys, previous,
                 f"{EN}:{line_of(en, '  priority-3:')}: sections.priority-3.contribution: missing",
                 f"{EN}:{line_of(en, 'contributon:')}: sections.priority-3.contributon: unknown key (did you mean 'contribution'?): "
                 "not a field of page kind 'priority' (layouts/pages/priority.kind.yaml)")


def test_missing_required_key(previous, capsys):
    en = previous / EN
    replace_in(en, "  author: Ministry of Foreign and European Affairs of Luxembourg\n", "")
    assert_fails(capsys, previous, f"{EN}:{line_of(en, 'meta:')}: meta.author: missing")


def test_duplicate_key(previous, capsys):
    en = previous / EN
    replace_in(en, "  credit: ©\n", "  credit: ©\n  credit: Photo\n")
    first, second = line_of(en, "credit: ©"), line_of(en, "credit: Photo")
    assert_fails(capsys, previous, f"{EN}:{second}: labels.credit: duplicate key (first on line {first}): remove one")


def test_explosive_aliases_are_refused_without_expanding(previous, capsys):
    """A 'billion laughs' document: 9 ** 9 strings once expanded; refused from its 72 aliases, the first 50 shown."""
    en = previous / EN
    levels = "abcdefghi"
    bomb = ["  keywords:", f"    - &a [{', '.join(['lol'] * 9)}]"]
    bomb += [f"    - &{level} [{', '.join(['*' + levels[i]] * 9)}]" for i, level in enumerate(levels[1:])]
    replace_in(en, "  keywords: [Luxembourg, Human Rights Council, human rights, multilateralism, United Nations]",
               "\n".join(bomb))
    first = line_of(en, "- &a")
    # In the order the loader meets them: 8 lines of 9 aliases; it shows the first 50 of a file's problems.
    aliases = [Problem(EN, first + level, f"meta.keywords[{level}][{item}]", ALIAS) for level in range(1, 9) for item in range(9)]
    more = Problem(EN, first + 6, "", "22 more problems in this file not shown")
    not_text = [Problem(EN, first + level, f"meta.keywords[{level}]", "expected text, found a list") for level in range(9)]
    assert_fails(capsys, previous, *map(str, sorted(aliases[:50] + [more] + not_text)))


def test_empty_file(previous, capsys):
    (previous / EN).write_text("# nothing here yet\n", encoding="utf-8")
    assert_fails(capsys, previous, f"{EN}:1: file is empty: write its content, or restore it from git")


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_wrong_encoding(previous, capsys, encoding):
    en = previous / EN
    line = line_of(en, "credit: ©") if encoding == "latin-1" else 1  # the first byte that is not UTF-8: © or the BOM
    en.write_bytes(en.read_text(encoding="utf-8").encode(encoding, errors="replace"))
    assert_fails(capsys, previous, f"{EN}:{line}: not valid UTF-8: save the file as UTF-8")


def test_very_large_file(previous, capsys):
    en = previous / EN
    text = en.read_text(encoding="utf-8")
    en.write_text(text + "#" * (MAX_FILE_BYTES + 1 - len(text.encode())) + "\n", encoding="utf-8")
    size = en.stat().st_size
    assert_fails(capsys, previous, f"{EN}: file is {size:,} bytes, over the limit of {MAX_FILE_BYTES:,}: "
                                   "content is words, not data: is this the right file?")


def test_control_character(previous, capsys):
    en = previous / EN
    replace_in(en, "  pledges: Pledges", "  pledges: Pledges\x01")
    assert_fails(capsys, previous, f"{EN}:{line_of(en, 'pledges: Pledges')}: character U+0001 is not allowed in YAML: remove it")


@pytest.mark.parametrize("nesting", ["[" * 5000, "".join("  " * depth + "- \n" for depth in range(400))])
def test_absurd_nesting(previous, capsys, nesting):
    (previous / EN).write_text("labels:\n" + nesting, encoding="utf-8")
    message = "YAML syntax error: exceeded maximum nesting depth: check the quotes, brackets and indentation of this line or " \
        "the one before" if nesting.startswith("[") else "nested more than 32 levels deep: content is a few levels of keys and lists"
    assert_fails(capsys, previous, f"{EN}:{2 if nesting.startswith('[') else 1}: {message}")


def test_impossible_date(previous, capsys):
    settings = previous / SETTINGS
    replace_in(settings, "date: 2020-11-02", "date: 2020-02-31")
    assert_fails(capsys, previous,
                 f"{SETTINGS}:{line_of(settings, 'date:')}: date: unreadable value '2020-02-31': day is out of range for month: "
                 "correct it, or put it in quotes to keep it as text")


def test_every_problem_of_a_run_is_reported_together(previous, capsys):
    """Text, photos, fonts and stylesheets: one run, one line each."""
    en = previous / EN
    replace_in(en, "  credit: ©\n", "  credit: [©]\n")
    (previous / "assets/photos/unicef-turkey.jpg").unlink()
    with (previous / "layouts/css/pages.css").open("a") as css:
        css.write("\n.cover__panel { background: url(https://example.com/texture.png); }\n")
    font = previous / "fonts/NotoSerif-Bold.ttf"
    data = font.read_bytes()
    font.unlink()  # a hard link to the repository's file: replace it, never write through it
    font.write_bytes(data[:-1])
    manifest = previous / "fonts/manifest.yaml"
    pinned = manifest_entry(manifest, "NotoSerif-Bold.ttf")
    settings = previous / SETTINGS
    assert_fails(
        capsys, previous,
        f"{SETTINGS}:{line_of(settings, 'unicef-turkey:')}: figures.unicef-turkey.file: assets/photos/unicef-turkey.jpg not found "
        "(run `make photos` to create stand-ins)",
        f"{EN}:{line_of(en, 'credit:')}: labels.credit: expected text, found a list",
        f"fonts/manifest.yaml:{pinned['sha256_line']}: fonts[{pinned['index']}].sha256: fonts/NotoSerif-Bold.ttf: sha256 is "
        f"{hashlib.sha256(data[:-1]).hexdigest()[:12]}…, the manifest pins {pinned['sha256'][:12]}…: restore the pinned file, "
        "or re-run scripts/vendor_fonts.py if the change is deliberate",
        f"layouts/css/pages.css:{line_of(previous / 'layouts/css/pages.css', 'texture.png')}: url(https://example.com/texture.png): "
        "a https: URL is not allowed, only files inside the project",
    )


def manifest_entry(manifest: Path, name: str) -> dict:
    """Index, pinned sha256 and the line of `sha256:` of one font in fonts/manifest.yaml."""
    lines = manifest.read_text(encoding="utf-8").splitlines()
    index = sum(1 for line in lines[: line_of(manifest, f"file: {name}")] if line.startswith("- file:")) - 1
    sha_line = next(i for i in range(line_of(manifest, f"file: {name}"), len(lines) + 1) if lines[i - 1].strip().startswith("sha256:"))
    return {"index": index, "sha256": lines[sha_line - 1].split(":", 1)[1].strip(), "sha256_line": sha_line}


# 2. Markup in text --------------------------------------------------------------------------

MARKUP = ('<script>alert("x")</script> <img src="https://example.com/x.png"> '
          "<style>body { display: none }</style> {{ edition.meta.title }} {% raw %} &amp; &lt;b&gt;")


def test_markup_in_text_is_printed_literally(previous, capsys):
    en = previous / EN
    replace_in(en, "    contribution: In absolute terms, Luxembourg is one of the 20 largest donors to UN Women. Luxembourg also "
                   "supports the work of the Special Rapporteur on violence against women, its causes and consequences.",
               f"    contribution: '{MARKUP}'")
    replace_in(en, "  title: Luxembourg, candidate for the Human Rights Council 2022–2024",
               "  title: '</title><script>alert(1)</script>'")
    status, out, err = run(capsys, previous)
    assert (status, err) == (0, "")
    pdf = pdf_path(previous, "en", "screen")
    page = page_texts(pdf)[7].replace("\u2010\n", "")  # page 8, priority 3; joined where hyphenation broke a word
    assert normalize(MARKUP) in normalize(page)
    assert PdfReader(pdf).metadata["/Title"] == "</title><script>alert(1)</script>"
    html = pdf.with_suffix(".html").read_text(encoding="utf-8")
    assert "<script" not in html and "<img src=\"https" not in html and "<style>body" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html and "{{ edition.meta.title }}" in html


# 3. Paths and URLs --------------------------------------------------------------------------

FIGURE_REFUSALS = {
    "../outside.jpg": "a path with .. is not allowed",
    "photos/../../brochure/brochure.yaml": "a path with .. is not allowed",
    "/etc/hostname": "an absolute path is not allowed, only a path relative to its folder",
    "file:///etc/hostname": "a file: URL is not allowed, only files inside the project",
    "http://example.com/photo.jpg": "a http: URL is not allowed, only files inside the project",
    "https://example.com/photo.jpg": "a https: URL is not allowed, only files inside the project",
    "data:image/jpeg;base64,/9j/4AAQSkZJRg==": "a data: URL is not allowed, only files inside the project",
}


@pytest.mark.parametrize("file", FIGURE_REFUSALS)
def test_figure_path_leaving_the_project_is_refused(previous, capsys, file):
    settings = previous / SETTINGS
    replace_in(settings, "file: photos/hrc-ceiling.jpg,", f"file: '{file}',")
    assert_fails(capsys, previous,
                 f"{SETTINGS}:{line_of(settings, 'hrc-ceiling:')}: figures.hrc-ceiling.file: {file}: {FIGURE_REFUSALS[file]}; "
                 "photos are files under assets/, such as photos/cover.jpg")


def test_figure_link_pointing_out_of_the_project_is_refused(previous, tmp_path, capsys):
    outside = tmp_path / "outside.jpg"
    shutil.copy(previous / "assets/photos/hrc-ceiling.jpg", outside)
    photo = previous / "assets/photos/hrc-ceiling.jpg"
    photo.unlink()
    photo.symlink_to(outside)
    assert_fails(capsys, previous,
                 f"{SETTINGS}:{line_of(previous / SETTINGS, 'hrc-ceiling:')}: figures.hrc-ceiling.file: assets/photos/hrc-ceiling.jpg "
                 f"is a link to {outside}, outside the project folder: put the photo itself in assets/")


CSS_REFUSALS = {
    "http://example.com/texture.png": "a http: URL is not allowed, only files inside the project",
    "https://example.com/texture.png": "a https: URL is not allowed, only files inside the project",
    "file:///etc/hostname": "a file: URL is not allowed, only files inside the project",
    "data:image/png;base64,iVBORw0KGgo=": "a data: URL is not allowed, only files inside the project",
    "/etc/hostname": "an absolute path is not allowed, only a path relative to its folder",
    "../../../outside.png": "leads to {outside}, outside the project folder: put the file in the project",
    "../../assets/photos/nowhere.jpg": "assets/photos/nowhere.jpg not found",
}


@pytest.mark.parametrize("url, form", [(url, "url({url})") for url in CSS_REFUSALS] + [
    ("file:///etc/hostname", 'url("{url}")'), ("https://example.com/texture.png", '@import "{url}"'),
    ("../../../outside.png", '@import "{url}"')])
def test_stylesheet_url_leaving_the_project_is_refused(previous, capsys, url, form):
    css = previous / "layouts/css/base.css"
    rule = form.format(url=url) + ";" if form.startswith("@") else f".cover__panel {{ background-image: {form.format(url=url)}; }}"
    css.write_text(rule + "\n" + css.read_text(encoding="utf-8"), encoding="utf-8")
    message = CSS_REFUSALS[url].format(outside=previous.parent / "outside.png")
    assert_fails(capsys, previous, f"layouts/css/base.css:1: url({url}): {message}")


def test_stylesheet_link_pointing_out_of_the_project_is_refused(previous, tmp_path, capsys):
    outside = tmp_path / "outside.css"
    sheet = previous / "layouts/css/pages.css"
    shutil.copy(sheet, outside)
    sheet.unlink()
    sheet.symlink_to(outside)
    assert_fails(capsys, previous,
                 f"layouts/css/pages.css: a link to {outside}, outside the project folder: put the file itself in the project")


def test_text_file_link_pointing_out_of_the_project_is_refused(previous, tmp_path, capsys):
    outside = tmp_path / "en.yaml"
    shutil.copy(previous / EN, outside)
    (previous / EN).unlink()
    (previous / EN).symlink_to(outside)
    assert_fails(capsys, previous, f"{EN}: a link to {outside}, outside the project folder: put the file itself in the project")


def test_font_path_leaving_fonts_is_refused(previous, capsys):
    manifest = previous / "fonts/manifest.yaml"
    replace_in(manifest, "- file: NotoSans-Regular.ttf", "- file: ../../../etc/hostname")
    pinned = line_of(manifest, "file: ../../../etc/hostname")
    index = sum(1 for line in manifest.read_text().splitlines()[:pinned] if line.startswith("- file:")) - 1
    assert_fails(capsys, previous,
                 f"fonts/manifest.yaml:{pinned}: fonts[{index}].file: ../../../etc/hostname: a font is a file directly in fonts/; "
                 "paths and links out of fonts/ are not allowed")


@pytest.fixture()
def no_network(monkeypatch) -> list[str]:
    """Every attempt to resolve a name or open a connection, recorded and refused."""
    attempts: list[str] = []

    def refuse(what):
        def refused(*args, **kwargs):
            attempts.append(f"{what}{args[1:] if what == 'connect' else args}")
            raise OSError(errno.ENETUNREACH, "network use in a build")
        return refused

    monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("connect"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    return attempts


@pytest.mark.parametrize("element, url", [
    ('<img src="{url}" alt="">', "http://example.com/tracker.png"),
    ('<link rel="stylesheet" href="{url}">', "https://example.com/x.css"),
    ('<img src="{url}" alt="">', "file:///etc/hostname"),
])
def test_template_url_is_refused_by_the_fetcher_without_network(previous, capsys, no_network, element, url):
    """What the stylesheet check cannot see (a URL in a template) the URL fetcher refuses while rendering."""
    replace_in(previous / "layouts/pages/closing.html.j2", "</section>", element.format(url=url) + "</section>")
    before = outputs(previous)
    status, out, err = run(capsys, previous)
    reason = f"outside the project folder {previous}" if url.startswith("file:") else \
        f"only files inside the project can be used (no {url.split(':')[0]} URLs)"
    assert (status, err) == (1, f"en screen: {url.removeprefix('file://')}: {reason}\nAborted.\n")
    assert no_network == []
    # The leaflet, which has no closing page, is rebuilt from the changed layouts/ and succeeds.
    assert_kept(previous, before, but="-leaflet-")


def test_stylesheet_url_is_refused_without_network(previous, capsys, no_network):
    with (previous / "layouts/css/base.css").open("a") as css:
        css.write('\n@import url(https://fonts.example.com/css?family=Roboto);\n')
    assert_fails(capsys, previous,
                 f"layouts/css/base.css:{line_of(previous / 'layouts/css/base.css', '@import')}: "
                 "url(https://fonts.example.com/css?family=Roboto): a https: URL is not allowed, only files inside the project")
    assert no_network == []


def test_fetcher_serves_project_files_only(previous, tmp_path):
    fetcher = ProjectFetcher(previous)
    inside = previous / "layouts/css/base.css"
    # WeasyPrint sees the project under a virtual folder (identical bytes from any checkout).
    assert fetcher.virtual_url(inside) == "file:///brochure-project/layouts/css/base.css"
    assert fetcher.fetch(fetcher.virtual_url(inside)).read() == inside.read_bytes()
    (previous / "layouts/leak.css").symlink_to(tmp_path / "secret.css")
    (tmp_path / "secret.css").write_text("secret")
    refused = {
        "file:///etc/hostname": f"/etc/hostname: outside the project folder {previous}",
        inside.as_uri(): f"{inside}: an absolute path; refer to project files by relative paths",
        fetcher.virtual_url(previous / "layouts/leak.css"): f"{previous / 'layouts/leak.css'}: outside the project folder {previous}",
        "file:///brochure-project/layouts/../../secret.css":
            f"{previous / 'layouts/../../secret.css'}: outside the project folder {previous}",
        "http://example.com/x.css": "http://example.com/x.css: only files inside the project can be used (no http URLs)",
        "https://example.com/x.css": "https://example.com/x.css: only files inside the project can be used (no https URLs)",
        "data:text/css,body{}": "data:text/css,body{}: only files inside the project can be used (no data URLs)",
        "file://example.com/etc/hostname": "file://example.com/etc/hostname: only files inside the project can be used "
                                           "(no file URLs)",
    }
    for url, message in refused.items():
        with pytest.raises(ResourceRefused) as caught:
            fetcher.fetch(url)
        assert str(caught.value) == message


# 4. Assets ----------------------------------------------------------------------------------


def figure_line(root: Path, figure: str) -> str:
    return f"{SETTINGS}:{line_of(root / SETTINGS, figure + ':')}: figures.{figure}.file"


def test_missing_photo(previous, capsys):
    (previous / "assets/photos/pride-parliament.jpg").unlink()
    assert_fails(capsys, previous, f"{figure_line(previous, 'pride-parliament')}: assets/photos/pride-parliament.jpg not found "
                                   "(run `make photos` to create stand-ins)")


def test_empty_photo(previous, capsys):
    (previous / "assets/photos/pride-parliament.jpg").write_bytes(b"")
    assert_fails(capsys, previous, f"{figure_line(previous, 'pride-parliament')}: assets/photos/pride-parliament.jpg is empty "
                                   "(0 bytes): replace it with the photo")


def test_corrupt_photo(previous, capsys):
    (previous / "assets/photos/pride-parliament.jpg").write_bytes(b"<html>404 Not Found</html>\n" * 40)
    assert_fails(capsys, previous, f"{figure_line(previous, 'pride-parliament')}: assets/photos/pride-parliament.jpg is not an "
                                   "image Pillow can read: replace it with a JPEG or PNG")


def test_truncated_photo(previous, capsys):
    photo = previous / "assets/photos/pride-parliament.jpg"
    data = photo.read_bytes()
    photo.write_bytes(data[: len(data) // 2])
    before = outputs(previous)
    status, out, err = run(capsys, previous)
    prefix = f"{figure_line(previous, 'pride-parliament')}: assets/photos/pride-parliament.jpg is damaged (image file is truncated ("
    assert status == 1 and err.startswith(prefix)
    assert err.endswith(" bytes not processed)): replace it with a complete copy\nAborted with 1 error.\n")
    assert err[len(prefix):].split(" ")[0].isdigit()
    assert_kept(previous, before)


def test_photo_with_absurd_pixel_count(previous, capsys):
    """A PNG header announcing 30000 × 30000 pixels (a decompression bomb): refused before any decoding."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = (30000).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    (previous / "assets/photos/pride-parliament.jpg").write_bytes(png)
    assert_fails(capsys, previous, f"{figure_line(previous, 'pride-parliament')}: assets/photos/pride-parliament.jpg has too many "
                                   "pixels to be a photo (a decompression bomb?), over the limit of 73.0 megapixels "
                                   "(8 × what 300 ppi needs at the largest frame, 216 × 303 mm): replace it")


def test_photo_far_below_300_ppi_still_builds(previous, capsys):
    """A preflight matter (brochure preflight), not a crash: 64 pixels across a 174 mm wide frame is 9 ppi."""
    Image.new("RGB", (64, 25), (30, 90, 160)).save(previous / "assets/photos/asselborn-murad.jpg", quality=90)
    status, out, err = run(capsys, previous)
    assert (status, err) == (0, "")
    assert out.splitlines()[0].startswith("en  screen  build/en/luxembourg-hrc-2022-2024-en-screen.pdf  12 pages")
    assert out.splitlines()[1].startswith("en  print   build/en/luxembourg-hrc-2022-2024-en-print.pdf  12 pages")
    assert len(PdfReader(pdf_path(previous, "en", "print")).pages) == 12


def test_font_no_longer_matching_its_manifest(previous, capsys):
    font = previous / "fonts/NotoSans-Regular.ttf"
    data = font.read_bytes()
    font.unlink()  # a hard link to the repository's file: replace it, never write through it
    changed = data + b"\0"
    font.write_bytes(changed)
    pinned = manifest_entry(previous / "fonts/manifest.yaml", "NotoSans-Regular.ttf")
    assert_fails(capsys, previous,
                 f"fonts/manifest.yaml:{pinned['sha256_line']}: fonts[{pinned['index']}].sha256: fonts/NotoSans-Regular.ttf: "
                 f"sha256 is {hashlib.sha256(changed).hexdigest()[:12]}…, the manifest pins {pinned['sha256'][:12]}…: "
                 "restore the pinned file, or re-run scripts/vendor_fonts.py if the change is deliberate")


def test_font_missing(previous, capsys):
    (previous / "fonts/NotoSans-Regular.ttf").unlink()
    manifest = previous / "fonts/manifest.yaml"
    pinned = manifest_entry(manifest, "NotoSans-Regular.ttf")
    assert_fails(capsys, previous,
                 f"fonts/manifest.yaml:{line_of(manifest, 'file: NotoSans-Regular.ttf')}: fonts[{pinned['index']}].file: "
                 "fonts/NotoSans-Regular.ttf: file is missing: restore it from git",
                 f"layouts/css/fonts.css:{line_of(previous / 'layouts/css/fonts.css', 'NotoSans-Regular.ttf')}: "
                 "url(../../fonts/NotoSans-Regular.ttf): fonts/NotoSans-Regular.ttf not found")


def test_glyph_no_font_has(previous, capsys):
    en = previous / EN
    replace_in(en, "  heading: Gender equality and the fight against discrimination",
               "  heading: Gender equality and the fight against discrimination 🜁")
    before = outputs(previous)
    status, out, err = run(capsys, previous)
    # The heading is on the brochure's page 8 and the leaflet's page 3: each product says so.
    message = (f"no font of this language has the character '🜁' (U+1F701), used in {EN}:{line_of(en, '🜁')}: add a font "
               "that covers it to fonts/ and its family to the language's fonts in brochure.yaml, or change the text")
    assert (status, err) == (1, f"en screen: {message}\nen screen luxembourg-hrc-2022-2024-leaflet: {message}\nAborted.\n")
    assert_kept(previous, before)


# 5. Runs ------------------------------------------------------------------------------------


def test_unknown_language(previous, capsys):
    before = outputs(previous)
    status = main(["build", "--root", str(previous), "--lang", "en", "--lang", "de"])
    assert (status, capsys.readouterr().err) == (1, aborted(
        f"{SETTINGS}: languages: --lang de: no such language; the brochure has: zh, en, fr, es, ru, ar"))
    assert_kept(previous, before)


def test_build_is_a_file(project, capsys, monkeypatch):
    (project / "build").write_text("not a folder\n")
    monkeypatch.chdir(project)
    status = main(["build", "--lang", "en"])
    assert (status, capsys.readouterr().err) == (
        1, "build: is a file, not a folder: remove or rename it; the PDFs are written to build/<lang>/\nAborted.\n")
    assert (project / "build").read_text() == "not a folder\n"


def test_language_folder_is_a_file(previous, capsys, monkeypatch):
    shutil.rmtree(previous / "build/en")
    (previous / "build/en").write_text("not a folder\n")
    monkeypatch.chdir(previous)
    status = main(["build", "--lang", "en"])
    assert (status, capsys.readouterr().err) == (
        1, "build/en: cannot write: File exists: a file stands where a folder is expected (or the reverse): remove or rename "
           "it; the previous outputs are unchanged\nAborted.\n")
    assert (previous / "build/en").read_text() == "not a folder\n"


@pytest.fixture()
def read_only(tmp_path):
    """Make a folder read-only, even for root: chmod when not root, the immutable attribute (chattr +i) when root."""
    made: list[Path] = []

    def make(folder: Path) -> None:
        if os.geteuid() != 0:
            folder.chmod(0o555)
        elif shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode:
            pytest.skip("root, and no chattr +i on this file system: a folder cannot be made read-only")
        made.append(folder)

    yield make
    for folder in made:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)


def test_build_folder_is_read_only(previous, capsys, monkeypatch, read_only):
    before = outputs(previous)
    read_only(previous / "build/en")
    monkeypatch.chdir(previous)
    status = main(["build", "--lang", "en", "--force"])
    reason = "Operation not permitted" if os.geteuid() == 0 else "Permission denied"
    assert (status, capsys.readouterr().err) == (
        1, f"build/en: cannot write: {reason}: the folder is read-only: make it writable, or build a copy of the project "
           "elsewhere; the previous outputs are unchanged\nAborted.\n")
    assert_kept(previous, before)


def test_disk_full(previous, capsys, monkeypatch):
    """The disk fills up as the PDF is put in place: a message naming the file, the previous PDF intact."""
    real_replace = os.replace

    def replace(source, target, **kwargs):
        if Path(target).suffix == ".pdf":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_replace(source, target, **kwargs)

    monkeypatch.setattr(output.os, "replace", replace)
    monkeypatch.chdir(previous)
    before = outputs(previous)
    status = main(["build", "--lang", "en", "--force"])
    assert (status, capsys.readouterr().err) == (
        1, "".join(f"build/en/luxembourg-hrc-2022-2024{product}-en-screen.pdf: cannot write: No space left on device: the disk "
                   "is full: free some space and build again; the previous outputs are unchanged\n" for product in ("", "-leaflet"))
        + "Aborted.\n")
    assert_kept(previous, before)


def test_disk_full_while_writing_the_pdf(previous, capsys, monkeypatch):
    """The disk fills up while WeasyPrint writes the temporary PDF (our write() wrapper, the render itself is real)."""
    from brochure_build.render.pdf import Renderer

    real_write = Renderer.write

    def write(self, document, target, *args, **kwargs):
        real_write(self, document, target, *args, **kwargs)
        Path(target).write_bytes(Path(target).read_bytes()[:1000])  # what was written before the disk filled
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))

    monkeypatch.setattr(Renderer, "write", write)
    monkeypatch.chdir(previous)
    before = outputs(previous)
    status = main(["build", "--lang", "en", "--force"])
    assert (status, capsys.readouterr().err) == (
        1, "".join(f"build/en/luxembourg-hrc-2022-2024{product}-en-screen.pdf: cannot write: No space left on device: the disk "
                   "is full: free some space and build again; the previous outputs are unchanged\n" for product in ("", "-leaflet"))
        + "Aborted.\n")
    assert_kept(previous, before)


def test_temporary_files_of_a_killed_build_are_removed(previous, capsys):
    """SIGKILL or a power cut leave a temporary file: the next build, holding the lock, removes it."""
    stale = previous / "build/en/.luxembourg-hrc-2022-2024-en-print.pdf.k1ll3d.tmp"
    stale.write_bytes(b"%PDF-1.7 half written")
    before = outputs(previous)
    del before[stale.name]
    status, out, err = run(capsys, previous)
    assert (status, err) == (0, "")
    assert [line.split()[-1] for line in out.splitlines()] == ["unchanged"] * 6  # the brochure's files and the leaflet's
    assert_kept(previous, before)


def test_a_bug_is_one_line_with_its_own_status(previous, capsys, monkeypatch):
    """Not the user's fault: said in one line, exit 70; --debug shows the traceback."""
    import brochure_build.build

    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(brochure_build.build, "build", broken)
    status, out, err = run(capsys, previous)
    assert (status, err) == (70, "Internal error: ZeroDivisionError: division by zero. This is a bug in brochure_build, not in "
                                 "the project: run again with --debug and report the traceback.\n")
    status, out, err = run(capsys, previous, "--debug")
    assert status == 70 and "Traceback" in err and "in broken" in err


def start_build(root: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "brochure_build", "build", "--root", str(root), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=ctrl_c_as_in_a_terminal)


@pytest.mark.parametrize("signum, status, word", [(signal.SIGINT, 130, "Interrupted"), (signal.SIGTERM, 143, "Terminated")])
def test_interrupted_build_keeps_the_last_good_pdfs(previous, signum, status, word):
    before = outputs(previous)
    # One worker (--jobs 1), so the outputs are reported one by one as they are written.
    process = start_build(previous, "--force", "--jobs", "1", "--lang", "en", "--lang", "fr")
    first = process.stdout.readline()  # the English screen PDF is done (laid out first): the print one is rendering now
    assert first.startswith("en  screen ")
    process.send_signal(signum)
    out, err = process.communicate(timeout=120)
    assert (process.returncode, err) == (status, f"{word}: the last good PDFs are unchanged.\n")
    assert_kept(previous, before)  # the screen PDF was rebuilt, byte-identical; the print one never replaced
    assert not (previous / "build/fr").exists() or sorted(p.name for p in (previous / "build/fr").iterdir()) == []


def processes_building(root: Path) -> list[int]:
    """Processes (a build and its workers) whose command line names this project."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and str(root).encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            pass
    return found


def test_terminated_parallel_build_stops_its_workers_and_keeps_the_last_good_pdfs(previous):
    before = outputs(previous)
    process = start_build(previous, "--force", "--jobs", "2", "--lang", "en", "--lang", "fr")
    time.sleep(3)  # not a timing assertion: lets both workers start rendering
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert (process.returncode, err) == (143, "Terminated: the last good PDFs are unchanged.\n")
    assert_kept(previous, before)
    deadline = time.monotonic() + 10
    while processes_building(previous) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_building(previous) == []


def test_second_build_waits_for_the_first(previous):
    """build/.lock: while another build holds it, a build waits, says so, and writes nothing."""
    import fcntl

    before = outputs(previous)
    with open(previous / "build/.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        process = start_build(previous, "--lang", "en")
        waiting = process.stderr.readline()
        assert waiting == f"Waiting for another build of this project to finish ({previous}/build/.lock is held by pid {os.getpid()})...\n"
        time.sleep(0.5)  # not a timing assertion: gives a build that ignored the lock the chance to write something
        assert outputs(previous) == before and process.poll() is None
        fcntl.flock(lock, fcntl.LOCK_UN)
    out, err = process.communicate(timeout=120)
    assert (process.returncode, err) == (0, "")
    assert [line.split()[:2] + line.split()[-1:] for line in out.splitlines()] == [
        ["en", variant, "unchanged"] for _ in ("brochure", "leaflet") for variant in ("print", "screen", "imposed")]
    assert_kept(previous, before)


def test_two_builds_at_once(previous):
    """One rebuilds everything, the other waits for it, then finds the outputs up to date (or goes first and does)."""
    before = outputs(previous)
    first = start_build(previous, "--force", "--lang", "en")
    second = start_build(previous, "--lang", "en")
    results = [(process.returncode, out, err) for process in (first, second) for out, err in [process.communicate(timeout=240)]]
    assert [status for status, _, _ in results] == [0, 0]
    # The forced build lays out the screen file first (it chooses the copy-fit settings); the other
    # finds every file up to date, and lists them in plan order.
    for (_, out, err), order, unchanged in [(results[0], ("screen", "print", "imposed"), False),
                                            (results[1], ("print", "screen", "imposed"), True)]:
        assert [line.split()[:3] + [line.split()[-1] == "unchanged"] for line in out.splitlines()] == [
            ["en", variant, f"build/en/luxembourg-hrc-2022-2024{product}-en-{variant}.pdf", unchanged]
            for product in ("", "-leaflet") for variant in order]
        assert err == "" or re.fullmatch(r"Waiting for another build of this project to finish \(.*/build/\.lock is held by "
                                         r"(pid \d+|another process)\)\.\.\.\n", err)
    assert_kept(previous, before)


# 6. Any document at all: the content loaders end in values or in ContentError, never another exception.

SCALARS = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30) | st.dates()
           | st.binary(max_size=8))
KEYS = st.text(max_size=12) | st.integers(-3, 300) | st.booleans() | st.none() | st.floats(allow_nan=False)
DOCUMENTS = st.recursive(SCALARS, lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=5),
                         max_leaves=25)
YAML_TEXTS = DOCUMENTS.map(lambda value: yaml.dump(value, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False))
CONTENT_FILES = [SETTINGS, EN, "brochure/text/zh.yaml"]


@pytest.fixture(scope="module")
def loader_project(tmp_path_factory) -> Path:
    """Only brochure/: all the loaders read."""
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(REPO / "brochure", root / "brochure")
    return root


def load_everything(root: Path) -> None:
    """What `brochure build` and `brochure check` read before rendering; ContentError is the only way to fail."""
    try:
        load_content(root, ["en"])
    except ContentError as error:
        assert error.problems and all(isinstance(problem, Problem) for problem in error.problems)
    try:
        check_content(root, ["en"], out=io.StringIO())
    except ContentError as error:
        assert error.problems


def write_case(root: Path, target: str, data: bytes) -> None:
    for name in CONTENT_FILES:
        shutil.copy(REPO / name, root / name)
    (root / target).write_bytes(data)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(target=st.sampled_from(CONTENT_FILES),
       data=YAML_TEXTS.map(str.encode) | st.text(max_size=200).map(str.encode) | st.binary(max_size=200))
# Documents that crashed the loaders before they were fixed:
@example(target=SETTINGS, data=b"date: 2020-02-31\n")  # an impossible date: ValueError from PyYAML's constructor
@example(target=EN, data=b"{1: a, true: b}\n")  # one key to Python, two keys to YAML: KeyError
@example(target=EN, data=b"[" * 5000)  # RecursionError in PyYAML's composer
@example(target=EN, data=b"!foo x: 1\n")  # a tagged key: ConstructorError outside the try
@example(target=EN, data=b"a: !!int abc\n")  # ValueError
@example(target=SETTINGS, data=b"languages: 5\nfigures: true\n")  # TypeError: list(5), list(True)
@example(target=SETTINGS, data=b"=:")  # '=' resolves to YAML's value tag, which the safe constructor refuses
@example(target=SETTINGS, data=b"sections: [{id: a, kind: cover, pages: 1, figures: [[x]]}]\n")  # unhashable figure id
@example(target=SETTINGS, data=b"sections: [{id: a, kind: cover, pages: '1-" + b"9" * 5000 + b"'}]\n")  # int() of 5000 digits
@example(target=EN, data=b"source_fingerprints: [a, b]\n")  # brochure check: list has no .get
def test_any_document_gives_content_errors_only(loader_project, target, data):
    write_case(loader_project, target, data)
    load_everything(loader_project)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(target=st.sampled_from(CONTENT_FILES), data=st.data())
def test_any_change_to_a_real_file_gives_content_errors_only(loader_project, target, data):
    """The real files with one value swapped for any document, or a slice of the text replaced: deep in the schema."""
    text = (REPO / target).read_text(encoding="utf-8")
    if data.draw(st.booleans(), label="swap a value"):
        tree = yaml.load(text, Loader=yaml.CSafeLoader)
        node = tree
        while isinstance(node, (dict, list)) and node and data.draw(st.integers(0, 3), label="descend") > 0:
            key = data.draw(st.sampled_from(list(node) if isinstance(node, dict) else list(range(len(node)))), label="key")
            if not isinstance(node[key], (dict, list)) or not node[key]:
                break
            node = node[key]
        if isinstance(node, (dict, list)) and node:
            key = data.draw(st.sampled_from(list(node) if isinstance(node, dict) else list(range(len(node)))), label="key")
            node[key] = data.draw(DOCUMENTS, label="value")
        text = yaml.dump(tree, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False)
    else:
        start = data.draw(st.integers(0, len(text)), label="start")
        end = data.draw(st.integers(start, min(len(text), start + 80)), label="end")
        text = text[:start] + data.draw(st.text(max_size=40), label="inserted") + text[end:]
    write_case(loader_project, target, text.encode("utf-8", errors="surrogatepass"))
    load_everything(loader_project)


# 7. Links, loops, colour profiles and sizes that once ended in "Internal error" or got through --------


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that announces `width` × `height` pixels and holds almost none (168 KB of zeros compress to nothing)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("folder", ["brochure", "layouts", "assets", "fonts"])
def test_project_folder_that_is_a_link_out_of_the_project_is_refused(previous, tmp_path, capsys, folder):
    """A cloned project can carry a link as one of its folders: nothing is read through it."""
    outside = tmp_path / "elsewhere" / folder
    shutil.move(previous / folder, outside)
    (previous / folder).symlink_to(outside)
    assert_fails(capsys, previous, f"{folder}: a link to {outside}, outside the project folder: put the folder itself in the project")


def test_link_under_layouts_included_by_a_template_is_refused(previous, capsys):
    (previous / "layouts/pages/leak.txt").symlink_to("/etc/passwd")
    replace_in(previous / "layouts/pages/closing.html.j2", "</section>", '{% include "pages/leak.txt" %}</section>')
    assert_fails(capsys, previous,
                 "layouts/pages/leak.txt: a link to /etc/passwd, outside the project folder: put the file itself in the project")


def test_link_loop_under_layouts_is_named(previous, capsys):
    (previous / "layouts/css/loop.css").symlink_to("loop.css")
    (previous / "layouts/css/a.css").symlink_to("b.css")
    (previous / "layouts/css/b.css").symlink_to("a.css")
    loop = "a link that leads back to itself (a loop): replace it with the file"
    assert_fails(capsys, previous, f"layouts/css/a.css: {loop}", f"layouts/css/b.css: {loop}", f"layouts/css/loop.css: {loop}")


def test_photo_that_links_to_itself_is_named(previous, capsys):
    photo = previous / "assets/photos/pride-parliament.jpg"
    photo.unlink()
    photo.symlink_to("pride-parliament.jpg")
    assert_fails(capsys, previous, f"{figure_line(previous, 'pride-parliament')}: assets/photos/pride-parliament.jpg is a link "
                                   "that leads back to itself (a loop): replace it with the file")


def test_cmyk_photo_without_a_profile_is_taken_to_be_in_the_output_profile(previous, capsys):
    """Its numbers are kept for print, and converted from the output profile for the screen."""
    Image.new("CMYK", (2055, 803), (0, 153, 255, 0)).save(previous / "assets/photos/asselborn-murad.jpg", quality=95)
    status, out, err = run(capsys, previous)
    assert (status, err) == (0, "")
    screen = [path for path in (previous / "build/.cache/images").glob("asselborn-murad-screen-*.jpg")]
    colour = Image.open(max(screen, key=lambda path: path.stat().st_mtime)).convert("RGB").getpixel((10, 10))
    assert colour[0] > 200 and 80 < colour[1] < 170 and colour[2] < 90, colour  # orange in FOGRA39: 0 % C, 60 % M, 100 % Y


def test_photo_with_a_damaged_colour_profile_is_named(previous, capsys):
    Image.new("RGB", (2055, 803), (30, 90, 160)).save(previous / "assets/photos/asselborn-murad.jpg", icc_profile=b"not ICC" * 100)
    assert_fails(capsys, previous, f"{figure_line(previous, 'asselborn-murad')}: assets/photos/asselborn-murad.jpg has a damaged "
                                   "colour profile (ICC, 700 bytes: cannot open profile from string): export the photo again with "
                                   "its profile, or without one (then sRGB is assumed, or the output profile for CMYK)")


def test_photo_whose_profile_does_not_match_its_colours_is_named(previous, capsys):
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.new("CMYK", (2055, 803), (0, 153, 255, 0)).save(previous / "assets/photos/asselborn-murad.jpg", icc_profile=srgb)
    assert_fails(capsys, previous, f"{figure_line(previous, 'asselborn-murad')}: assets/photos/asselborn-murad.jpg is CMYK but its "
                                   "colour profile (ICC) describes RGB: export the photo again with the profile of its own colours")


def test_photo_with_more_pixels_than_the_brochure_can_use(previous, capsys, recwarn):
    """12000 × 12000 is between Pillow's warning and its error: refused by the brochure's own limit, without a warning."""
    (previous / "assets/photos/pride-parliament.jpg").write_bytes(png_header_only(12000, 12000))
    assert_fails(capsys, previous, f"{figure_line(previous, 'pride-parliament')}: assets/photos/pride-parliament.jpg is "
                                   "12,000 × 12,000 pixels (144.0 megapixels), over the limit of 73.0 megapixels (8 × what 300 "
                                   "ppi needs at the largest frame, 216 × 303 mm): scale it down")
    assert [str(warning.message) for warning in recwarn if "Decompression" in warning.category.__name__] == []


NESTING = "nested more than 32 levels deep (brackets, functions, blocks): a stylesheet is a few levels of rules: simplify it"


@pytest.mark.parametrize("css, message", [
    (".cover__panel { width: " + "calc(" * 100_000 + "1px" + ")" * 100_000 + "; }", NESTING),
    ("@media print{" * 50_000 + "p { color: red; }" + "}" * 50_000, NESTING),
    (" ".join(["p"] * 200_000) + " { color: red; }", "a selector that chains 200,000 parts, over the limit of 32: "
                                                     "select with a class instead"),
    ("@media print { p, " + " > ".join(["p"] * 33) + " { color: red; } }", "a selector that chains 33 parts, over the "
                                                                            "limit of 32: select with a class instead"),
], ids=["calc", "media", "descendants", "children-in-media"])
def test_stylesheet_nested_too_deep_is_refused_before_parsing(previous, capsys, css, message):
    """WeasyPrint and cssselect2 recurse once per level: 200,000 levels ended in RecursionError ("Internal error").
    (100,000 and 50,000 levels here, to stay under the 1 MB limit of a stylesheet.)"""
    sheet = previous / "layouts/css/base.css"
    sheet.write_text(css + "\n" + sheet.read_text(encoding="utf-8"), encoding="utf-8")
    assert_fails(capsys, previous, f"layouts/css/base.css:1: {message}")


def test_stylesheet_over_the_size_limit_is_refused_unread(previous, capsys):
    from brochure_build.source.sandbox import MAX_STYLESHEET_BYTES

    sheet = previous / "layouts/css/base.css"
    text = sheet.read_text(encoding="utf-8")
    sheet.write_text(text + "/*" + "x" * (MAX_STYLESHEET_BYTES - len(text.encode())) + "*/\n", encoding="utf-8")
    size = sheet.stat().st_size
    assert_fails(capsys, previous, f"layouts/css/base.css: file is {size:,} bytes, over the limit of 1,048,576 for a "
                                   "stylesheet: split it, or remove what is generated")


def test_bidi_control_characters_are_an_error_with_line_and_column(previous, capsys):
    """U+202E makes the YAML's `gnitov` print as `voting`: a reviewer would read something else than the page."""
    en = previous / EN
    replace_in(en, "    heading: Commitments and responsibilities", "    heading: \u202egnitov\u202c and responsibilities")
    replace_in(en, "  credit: ©", '  credit: "\\u2067©\\u2069"')  # the same, written as escapes
    heading, credit = line_of(en, "gnitov"), line_of(en, "credit:")
    why = "changes the order in which the text is shown, so the file reads differently from the page: remove it, or tag " \
          "the value !bidi if it is deliberate"
    assert_fails(capsys, previous,
                 f"{EN}:{credit}: labels.credit: character U+2067 (RIGHT-TO-LEFT ISOLATE) (written as an escape) {why}",
                 f"{EN}:{heading}: sections.closing.heading: character U+202C (POP DIRECTIONAL FORMATTING) at column 21 {why}",
                 f"{EN}:{heading}: sections.closing.heading: character U+202E (RIGHT-TO-LEFT OVERRIDE) at column 14 {why}")


def test_bidi_control_characters_declared_with_the_bidi_tag_are_kept(previous, capsys):
    en = previous / EN
    replace_in(en, "    heading: Commitments and responsibilities for the 2022–2024 term",
               "    heading: !bidi \"Commitments for \u2067\u0662\u0660\u0662\u0662\u2069\"")
    _, (edition,) = load_content(previous, ["en"])
    assert [section["heading"] for section in edition.sections if section.spec.id == "closing"] == \
        ["Commitments for \u2067\u0662\u0660\u0662\u0662\u2069"]


def test_a_word_running_off_the_page_sideways_fails_naming_block_and_page(previous, capsys):
    """A 10,000-letter word ran through trim and bleed (x = 2594 pt on a 612 pt page) and the build passed."""
    en = previous / EN
    replace_in(en, '      - "Should it have the honour', '      - "' + "a" * 10_000 + ' Should it have the honour')
    status, out, err = run(capsys, previous)
    line = line_of(en, "a" * 100)
    message = re.compile(rf"en screen: {EN}:{line}: sections\.closing\.body\[0\]: text runs [\d.]+ mm past the right edge "
                         r"of the live area on page 10 \(p of section 'closing'\): break the long word \(a space, a hyphen\), "
                         r"or shorten it")
    assert status == 1 and message.match(err.splitlines()[0]), err
    # Preflight reads the same measure from the layout the failed build kept, beside the last good PDFs.
    assert main(["preflight", "--root", str(previous), "--lang", "en"]) == 1
    report = (previous / "build/preflight.json").read_text(encoding="utf-8")
    assert "sections.closing.body[0]: text runs" in report and "past the right edge of the live area on page 10" in report


def test_copy_fit_message_of_a_runaway_text_gives_its_pages_as_a_range():
    from brochure_build.render.layoutcheck import plan_problems
    from brochure_build.source.content import load_content

    _, (edition,) = load_content(REPO, ["en"])
    report = {"pages": 907, "sideways": [], "sections": [
        {"id": "closing", "planned": [10, 10], "pages": [10, 907],
         "overflow": {"pages": list(range(11, 908)), "lines": 40_000, "mm": 1e5}}],
        "frames": [{"page": page, "frame": "the page area", "section": "closing", "lines": 40, "mm": 3.5} for page in range(11, 908)]}
    assert plan_problems(edition, report, "en print") == [
        "en print: section 'closing' does not fit page 10: 40000 lines (100000.0 mm) run onto pages 11-907; shorten the text, or "
        "give its kind a fit: with smaller steps (layouts/pages/closing.kind.yaml; the sections after it move with it)",
        "en print: section 'closing': text overflows the page area on pages 11-907 by 3.5 mm (35880 lines)"]


def test_a_font_weasyprint_cannot_load_is_named_by_its_file(previous, capsys):
    """A font replaced with garbage and its sha256 updated passes the manifest; WeasyPrint only said
    "Font-face 'Brochure Serif' cannot be loaded", naming no file."""
    font = previous / "fonts/NotoSerif-Regular.ttf"
    old = hashlib.sha256(font.read_bytes()).hexdigest()
    garbage = b"\0\1\0\0" + b"not a font " * 1000
    font.unlink()  # hard-linked to the repository's copy: replace it, never write through it
    font.write_bytes(garbage)
    replace_in(previous / "fonts/manifest.yaml", old, hashlib.sha256(garbage).hexdigest())
    status, out, err = run(capsys, previous)
    assert status == 1, err
    assert "en screen: font-face 'Brochure Serif' cannot be loaded from fonts/NotoSerif-Regular.ttf (layouts/css/fonts.css:10): " \
        "it is not a font WeasyPrint can read: restore the file from git (or re-run scripts/vendor_fonts.py)\n" in err, err


def test_make_remembers_the_built_pdfs_not_the_preview_ones(tmp_path):
    """`make` rebuilds when a PDF it listed is gone: a preview PDF removed must not count."""
    recipe = next(line.strip().lstrip("@") for line in (REPO / "Makefile").read_text().splitlines()
                  if line.startswith("\t") and "find build" in line and "> $@" in line)
    for pdf in ("build/en/x-en-print.pdf", "build/.preview/ar/x-ar-preview.pdf", "build/.cache/fonts/y.pdf"):
        (tmp_path / pdf).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / pdf).write_bytes(b"%PDF")
    subprocess.run(["sh", "-c", recipe.replace("$@", "done.txt")], cwd=tmp_path, check=True)
    assert (tmp_path / "done.txt").read_text().split() == ["build/en/x-en-print.pdf"]
