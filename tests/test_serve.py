"""The live preview (preview.py, serve.py): what a change re-renders, the file serving over plain
HTTP, and the whole loop in a real headless Chromium (load the spreads, edit a CSS token, break
and mend CSS and YAML, switch language)."""

from __future__ import annotations

import http.client
import io
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from pypdf import PdfReader

from brochure_build.errors import BuildError, ContentError
from brochure_build.preview import parts as previewparts
from brochure_build.preview.live import Pending, Preview, Watcher
from brochure_build.preview.serve import PreviewServer, save_whole, set_css_token
from brochure_build.review.proofs import page_images
from brochure_build.source import content
from conftest import pdf_path
from helpers import normalize

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "TZ", "TMPDIR")  # all the browser gets of ours
WAIT = 120  # seconds: a render takes 1–5 s, more while other work shares the machine


@pytest.fixture()
def http_only(project):
    """A preview server over `project` that answers HTTP but renders nothing."""
    server = PreviewServer(Preview(project), port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield project, server
    server.shutdown()
    server.server_close()


def get(server: PreviewServer, path: str, host: str | None = None, method: str = "GET",
        headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """Send `path` exactly as written (http.client does not normalise ../ or %2e); as the preview's
    own page does (with its token) unless `headers` say otherwise."""
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)
    connection.putrequest(method, path, skip_host=host is not None)
    if host is not None:
        connection.putheader("Host", host)
    for name, value in ({"X-Preview-Token": server.token} if headers is None else headers).items():
        connection.putheader(name, value)
    connection.endheaders()
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body


def test_serves_the_pdfs_in_build_and_nothing_else(http_only, tmp_path):
    root, server = http_only
    pdf = root / "build" / "zh" / "proof-zh-print.pdf"
    pdf.parent.mkdir(parents=True)
    pdf.write_bytes(b"%PDF-1.7 the print PDF\n")
    (root / "build" / "zh" / "notes.txt").write_text("not a PDF")
    secret = tmp_path / "secret.pdf"
    secret.write_bytes(b"%PDF-1.7 outside the project\n")
    (root / "build" / "zh" / "escape.pdf").symlink_to(secret)

    assert get(server, "/files/zh/proof-zh-print.pdf") == (200, b"%PDF-1.7 the print PDF\n")
    for path in ("/files/../brochure/brochure.yaml", "/files/%2e%2e/brochure/brochure.yaml",
                 "/files/zh/..%2f..%2fbrochure%2fbrochure.yaml", "/files/..%2f..%2f..%2f..%2fetc%2fpasswd",
                 "/files//etc/passwd", f"/files/{secret}", "/files/zh/escape.pdf", "/files/zh/notes.txt",
                 "/files/zh/x%00.pdf", "/files/", "/files/zh"):
        status, body = get(server, path)
        assert (status, body) == (404, b"only the PDFs in build/ are served\n"), path
    # The status lists the built PDF with a link that serves it.
    status, body = get(server, "/status?lang=zh")
    assert status == 200 and b'"url": "/files/zh/proof-zh-print.pdf"' in body


def test_answers_only_to_its_own_address(http_only):
    _, server = http_only
    assert get(server, "/status?lang=zh", host="attacker.example:80")[0] == 421
    assert get(server, "/status?lang=zh", host=f"localhost:{server.server_port}")[0] == 200
    assert get(server, "/status?lang=zh", method="POST")[0] == 501
    assert get(server, "/xx/") == (404, b"not found\n")
    assert get(server, "/status?lang=xx") == (404, b"no language 'xx'\n")
    assert server.server_address[0] == "127.0.0.1"


# -- the browser test -----------------------------------------------------------------------------


@pytest.fixture()
def server_process(project, tmp_path):
    """`brochure serve` over `project` on a free port, in its own process as a user runs it."""
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen([sys.executable, "-m", "brochure_build", "serve", "--root", str(project), "--port", "0"],
                                   stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + WAIT
    while not (match := re.search(r"at (http://127\.0\.0\.1:\d+/)", log.read_text())):
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    yield match[1], process, log
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


@pytest.fixture()
def browser(tmp_path):
    assert CHROMIUM.exists() and CHROMEDRIVER.exists(), \
        "the preview test needs Debian's chromium and chromium-driver: run `scripts/system_deps.sh test` (as root)"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(dir=tmp_path)
    # Flags a container needs: no setuid sandbox, and shared memory in /tmp (/dev/shm is 64 MB in
    # Docker, and a renderer that runs out of it crashes).
    for flag in ("--headless", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-extensions", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}", "--window-size=1400,1000"):
        options.add_argument(flag)
    # A clean environment: whatever a test or the library left in this process's (a font
    # configuration, a proxy) is not the browser's business.
    environment = {name: os.environ[name] for name in CHROMIUM_ENVIRONMENT if name in os.environ} | {"HOME": profile}
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER), env=environment), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


# Most frequent colour of a page image as the browser has it, read back through a canvas.
DOMINANT_COLOUR = """
const image = arguments[0], canvas = document.createElement('canvas');
canvas.width = image.naturalWidth; canvas.height = image.naturalHeight;
const context = canvas.getContext('2d');
context.drawImage(image, 0, 0);
const data = context.getImageData(0, 0, canvas.width, canvas.height).data, counts = new Map();
for (let i = 0; i < data.length; i += 4) {
  const key = `${data[i]},${data[i + 1]},${data[i + 2]}`;
  counts.set(key, (counts.get(key) || 0) + 1);
}
return [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
"""


def shown(driver) -> dict:
    """What the page shows: the generation of its images, the images, the banner."""
    return driver.execute_script("""
        const images = [...document.querySelectorAll('#spreads img.page')];
        const banner = document.getElementById('banner');
        return {generation: Number(document.getElementById('spreads').dataset.generation),
                pages: images.map((image) => image.dataset.page),
                loaded: images.every((image) => image.complete && image.naturalWidth > 0),
                sources: images.map((image) => image.getAttribute('src')),
                banner: banner.hidden ? '' : banner.textContent};""")


def wait_for(driver, condition, what: str) -> dict:
    deadline = time.monotonic() + WAIT
    while True:
        state = shown(driver)
        if condition(state):
            return state
        assert time.monotonic() < deadline, f"waited {WAIT} s for {what}; the page shows {state}"
        time.sleep(0.1)


def colour(driver, page: int) -> tuple[int, ...]:
    image = driver.find_element("css selector", f'img.page[data-page="{page}"]')
    return tuple(int(part) for part in driver.execute_script(DOMINANT_COLOUR, image).split(","))


def near(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 6) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def x_of(driver, page: int) -> float:
    return driver.find_element("css selector", f'img.page[data-page="{page}"]').rect["x"]


def test_preview_in_a_real_browser(project, server_process, browser):
    url, process, log = server_process
    tokens = project / "layouts" / "css" / "tokens.css"
    text_file = project / "brochure" / "text" / "zh.yaml"

    # Load: the Chinese edition's twelve pages as seven spreads, the cover alone on the right.
    # The project was never built: the first pages are laid out at a provisional copy-fit setting,
    # then the server searches the settings and shows the pages again (the build's pages).
    browser.get(url)
    assert browser.current_url == url + "zh/"
    first = wait_for(browser, lambda s: s["generation"] >= 2 and s["loaded"], "the pages with their copy-fit searched")
    assert first["pages"] == [str(n) for n in range(1, 13)] and first["banner"] == ""
    spreads = browser.find_elements("css selector", "#spreads .spread")
    assert [len(spread.find_elements("css selector", "img.page")) for spread in spreads] == [1, 2, 2, 2, 2, 2, 1]
    blank = spreads[0].find_element("css selector", ".blank").rect["x"]
    assert blank < x_of(browser, 1) and x_of(browser, 2) < x_of(browser, 3) and x_of(browser, 12) < \
        spreads[-1].find_element("css selector", ".blank").rect["x"]
    # Page 5, the opener, is filled with the tint colour of tokens.css (#e5f4fb).
    assert near(colour(browser, 5), (0xE5, 0xF4, 0xFB))
    languages = [link.text for link in browser.find_elements("css selector", "#languages a")]
    assert languages == ["zh", "en", "fr", "es", "ru", "ar"]

    # Edit a token: the page refreshes by itself with the new colour (twice: a changed stylesheet
    # makes the copy-fit settings provisional, and the server searches them after showing the pages).
    set_css_token(tokens, "color-tint", "#f3e3c3")
    second = wait_for(browser, lambda s: s["generation"] >= first["generation"] + 2 and s["loaded"], "the edited pages")
    assert second["sources"] != first["sources"] and len(second["pages"]) == 12
    assert near(colour(browser, 5), (0xF3, 0xE3, 0xC3))

    # Broken CSS: the error is shown above the last good pages.
    good_css = tokens.read_text()
    tokens.write_text(good_css.replace("--color-ink:", "colour: red;\n  --color-ink:"))
    broken = wait_for(browser, lambda s: s["banner"], "the CSS error")
    assert "zh preview: WeasyPrint: Ignored `colour: red`" in broken["banner"] and "unknown property" in broken["banner"]
    assert broken["sources"] == second["sources"] and broken["loaded"]
    tokens.write_text(good_css)
    mended = wait_for(browser, lambda s: not s["banner"] and s["generation"] > second["generation"], "recovery from CSS")
    assert near(colour(browser, 5), (0xF3, 0xE3, 0xC3)) and mended["loaded"]

    # Broken YAML: its file:line message, the pages stay; mended, the pages come back.
    good_text = text_file.read_text(encoding="utf-8")
    lines = good_text.splitlines(keepends=True)
    line = next(number for number, text in enumerate(lines, 1) if text.startswith("  credit: "))
    lines[line - 1] = lines[line - 1].rstrip("\n") + ": x\n"
    text_file.write_text("".join(lines), encoding="utf-8")
    broken = wait_for(browser, lambda s: s["banner"], "the YAML error")
    assert f"brochure/text/zh.yaml:{line}: YAML syntax error: mapping values are not allowed" in broken["banner"]
    assert broken["sources"] == mended["sources"] and broken["loaded"]
    assert browser.find_element("id", "banner").is_displayed()
    text_file.write_text(good_text, encoding="utf-8")
    recovered = wait_for(browser, lambda s: not s["banner"] and s["generation"] > mended["generation"], "recovery from YAML")
    assert len(recovered["pages"]) == 12 and recovered["loaded"]

    # The preview PDF link: the current Chinese edition, twelve pages.
    link = browser.find_element("css selector", "#pdfs a.pdf")
    assert link.text == "preview (screen) PDF"
    with urllib.request.urlopen(link.get_attribute("href"), timeout=30) as response:
        reader = PdfReader(io.BytesIO(response.read()))
    settings, (edition,) = content.load_content(project, ["zh"])
    assert len(reader.pages) == 12 and normalize(edition.section("cover")["title_lines"][0]) in normalize(reader.pages[0].extract_text())

    # Switch to Arabic: the spreads mirror, the cover alone on the left (once its copy-fit is searched, as zh's).
    browser.find_element("link text", "ar").click()
    wait_for(browser, lambda s: s["generation"] >= 2 and s["loaded"] and s["sources"][0].startswith("/pages/ar/"),
             "the Arabic pages")
    assert browser.current_url == url + "ar/"
    spreads = browser.find_elements("css selector", "#spreads .spread")
    assert x_of(browser, 1) < spreads[0].find_element("css selector", ".blank").rect["x"]
    assert x_of(browser, 2) > x_of(browser, 3) and x_of(browser, 10) > x_of(browser, 11)
    assert x_of(browser, 12) > spreads[-1].find_element("css selector", ".blank").rect["x"]

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    output = log.read_text()
    assert output.rstrip().endswith("Stopped.")
    assert re.search(r"zh  preview 3: 12 pages in [\d.]+ s \(.*\), [\d.]+ s after saving layouts/css/tokens\.css", output)


def test_a_change_re_renders_only_the_editions_it_concerns(project):
    preview = Preview(project, "zh")
    assert set(preview.pending) == {"zh"}  # the language to show first, nothing else
    preview.pending.clear()
    for code in ("zh", "en"):  # two editions shown; the other four never opened
        preview.publish(code, images=(b"page",))
    english = preview.edition("en")
    assert preview.fonts_checked and preview.edition("en") is english  # content kept between renders

    preview.apply({"brochure/text/en.yaml": 1.0})
    assert {code: pending.changed for code, pending in preview.pending.items()} == {"en": {"brochure/text/en.yaml"}}
    assert preview.edition("en") is not english and preview.edition("en") == english  # reloaded from its file only

    preview.pending.clear()
    preview.apply({"layouts/css/tokens.css": 2.0})
    assert {code: pending.saved_at for code, pending in preview.pending.items()} == {"zh": 2.0, "en": 2.0}
    memo = preview.inputs  # a stylesheet changes neither content nor fonts nor photos; its checks are redone
    assert preview.fonts_checked and memo.editions and memo.fonts == [] and memo.photos == [] and memo.layouts is None

    preview.apply({"fonts/manifest.yaml": 3.0, "assets/photos/hrc-ceiling.jpg": 3.5})
    assert not preview.fonts_checked and memo.fonts is None and memo.photos is None
    assert preview.pending["zh"].saved_at == 3.5

    settings = preview.settings
    (project / "brochure" / "brochure.yaml").write_text("slug: [", encoding="utf-8")
    preview.apply({"brochure/brochure.yaml": 4.0})
    assert preview.settings is settings and preview.languages() == ["zh", "en", "fr", "es", "ru", "ar"]  # the last good
    with pytest.raises(ContentError, match=r"brochure/brochure.yaml:1: YAML syntax error"):
        preview.edition("zh")


def bitmaps(pdf: Path) -> list[bytes]:
    return [page.tobytes() for page in page_images(pdf, dpi=72)]


@pytest.mark.filterwarnings("ignore:No fonts configured in FontConfig")  # on purpose: fonts.isolate_fontconfig
def test_the_preview_shows_the_pages_of_the_screen_variant(built_project):
    """Every edition's preview, made the preview's fast way (each unit of sections a document of
    its own, laid out in two warm processes at once, line breaks answered from memory), has the
    pixels of the screen PDF `brochure build` wrote: on the first render, on the next, which
    breaks no line anew, and with the units taken in the other order (each process then lays out
    other units: a unit starting on a left page, a right one, in Arabic too)."""
    from weasyprint.layout import inline, preferred

    original = inline.split_first_line
    preview = Preview(built_project, parallel=True)
    try:
        for code in preview.languages():
            screen = bitmaps(pdf_path(built_project, code, "screen"))
            unit_count = len(previewparts.units(preview.edition(code)))
            assert unit_count == 10, code
            for render in ("first", "repeated", "other order"):
                # Repeated: each process lays out the units it laid out before, and only those.
                preview.steal = render != "repeated"
                if render == "other order":  # the units of the last pages are now thought the dearest, and laid
                    preview.unit_seconds[code] = {page: page / 10 for page in preview.unit_seconds[code]}
                    preview.unit_sides[code] = {}  # out afresh: where less is queued
                preview.units.clear()  # every page laid out again, not kept from the render before
                pdf, images, problems, steps, _ = preview.render_pages(code)
                assert problems == [], code
                assert "part 2 total" in steps and "whole" not in steps, (code, steps)  # the helper laid units out
                assert steps["part 1 units"] + steps["part 2 units"] == unit_count, (code, steps)
                shown = bitmaps(pdf)
                assert len(shown) == len(images) == len(screen) == 12, code
                differ = [number for number, (a, b) in enumerate(zip(shown, screen, strict=True), 1) if a != b]
                assert differ == [], f"{code}, {render} render: the preview differs from the screen PDF on pages {differ}"
                if render == "repeated":
                    calls, broken = preview.line_counts
                    assert calls > 1000 and broken == 0, code  # all from memory, in both processes
    finally:
        preview.stop()
    assert inline.split_first_line is original and preferred.split_first_line is original  # patched during renders only


def test_the_dearest_units_are_taken_first(project):
    """Each process takes the next unit of sections when it is free, the dearest first, so the last
    ones, which decide whether the two finish together, are the cheapest. What each unit took is
    learned from render to render; a unit never measured is guessed from its pages."""
    _, (edition,) = content.load_content(project, ["en"])
    groups = previewparts.units(edition)
    firsts = [group[0].spec.first_page for group in groups]
    assert firsts == [1, 2, 5, 6, 7, 8, 9, 10, 11, 12]
    first = previewparts.dearest_first(previewparts.guessed_costs(groups, {}))[0]
    assert firsts[first] == 2  # nothing measured: the unit of pages 2–4 first
    costs = {1: 0.05, 2: 0.3, 5: 0.05, 6: 0.5, 7: 0.2, 8: 0.2, 9: 0.2, 10: 0.05, 11: 0.1}  # page 12 never measured
    order = [firsts[index] for index in previewparts.dearest_first(previewparts.guessed_costs(groups, costs))]
    assert order == [6, 2, 7, 8, 9, 12, 11, 1, 5, 10]  # page 12 guessed at 1.65 s / 10 pages = 0.165 s
    took = [previewparts.PartResult(steps={"total": 0.7}), previewparts.PartResult(steps={"total": 0.2})]
    learned = previewparts.learned(costs, [groups[3], groups[9]], took)
    assert learned[6] == pytest.approx(0.6) and learned[12] == 0.2 and learned[2] == 0.3  # the mean of before and now


def test_each_process_keeps_its_units_and_takes_the_cheapest_of_the_other(project):
    """A unit goes back to the process that laid it out last (its line-break memo knows the lines);
    one never laid out goes where less is queued. A process with nothing left takes the cheapest
    unit left to the other, unless stealing is off; after the helper fails, this process takes all."""
    costs = [0.5, 0.4, 0.3, 0.2, 0.1, 0.05]
    order = list(range(6))  # dearest first
    fresh = previewparts.UnitQueues(order, costs, [None] * 6)
    assert fresh.queues == ([0, 3, 4], [1, 2, 5])  # 0.5 | 0.4, +0.3 | 0.7 against 0.5 +0.2 +0.1 …
    kept = previewparts.UnitQueues(order, costs, [True, True, False, None, False, None])
    assert kept.queues == ([2, 3, 4, 5], [0, 1])
    assert [kept.take(False) for _ in range(4)] == [2, 3, 4, 5]
    assert kept.take(False) == 1 and kept.take(True) == 0 and kept.take(True) is None  # 1: the cheaper of the helper's
    strict = previewparts.UnitQueues(order, costs, [True, True, False, None, False, None], steal=False)
    assert [strict.take(False) for _ in range(5)] == [2, 3, 4, 5, None]
    assert strict.take(True) == 0
    strict.hand_back(0)  # the helper failed with unit 0
    assert [strict.take(False) for _ in range(3)] == [0, 1, None] and strict.take(True) is None


@pytest.mark.filterwarnings("ignore:No fonts configured in FontConfig")  # on purpose: fonts.isolate_fontconfig
def test_a_text_edit_lays_out_only_the_pages_it_changed(built_project):
    """One word added to a paragraph: the preview lays out the unit of sections holding it (in
    this process, the helper idle) and keeps every other page from the render before; the pages
    are those of the whole edition laid out in one piece at the same settings."""
    warm = Preview(built_project, parallel=True)
    fresh = Preview(built_project, parallel=False)
    try:
        edition = warm.edition("en")
        _, before, _, _, _ = warm.render_pages("en")
        text_file = built_project / "brochure" / "text" / "en.yaml"
        lines = text_file.read_text(encoding="utf-8").splitlines(keepends=True)
        start = next(n for n, line in enumerate(lines) if line.strip() == "priority-2:")
        number = next(n for n in range(start, len(lines)) if lines[n].startswith("      - "))
        lines[number] = lines[number].replace(" the ", " the very ", 1)
        text_file.write_text("".join(lines), encoding="utf-8")
        warm.apply(warm.watcher.changes())
        pdf, after, problems, steps, provisional = warm.render_pages("en")
        assert "priority-2" in provisional and problems == []
        assert "part 1 total" in steps and "part 2 total" not in steps, steps  # one part: the edited unit
        unit = next(group for group in previewparts.units(edition) if "priority-2" in [s.spec.id for s in group])
        pages = list(range(unit[0].spec.first_page, unit[-1].spec.last_page + 1))
        assert [n for n, (a, b) in enumerate(zip(before, after, strict=True), 1) if a is not b] == pages
        assert any(before[n - 1] != after[n - 1] for n in pages)  # the word is on them

        joined = bitmaps(pdf)
        fresh.last_choices = dict(warm.last_choices)  # the same provisional settings
        whole, _, _, whole_steps, _ = fresh.render_pages("en")
        assert "whole" in whole_steps
        assert joined == bitmaps(whole)  # (the same file name: read before the fresh render wrote it)

        # The server's loop shows the pages first; the preview PDF follows once it is idle
        # (live.JOIN_WHEN_IDLE_SECONDS), so that a save right after new pages need not wait for it.
        text_file.write_text("".join(lines).replace(" the very ", " the ", 1), encoding="utf-8")
        warm.apply(warm.watcher.changes())
        warm.render("en", Pending())
        assert warm.view("en").images == before  # the word taken away again: the first render's unit
        assert "en" in warm.unjoined and bitmaps(pdf) == joined  # the PDF still the last render's
        warm.join_preview_pdf("en")
        reverted = bitmaps(pdf)
        assert not warm.unjoined and len(reverted) == len(before) and reverted != joined
        assert [n for n, (a, b) in enumerate(zip(joined, reverted, strict=True), 1) if a != b] == pages
    finally:
        warm.stop()
        fresh.stop()


def test_a_part_that_strays_from_the_plan_is_laid_out_whole(project):
    """When a section of one part runs past its page, the parts are not the brochure's pages:
    the preview lays the edition out in one piece and reports what the build reports."""
    from brochure_build.build import build

    # The priorities set at one setting (their kind's fit: ranges removed), so the section runs
    # over rather than being shrunk by the copy-fit search, which fails before anything is laid out whole.
    kind = project / "layouts" / "pages" / "priority.kind.yaml"
    declaration = kind.read_text(encoding="utf-8")
    kind.write_text(declaration[:declaration.index("\nfit:\n") + 1], encoding="utf-8")
    path = project / "brochure" / "text" / "en.yaml"
    text = path.read_text(encoding="utf-8")
    body = re.search(r"(?m)^  priority-2:\n(?:    .*\n)*?    body:\n((?:      - .*\n)+)", text)
    path.write_text(text[:body.end(1)] + body[1] + text[body.end(1):], encoding="utf-8")  # its paragraphs twice
    with pytest.raises(BuildError) as built:
        build(project, ["en"])
    preview, whole = Preview(project, parallel=True), Preview(project, parallel=False)
    try:
        pdf, images, problems, steps, _ = preview.render_pages("en")
        _, whole_images, whole_problems, whole_steps, _ = whole.render_pages("en")
    finally:
        preview.stop()
    assert "parts" in steps and "whole" in steps, steps  # tried in parts, then laid out whole
    assert "parts" not in whole_steps
    assert problems == whole_problems and len(problems) == 1, problems
    assert re.fullmatch(r"en preview: section 'priority-2' does not fit page 7: \d+ lines \([\d.]+ mm\) run onto page 8; .*", problems[0])
    assert problems[0].split(": ", 1)[1] in str(built.value)  # the build's words
    assert images == whole_images and len(bitmaps(pdf)) == len(images) == 13


def test_the_preview_runs_the_build_input_checks_on_every_change(project, tmp_path):
    """A link out of the project under layouts/, or as layouts/ itself, stops the preview as it stops
    the build (inputs.check_inputs), before anything is read through it."""
    preview = Preview(project, parallel=False)
    try:
        # The project was never built: the first render lays the fitted sections out at the kinds'
        # plain values, provisional, without warning of the overflows the search then removes ...
        _, images, problems, _, provisional = preview.render_pages("en")
        assert provisional == ["commitment", "priority-1", "priority-2", "priority-3", "priority-4", "closing"]
        assert problems == [] and len(images) >= 12
        # ... and the second searches the settings (the server queues it at once).
        _, images, problems, _, provisional = preview.render_pages("en", search=True)
        assert len(images) == 12 and problems == [] and provisional == []

        (project / "layouts/pages/leak.txt").symlink_to("/etc/passwd")
        closing = project / "layouts/pages/closing.html.j2"
        closing.write_text(closing.read_text(encoding="utf-8").replace("</section>", '{% include "pages/leak.txt" %}</section>', 1),
                           encoding="utf-8")
        preview.apply(preview.watcher.changes())
        with pytest.raises(ContentError) as refused:
            preview.render_pages("en")
        assert str(refused.value) == ("layouts/pages/leak.txt: a link to /etc/passwd, outside the project folder: "
                                      "put the file itself in the project")

        (project / "layouts/pages/leak.txt").unlink()
        outside = tmp_path / "elsewhere" / "layouts"
        shutil.move(project / "layouts", outside)
        (project / "layouts").symlink_to(outside)
        preview.apply(preview.watcher.changes())
        with pytest.raises(ContentError) as refused:
            preview.render_pages("en")
        assert str(refused.value) == f"layouts: a link to {outside}, outside the project folder: put the folder itself in the project"

        (project / "layouts").unlink()
        shutil.move(outside, project / "layouts")
        closing.write_text(closing.read_text(encoding="utf-8").replace('{% include "pages/leak.txt" %}', ""), encoding="utf-8")
        preview.apply(preview.watcher.changes())
        _, images, problems, _, provisional = preview.render_pages("en")  # mended: the pages come back
        assert len(images) == 12 and problems == [] and provisional == []  # the layouts as searched: settings recalled
    finally:
        preview.stop()


def test_the_helper_process_starts_again_after_it_dies(project, capsys):
    preview = Preview(project, parallel=True)
    try:
        preview.render_pages("ar")
        helper = preview.helper.process
        helper.kill()
        helper.wait()
        preview.units.clear()  # the pages laid out again, not kept: the helper has a part to do
        _, images, problems, steps, _ = preview.render_pages("ar")  # between renders: a new helper takes the part
        assert preview.helper.process is not helper and preview.helper.process.poll() is None
        assert len(images) == 12 and problems == [] and "part 2 total" in steps

        # During a render: this process lays out what is left, and says why; the next has a helper again.
        submit = preview.helper.submit

        def dies_at_once(job):
            # Killed as soon as it has the job, long before its part can be done (killing it later,
            # in result(), raced with a helper that had already answered on a loaded machine).
            submit(job)
            preview.helper.process.kill()

        preview.helper.submit = dies_at_once
        preview.units.clear()
        _, images, problems, steps, _ = preview.render_pages("ar")
        assert len(images) == 12 and problems == [] and "whole" not in steps and "part 2 total" not in steps, steps
        assert steps["part 1 units"] == 10
        err = capsys.readouterr().err
        assert "ar  preview: the preview's helper process stopped" in err and "laying the rest out in this process" in err
        preview.helper.submit = submit
        preview.units.clear()
        _, images, _, steps, _ = preview.render_pages("ar")
        assert len(images) == 12 and "part 2 total" in steps and "whole" not in steps
        helper = preview.helper.process
    finally:
        preview.stop()
    assert helper.poll() is not None and preview.helper.process is None  # stopped with the preview


def test_remembered_line_breaks_follow_a_change_of_type(project):
    """After a change of type size, or of the font faces, the warm preview breaks lines as a
    fresh one does: nothing remembered from before the change is used."""
    css = project / "layouts" / "css"
    warm = Preview(project, parallel=False)  # one process: its memo sees every line
    warm.render_pages("en")
    set_css_token(css / "tokens.css", "body-size", "9.3pt")
    pdf, _, _, _, _ = warm.render_pages("en")
    assert 0 < warm.linebreaks.broken < warm.linebreaks.calls  # the headings' lines were kept, the text's broken anew
    fresh, _, _, _, _ = Preview(project, parallel=False).render_pages("en")
    assert bitmaps(pdf) == bitmaps(fresh)
    # One more font face declared: the font configuration changes, the memo starts again.
    with (css / "fonts.css").open("a", encoding="utf-8") as fonts_css:
        fonts_css.write('@font-face { font-family: "Brochure Spare"; src: url(../../fonts/NotoSans-Regular.ttf); }\n')
    warm.render_pages("en")
    assert 0 < len(warm.linebreaks.answers) == warm.linebreaks.broken  # only this render's answers are kept


def test_the_watcher_reports_what_changed_and_when(project):
    watcher = Watcher(project)
    assert watcher.changes() == {}
    tokens = project / "layouts" / "css" / "tokens.css"
    set_css_token(tokens, "color-tint", "#ffffff")
    (project / "layouts" / "css" / ".tokens.css.swp").write_text("an editor's swap file")
    (project / "brochure" / "text" / "es.yaml").unlink()
    changes = watcher.changes()
    assert changes.keys() == {"layouts/css/tokens.css", "brochure/text/es.yaml"}
    assert changes["layouts/css/tokens.css"] == tokens.stat().st_mtime_ns / 1e9
    assert watcher.changes() == {}


def test_a_closed_tab_stops_counting_as_viewed(http_only):
    _, server = http_only

    def waiting() -> list[threading.Thread]:  # handler threads still answering a request
        return [thread for thread in threading.enumerate() if "process_request" in thread.name]

    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)
    revision = server.preview.view("en").revision
    connection.request("GET", f"/status?lang=en&after={revision}", headers={"X-Preview-Token": server.token})  # a page waiting
    deadline = time.monotonic() + 10
    while not ("en" in server.preview.seen and waiting()):
        assert time.monotonic() < deadline, "the long poll did not start"
        time.sleep(0.05)
    connection.close()  # the tab moves on
    # The wait notices within a second or so, well before its 20 s limit, and en stops counting as shown.
    deadline = time.monotonic() + 10
    while waiting():
        assert time.monotonic() < deadline, "the long poll of a closed connection is still waiting"
        time.sleep(0.05)


def raw_request(server: PreviewServer, request: bytes) -> bytes:
    """Send `request` bytes as they are and return the whole answer (the server closes after it)."""
    with socket.create_connection(("127.0.0.1", server.server_port), timeout=30) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def test_malformed_requests_get_400_without_a_traceback(http_only, capfd):
    _, server = http_only
    host = f"Host: 127.0.0.1:{server.server_port}\r\nX-Preview-Token: {server.token}\r\n".encode()
    for target in (b"status?lang=zh", b"*", b"http://127.0.0.1/status?lang=zh"):
        answer = raw_request(server, b"GET " + target + b" HTTP/1.1\r\n" + host + b"Connection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 400 ") and answer.endswith(b"the request target must be a path starting with /\n"), answer
    for after in ("%C2%B2", "%D9%A1", "-1", "1e3", "9" * 40):  # ², Arabic-Indic one: digits to str.isdigit, not revisions
        assert get(server, f"/status?lang=zh&after={after}") == (400, b"after= takes a revision number (digits 0-9)\n"), after
    answer = raw_request(server, b"GET /status?lang=zh HTTP/1.1\r\nConnection: close\r\n\r\n")  # no Host
    assert answer.startswith(b"HTTP/1.1 400 ") and answer.endswith(b"a request needs a Host header\n"), answer
    time.sleep(0.2)
    assert capfd.readouterr().err == ""


def test_only_its_own_page_changes_state(http_only):
    """An <img src="http://127.0.0.1:8000/status?lang=en"> on any web page must not start renders."""
    _, server = http_only
    preview = server.preview
    refused = (403, b"only the preview's own page may ask for renders (Sec-Fetch-Site: same-origin, or the page's token)\n")
    for headers in ({}, {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}, {"X-Preview-Token": "guess"}):
        assert get(server, "/status?lang=en", headers=headers) == refused, headers
        status, body = get(server, "/en/", headers=headers)  # the page is served, and renders nothing
        assert status == 200 and f'content="{server.token}"'.encode() in body
    assert "en" not in preview.pending and "en" not in preview.seen and preview.focus == "zh"
    assert get(server, "/status?lang=en", headers={"Sec-Fetch-Site": "same-origin"})[0] == 200
    assert "en" in preview.pending and preview.focus == "en"
    assert get(server, "/fr/", headers={"Sec-Fetch-Site": "none"})[0] == 200  # typed in the address bar
    assert "fr" in preview.pending and preview.focus == "fr"
    assert get(server, "/status?lang=es")[0] == 200  # with the page's token
    assert "es" in preview.pending and preview.focus == "es"


def test_idle_connections_are_closed(http_only):
    _, server = http_only
    server.idle_seconds = 1
    with socket.create_connection(("127.0.0.1", server.server_port), timeout=30) as connection:
        started = time.monotonic()
        assert connection.recv(1) == b""  # closed by the server, having said nothing
        assert 0.8 < time.monotonic() - started < 10


def test_the_backlog_holds_100_simultaneous_connections(project):
    """100 connections made before the server accepts any: all are queued at once (a backlog of 5 held 6)."""
    server = PreviewServer(Preview(project), port=0)
    connections: list[socket.socket] = []
    serving = False
    try:
        for _ in range(100):
            connection = socket.socket()
            connection.settimeout(0.5)  # a connection the backlog cannot hold waits 1 s for its SYN to be sent again
            connection.connect(("127.0.0.1", server.server_port))
            connections.append(connection)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        serving = True
        request = f"GET /none HTTP/1.1\r\nHost: 127.0.0.1:{server.server_port}\r\nConnection: close\r\n\r\n".encode()
        for connection in connections:
            connection.settimeout(30)
            connection.sendall(request)
        assert all(connection.recv(12) == b"HTTP/1.1 404" for connection in connections)
    finally:
        for connection in connections:
            connection.close()
        if serving:
            server.shutdown()
        server.server_close()


def test_a_client_closing_early_is_not_a_traceback(http_only, capfd):
    root, server = http_only
    pdf = root / "build" / "zh" / "big-zh-print.pdf"
    pdf.parent.mkdir(parents=True)
    pdf.write_bytes(b"%PDF-1.7\n" + b"0" * 20_000_000)
    for _ in range(3):
        connection = socket.create_connection(("127.0.0.1", server.server_port), timeout=30)
        connection.sendall(f"GET /files/zh/big-zh-print.pdf HTTP/1.1\r\nHost: 127.0.0.1:{server.server_port}\r\n\r\n".encode())
        connection.recv(100)
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset, as a closed tab does
        connection.close()
    time.sleep(1)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("parallel", [False, True], ids=["whole", "in-parts"])
def test_a_newer_change_abandons_the_render_under_way(project, capsys, parallel):
    """A slow stylesheet (thousands of rules, under the 1 MB limit) renders for a second or more; a fix
    saved meanwhile is rendered at once instead of after it (in parts: the helper's part too)."""
    base = project / "layouts" / "css" / "base.css"
    good = base.read_text(encoding="utf-8")
    slow = good + "".join(f".r{i} p span, .q{i} > em {{ color: red; margin: {i % 7}px; }}\n" for i in range(4000))
    base.write_text(slow, encoding="utf-8")
    preview = Preview(project, "en", parallel=parallel)
    # A render of this stylesheet takes 1.3 s and more on a fast machine: abandoning after 0.3 s
    # (the watchdog's threshold, 1 s in use) leaves the fix saved well inside the slow render.
    preview.abandon_after = 0.3
    preview.start()
    try:
        first = preview.view("en")
        # The first pages show a provisional copy-fit, and the search's pages follow: a render
        # under way when they arrive is abandoned too. Wait for them.
        while (first.generation == 0 or first.searching) and not first.error:
            first = preview.wait("en", first.revision, timeout=WAIT)
        assert first.generation >= 1 and not first.error, first.error
        slow_seconds = first.seconds
        helper = preview.helper.process
        assert (helper is not None) == parallel
        # Saved whole, as an editor saves: a render of a half-written file would be abandoned too.
        save_whole(base, slow + "/* saved again */\n")  # another slow render starts
        view = first
        while not view.rendering:
            view = preview.wait("en", view.revision, timeout=WAIT)
        time.sleep(preview.abandon_after + 0.2)
        saved = time.monotonic()
        save_whole(base, good)  # the fix
        assert preview.view("en").rendering, "the slow render ended before the fix was saved: make it slower"
        while view.generation == first.generation:
            view = preview.wait("en", view.revision, timeout=WAIT)
        waited = time.monotonic() - saved
        same_helper = preview.helper.process is helper and (helper is None or helper.poll() is None)
    finally:
        preview.stop()
    assert preview.abandoned == 1 and "en  preview abandoned after" in capsys.readouterr().out
    assert view.generation == first.generation + 1 and not view.error  # the abandoned render published no pages
    assert waited < slow_seconds, (waited, slow_seconds)  # did not wait for the slow render to end
    # In parts, the helper's stale part was interrupted, not the helper: it laid out its part of
    # the fix warm, and it ended with the preview, having removed its fonts (SIGTERM would not be 0).
    assert same_helper and (helper is None or helper.returncode == 0)


def test_the_status_says_while_the_copy_fit_is_searched(project):
    """A never-built project: the first pages come at a provisional copy-fit and the status says the
    search follows (the page shows it; serve.time_edit waits for it before timing a save); the
    searched pages end it."""
    preview = Preview(project, "en", parallel=False)
    preview.start()
    try:
        view = preview.view("en")
        while view.generation < 1 and not view.error:
            view = preview.wait("en", view.revision, timeout=WAIT)
        assert view.generation == 1 and view.searching and preview.status("en", view)["searching"] is True
        while view.generation < 2 and not view.error:
            view = preview.wait("en", view.revision, timeout=WAIT)
        assert view.generation == 2 and not view.searching and preview.status("en", view)["searching"] is False
        assert preview.status("en", view)["state"] == "ready"
    finally:
        preview.stop()
