"""Preview server (`brochure serve`): an edition's pages as spreads in the browser, re-rendered
when the project changes.

One warm process renders the previews: WeasyPrint is imported and its fonts are loaded once,
the content is kept and reloaded only when its file changes. A change re-renders the screen
variant of the languages being viewed (the one opened last first) into
build/.preview/<lang>/ and rasterises its pages in memory; the page in the browser long-polls
/status and swaps in the new page images when the generation changes.

What a change re-does: brochure/brochure.yaml reloads the settings and every edition,
brochure/text/<lang>.yaml that edition only; layouts/ re-renders with the cached content (Jinja2
reloads changed templates, WeasyPrint reads the stylesheets on each render); assets/ re-checks
the photos; fonts/ re-verifies the manifest and starts a fresh font configuration (WeasyPrint
keeps a loaded font for the life of its configuration). A render that fails keeps the last good
pages and shows the error above them; the next change tries again.

The watcher polls the size and modification time of every file under the four folders every
0.05 s. About fifty files: a scan costs well under a millisecond, it sees editors' save-by-rename
and works on bind mounts and network file systems where inotify is silent, and it needs no
extra dependency (watchfiles would save at most the 0.05 s poll interval).

Only 127.0.0.1 is bound; requests naming another host are refused (DNS rebinding), and files
are served read-only from build/ only, PDFs only.
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import resource
import select
import signal
import socket
import sys
import threading
import time
import traceback
import urllib.request
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from brochure_build import content, fonts
from brochure_build.errors import BuildError, ContentError, Problem
from brochure_build.model import Edition, Settings

WATCHED = ("brochure", "layouts", "assets", "fonts")
PREVIEW_DIR = "build/.preview"
POLL_SECONDS = 0.05      # file watcher
SETTLE_SECONDS = 0.02    # after a change, until the files are still: an editor truncates, then writes
LONG_POLL_SECONDS = 20   # a /status?after=N request waits at most this long for news
VIEWED_SECONDS = 3       # a language counts as viewed this long after its last status request
DPI = 72                 # page images: 595 × 842 px for A4, two pages side by side on a laptop screen
JPEG_QUALITY = 90        # JPEG, not PNG: six times faster to encode (20 ms against 130 ms for 12 pages)


def peak_rss_mb() -> float:
    """Largest resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Watcher:
    """Finds files added, changed or removed under the watched folders, by polling."""

    def __init__(self, root: Path):
        self.root = root
        self.snapshot = self.scan()

    def scan(self) -> dict[str, tuple[int, int]]:
        files = {}
        for folder in WATCHED:
            for directory, subfolders, names in os.walk(self.root / folder):
                subfolders[:] = [name for name in subfolders if not name.startswith(".")]
                for name in names:
                    if name.startswith(".") or name.endswith(("~", ".swp", ".tmp")):
                        continue  # editors' temporary and backup files
                    path = os.path.join(directory, name)
                    try:
                        stat = os.stat(path)
                    except OSError:
                        continue  # removed while scanning
                    files[Path(path).relative_to(self.root).as_posix()] = (stat.st_mtime_ns, stat.st_size)
        return files

    def changes(self) -> dict[str, float]:
        """Paths changed since the last call, each with the time it changed (seconds since the epoch).

        Once something changed, scans again until nothing more does (for at most a second), so a
        file caught between an editor's truncation and its write is not rendered half-written.
        """
        changed = self.compare()
        deadline = time.monotonic() + 1
        while changed and time.monotonic() < deadline:
            time.sleep(SETTLE_SECONDS)
            more = self.compare()
            if not more:
                break
            changed |= more
        return changed

    def compare(self) -> dict[str, float]:
        snapshot = self.scan()
        now = time.time()
        changed = {path: (snapshot[path][0] / 1e9 if path in snapshot else now)
                   for path in snapshot.keys() | self.snapshot.keys() if snapshot.get(path) != self.snapshot.get(path)}
        self.snapshot = snapshot
        return changed

    def newest(self) -> float:
        """Modification time of the most recently changed input."""
        return max((mtime for mtime, _ in self.snapshot.values()), default=0) / 1e9


@dataclass(frozen=True)
class View:
    """What the browser shows for one language; replaced as a whole, never changed in place."""

    language: str
    revision: int = 0                    # a new number whenever anything shown changes
    generation: int = 0                  # changes when new page images are served
    images: tuple[bytes, ...] = ()
    previous: tuple[int, tuple[bytes, ...]] = (0, ())  # the generation before, for browsers still loading it
    rendering: bool = False
    error: str = ""                      # the last render failed; the images are the last good ones
    problems: str = ""                   # the images are new, but `brochure build` would stop on these
    seconds: float | None = None         # the last render, from its start to its images
    steps: dict[str, float] = field(default_factory=dict)  # where those seconds went; cpu: CPU seconds in all
    latency: float | None = None         # from saving the file that triggered it to its images being served
    pdf: Path | None = None              # the preview PDF


@dataclass
class Pending:
    """A language waiting to be rendered: which files changed, and when the last was saved."""

    saved_at: float | None = None
    changed: set[str] = field(default_factory=set)


class Preview:
    """The warm renderer: watches the project and keeps every viewed language's pages current."""

    def __init__(self, root: Path, language: str | None = None):
        from brochure_build.templating import make_environment

        self.root = root.resolve()
        self.watcher = Watcher(self.root)
        self.environment = make_environment(self.root)
        self.condition = threading.Condition()
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.views: dict[str, View] = {}
        self.revision = 0  # one counter for every view, and for the settings loading or failing
        self.pending: dict[str, Pending] = {}
        self.seen: dict[str, float] = {}
        self.settings: Settings | None = None  # the last good settings
        self.settings_problems: list[Problem] = []  # why brochure.yaml does not load now
        self.editions: dict[str, Edition] = {}
        self.renderer = None
        self.fonts_checked = False
        self.assets_checked = False
        self.focus = language  # the language opened last, rendered first
        self.load_settings()
        if self.focus is not None:
            self.pending[self.focus] = Pending()

    # -- state the HTTP threads read ------------------------------------------------------------

    def languages(self) -> list[str]:
        settings = self.settings
        if settings is not None:
            return [language.code for language in settings.languages]
        return [self.focus] if self.focus else []

    def direction(self, code: str) -> str:
        settings = self.settings
        known = settings is not None and code in [language.code for language in settings.languages]
        return settings.language(code).direction if known else "ltr"

    def view(self, code: str) -> View:
        with self.condition:
            return self.views.get(code) or View(code, self.revision, error="\n".join(map(str, self.settings_problems)))

    def want(self, code: str, focus: bool = False) -> None:
        """A browser shows `code`: render it if it has never been, and keep it current."""
        with self.condition:
            self.seen[code] = time.monotonic()
            if focus:
                self.focus = code
            if code not in self.views and code not in self.pending:
                self.pending[code] = Pending()
                self.wake.set()

    def wait(self, code: str, after: int, timeout: float = LONG_POLL_SECONDS, gone=lambda: False) -> View:
        """The view of `code` once its revision is no longer `after` (or after `timeout`, or when `gone()`)."""
        deadline = time.monotonic() + timeout
        with self.condition:
            while not self.stopping.is_set() and not gone():
                self.seen[code] = time.monotonic()  # a browser still shows it
                view = self.view(code)
                left = deadline - time.monotonic()
                if view.revision != after or left <= 0:
                    return view
                self.condition.wait(min(left, 1.0))
            return self.view(code)

    def publish(self, code: str, **changes) -> View:
        with self.condition:
            self.revision += 1
            view = replace(self.views.get(code) or View(code), revision=self.revision, **changes)
            self.views[code] = view
            self.condition.notify_all()
            return view

    # -- the render loop --------------------------------------------------------------------------

    def start(self) -> None:
        self.thread = threading.Thread(target=self.run, name="preview-renderer", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        with self.condition:
            self.condition.notify_all()
        if self.thread:
            self.thread.join(timeout=30)

    def run(self) -> None:
        while not self.stopping.is_set():
            changes = self.watcher.changes()
            if changes:
                self.apply(changes)
            code = self.next_language()
            if code is None:
                self.wake.wait(POLL_SECONDS)
                self.wake.clear()
                continue
            with self.condition:
                pending = self.pending.pop(code)
            self.render(code, pending)

    def apply(self, changes: dict[str, float]) -> None:
        """Forget what the changed files invalidate, and mark the languages shown to re-render."""
        every_language = False
        texts = set()
        for path in changes:
            if path.startswith(content.TEXT_DIR + "/"):
                texts.add(Path(path).stem)
                self.editions.pop(Path(path).stem, None)
                continue
            every_language = True  # settings, layouts, fonts and photos concern every edition
            if path == content.SETTINGS_FILE:
                self.load_settings()
            elif path.startswith("fonts/"):
                self.fonts_checked = False
            elif path.startswith("assets/"):
                self.assets_checked = False
        with self.condition:
            shown = set(self.views) | set(self.pending) | ({self.focus} if self.focus else set())
            for code in shown if every_language else shown & texts:
                pending = self.pending.setdefault(code, Pending())
                pending.saved_at = max(changes.values())
                pending.changed.update(changes)

    def next_language(self) -> str | None:
        """The viewed language to render next: the one opened last first."""
        now = time.monotonic()
        with self.condition:
            viewed = [code for code in self.pending
                      if code == self.focus or now - self.seen.get(code, -1e9) < VIEWED_SECONDS or code not in self.views]
            if not viewed:
                return None
            return self.focus if self.focus in viewed else viewed[0]

    def load_settings(self) -> None:
        """Reload brochure/brochure.yaml; on failure keep the last good settings for the page."""
        problems: list[Problem] = []
        settings = content.load_settings(self.root, problems)
        with self.condition:
            self.settings_problems = sorted(set(problems)) if settings is None else []
            if settings is not None:
                self.settings = settings
                self.editions.clear()
                self.assets_checked = False
                self.focus = self.focus or settings.source_language
            self.revision += 1  # wakes a page that shows no language yet
            self.condition.notify_all()

    def edition(self, code: str) -> Edition:
        """The edition of `code`, loading what a change made stale; raises what stops a build."""
        from brochure_build.build import check_assets

        if self.settings_problems or self.settings is None:
            raise ContentError(self.settings_problems)
        settings = self.settings
        problems = content.unknown_languages(settings, [code])
        if problems:
            raise ContentError(problems)
        if not self.fonts_checked:
            fonts.verify_fonts(self.root)
            # A font file changed: WeasyPrint would keep the old one in its font configuration.
            fonts.isolate_fontconfig(self.root, self.root / "build" / ".cache")  # in case build/ was cleaned
            self.renderer = None
            self.fonts_checked = True
        if not self.assets_checked:
            check_assets(self.root, settings)
            self.assets_checked = True
        if code not in self.editions:
            problems = []
            edition = content.load_edition(self.root, settings, code, problems)
            if edition is None:
                raise ContentError(problems)
            self.editions[code] = edition
        return self.editions[code]

    def render(self, code: str, pending: Pending) -> None:
        started = time.perf_counter()
        self.publish(code, rendering=True)
        try:
            pdf, images, problems, steps = self.render_pages(code)
        except BuildError as error:
            self.publish(code, rendering=False, error=str(error))
            print(f"{code:3} preview failed, keeping the last good pages:\n{error}", file=sys.stderr, flush=True)
            return
        except Exception as error:  # a bug: say so in the page, keep serving
            traceback.print_exc()
            self.publish(code, rendering=False, error=f"internal error: {type(error).__name__}: {error} (see the server's output)")
            return
        seconds = time.perf_counter() - started
        with self.condition:
            old = self.views.get(code) or View(code)
            view = self.publish(code, rendering=False, error="", problems="\n".join(problems), images=images,
                                generation=old.generation + 1, previous=(old.generation, old.images), pdf=pdf,
                                seconds=seconds, steps=steps, latency=time.time() - pending.saved_at if pending.saved_at else None)
        after = f", {view.latency:.2f} s after saving {', '.join(sorted(pending.changed))}" if view.latency is not None else ""
        steps = ", ".join(f"{step} {value:.2f}" for step, value in view.steps.items())
        print(f"{code:3} preview {view.generation}: {len(images)} pages in {seconds:.2f} s ({steps}){after}", flush=True)
        for problem in problems:
            print(problem, file=sys.stderr, flush=True)

    def render_pages(self, code: str) -> tuple[Path, tuple[bytes, ...], list[str], dict[str, float]]:
        """Screen variant of `code` → build/.preview/<code>/…-preview.pdf → page images, problems, seconds per step."""
        from brochure_build.layoutcheck import plan_problems
        from brochure_build.output import atomic_path
        from brochure_build.pdf import Renderer, TextLookup, strict_weasyprint
        from brochure_build.pdfcheck import fallback_problems
        from brochure_build.templating import render_html

        clock = Stopwatch()
        edition = self.edition(code)
        self.renderer = self.renderer or Renderer(self.root)
        clock.lap("content")
        out_dir = self.root / PREVIEW_DIR / code
        name = f"{edition.settings.slug}-{code}-preview"
        context = f"{code} preview"
        lookup = TextLookup(edition.text_file, content.text_file(code))
        html = render_html(self.environment, edition, "screen", self.root, out_dir)
        document = self.renderer.render(html, out_dir / f"{name}.html", context, lookup)
        clock.lap("layout")
        # Pages that overflow their plan are shown (the point is to see them), with the message.
        problems = plan_problems(edition, document, context)
        pdf = out_dir / f"{name}.pdf"
        with atomic_path(pdf) as temporary, strict_weasyprint(context, lookup):
            # Uncompressed: a third faster to write (CJK: 0.16 s against 0.23 s), and only a preview.
            document.write_pdf(temporary, uncompressed_pdf=True)
        clock.lap("pdf")
        problems += fallback_problems(pdf, edition.language.fonts, context)
        clock.lap("checks")
        images = page_images(pdf)
        clock.lap("images")
        return pdf, images, problems, clock.result()

    # -- what /status says ------------------------------------------------------------------------

    def status(self, code: str, view: View | None = None) -> dict:
        view = view or self.view(code)
        state = "rendering" if view.rendering else "error" if view.error else "ready" if view.images else "waiting"
        return {
            "language": code,
            "languages": self.languages(),
            "direction": self.direction(code),
            "revision": view.revision,
            "generation": view.generation,
            "state": state,
            "pages": [f"/pages/{code}/{view.generation}/{number}.jpg" for number in range(1, len(view.images) + 1)],
            "error": view.error,
            "problems": view.problems,
            "seconds": view.seconds,
            "steps": view.steps,
            "latency": view.latency,
            "pdfs": self.pdf_links(code, view),
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }

    def pdf_links(self, code: str, view: View) -> list[dict]:
        """The preview PDF, then the PDFs `brochure build` left in build/<code>/."""
        build_dir = self.root / "build"
        links = []
        if view.pdf and view.pdf.is_file():
            links.append({"label": "preview (screen)", "url": files_url(view.pdf, build_dir), "note": "current"})
        newest = self.watcher.newest()
        for pdf in sorted((build_dir / code).glob("*.pdf")) if code else []:
            mtime = pdf.stat().st_mtime
            variant = pdf.stem.rsplit("-", 1)[-1]
            note = "built " + time.strftime("%Y-%m-%d %H:%M", time.localtime(mtime))
            links.append({"label": variant, "url": files_url(pdf, build_dir),
                          "note": note + (", older than the last change: run `make`" if mtime < newest else "")})
        return links


class Stopwatch:
    """Wall time per step, and the CPU time of the whole (less inflated than wall time by other work on the machine)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self.last = time.perf_counter()
        self.cpu = time.thread_time()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self.last, 3)
        self.last = now

    def result(self) -> dict[str, float]:
        return self.laps | {"cpu": round(time.thread_time() - self.cpu, 3)}


def page_images(pdf: Path) -> tuple[bytes, ...]:
    """Every page of `pdf` as a JPEG at DPI."""
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    encoded = []
    try:
        for page in document:
            buffer = io.BytesIO()
            page.render(scale=DPI / 72).to_pil().convert("RGB").save(buffer, "JPEG", quality=JPEG_QUALITY)
            encoded.append(buffer.getvalue())
    finally:
        document.close()
    return tuple(encoded)


@functools.cache
def page_template():
    import jinja2

    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
        resources.files("brochure_build").joinpath("serve_page.html").read_text(encoding="utf-8"))


def files_url(path: Path, build_dir: Path) -> str:
    return "/files/" + quote(path.relative_to(build_dir).as_posix())


# -- HTTP -------------------------------------------------------------------------------------------


class PreviewServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, preview: Preview, port: int = 0):
        self.preview = preview
        try:
            super().__init__(("127.0.0.1", port), Handler)
        except OSError as error:
            raise BuildError(f"cannot listen on 127.0.0.1:{port} ({error.strerror}): pass another --port") from None
        self.url = f"http://127.0.0.1:{self.server_port}/"
        self.hosts = {f"127.0.0.1:{self.server_port}", f"localhost:{self.server_port}"}


class Handler(BaseHTTPRequestHandler):
    """GET and HEAD only (other methods get 501 from the base class)."""

    server: PreviewServer
    protocol_version = "HTTP/1.1"  # keep-alive: a page loads a dozen images

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass  # the render log is what matters on the console

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self.handle_get(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self.handle_get(head=False)

    def handle_get(self, head: bool) -> None:
        self.head = head
        host = self.headers.get("Host")
        if host is not None and host not in self.server.hosts:
            return self.send(HTTPStatus.MISDIRECTED_REQUEST, b"this preview answers to 127.0.0.1 only\n")
        preview = self.server.preview
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        parts = url.path.split("/")[1:]
        if url.path == "/":
            return self.redirect(f"/{preview.focus or ''}/" if preview.focus else "/-/")
        if url.path == "/status":
            code = query.get("lang", [preview.focus or ""])[0]
            if code and code not in preview.languages():
                return self.send(HTTPStatus.NOT_FOUND, f"no language {code!r}\n".encode())
            after = query.get("after", [None])[0]
            if code:
                # A first request (the page loading, or a measurement) makes the language the focus.
                preview.want(code, focus=after is None)
            view = preview.view(code) if after is None else \
                preview.wait(code, int(after) if after.isdigit() else -1, gone=self.client_gone)
            return self.send_json(preview.status(code, view))
        if parts[0] == "pages" and len(parts) == 4:
            return self.send_page_image(*parts[1:])
        if parts[0] == "files":
            return self.send_file(unquote(url.path[len("/files/"):]))
        if len(parts) == 2 and parts[1] == "" and (parts[0] in preview.languages() or parts[0] == "-"):
            code = "" if parts[0] == "-" else parts[0]
            if code:
                preview.want(code, focus=True)
            return self.send_page(code)
        if len(parts) == 1 and parts[0] in preview.languages():
            return self.redirect(f"/{parts[0]}/")
        return self.send(HTTPStatus.NOT_FOUND, b"not found\n")

    def client_gone(self) -> bool:
        """The browser closed the connection (the tab moved on): its language is no longer shown."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and not self.connection.recv(1, socket.MSG_PEEK)
        except OSError:
            return True

    def send_page(self, code: str) -> None:
        preview = self.server.preview
        settings = preview.settings
        html = page_template().render(code=code, slug=settings.slug if settings else "brochure", status=preview.status(code))
        self.send(HTTPStatus.OK, html.encode(), "text/html; charset=utf-8")

    def send_page_image(self, code: str, generation: str, name: str) -> None:
        view = self.server.preview.view(code)
        match = re.fullmatch(r"(\d+)\.jpg", name)
        sets = {view.generation: view.images, view.previous[0]: view.previous[1]}
        images = sets.get(int(generation)) if generation.isdigit() else None
        if not match or images is None or not 1 <= int(match[1]) <= len(images):
            return self.send(HTTPStatus.NOT_FOUND, b"no such page image\n")
        # Each generation's URL names fixed bytes: the browser may keep them.
        self.send(HTTPStatus.OK, images[int(match[1]) - 1], "image/jpeg", {"Cache-Control": "max-age=3600, immutable"})

    def send_file(self, relative: str) -> None:
        """A PDF under build/, read-only; anything that resolves outside build/ is refused."""
        build_dir = (self.server.preview.root / "build").resolve()
        try:
            path = (build_dir / relative).resolve()
            allowed = path.is_relative_to(build_dir) and path.suffix == ".pdf" and path.is_file()
        except (OSError, ValueError):  # a NUL byte, a name too long
            allowed = False
        if not allowed:
            return self.send(HTTPStatus.NOT_FOUND, b"only the PDFs in build/ are served\n")
        self.send(HTTPStatus.OK, path.read_bytes(), "application/pdf", {"Cache-Control": "no-cache"})

    def redirect(self, location: str) -> None:
        self.send(HTTPStatus.FOUND, b"", "text/plain", {"Location": location})

    def send_json(self, data: dict) -> None:
        self.send(HTTPStatus.OK, json.dumps(data).encode(), "application/json", {"Cache-Control": "no-store"})

    def send(self, status: HTTPStatus, body: bytes, content_type: str = "text/plain; charset=utf-8",
             headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if not self.head:
            self.wfile.write(body)


def start(root: Path, port: int = 0, language: str | None = None) -> PreviewServer:
    """Start the renderer and the HTTP server (in threads); returns the server, its `url` set."""
    root = root.resolve()
    # Before WeasyPrint is imported: Pango reads the font configuration once.
    fonts.isolate_fontconfig(root, root / "build" / ".cache")
    preview = Preview(root, language)
    if language and preview.settings is not None:
        problems = content.unknown_languages(preview.settings, [language])
        if problems:
            raise ContentError(problems)
    server = PreviewServer(preview, port)
    preview.start()
    threading.Thread(target=server.serve_forever, name="preview-http", daemon=True).start()
    return server


def stop(server: PreviewServer) -> None:
    server.shutdown()
    server.server_close()
    server.preview.stop()


def serve(root: Path, port: int = 8000, language: str | None = None) -> int:
    """`brochure serve`: run until interrupted."""
    server = start(root, port, language)
    print(f"Previewing {server.preview.root} at {server.url}  (Ctrl-C to stop)", flush=True)
    for problem in server.preview.settings_problems:
        print(problem, file=sys.stderr, flush=True)

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)  # stop cleanly when a supervisor (or a test) ends us
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop(server)
    print("Stopped.", flush=True)
    return 0


# -- measuring a running server (bench/ and tests) --------------------------------------------------


def fetch_status(url: str, language: str, after: int | None = None) -> dict:
    """GET /status of the preview at `url` (without `after`, this also makes `language` the focus)."""
    query = f"lang={quote(language)}" + (f"&after={after}" if after is not None else "")
    with urllib.request.urlopen(f"{url.rstrip('/')}/status?{query}", timeout=LONG_POLL_SECONDS + 10) as response:
        return json.load(response)


def wait_until(url: str, language: str, done, timeout: float = 120) -> dict:
    """Long-poll the status of `language` until `done(status)` is true; raises TimeoutError."""
    deadline = time.monotonic() + timeout
    status = fetch_status(url, language)
    while not done(status):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{language}: still {status['state']} after {timeout:.0f} s: {status['error']}")
        status = fetch_status(url, language, after=status["revision"])
    return status


def set_css_token(css: Path, token: str, value: str) -> None:
    """Set `--token: value;` in a stylesheet, as a designer saving it would."""
    text = css.read_text(encoding="utf-8")
    changed, count = re.subn(rf"(--{re.escape(token)}:\s*)[^;]+;", rf"\g<1>{value};", text, count=1)
    if not count:
        raise ValueError(f"{css}: no --{token}")
    css.write_text(changed, encoding="utf-8")


def time_edit(url: str, language: str, edit, timeout: float = 120) -> dict:
    """Run `edit()` (save a watched file) and wait for the new pages of `language` to be served.

    Returns seconds: from just before the save to the new generation seen by this client;
    server_seconds: the server's own figure, from the file's modification time to the pages
    being served; render_seconds; peak_rss_mb of the server process.
    """
    before = wait_until(url, language, lambda s: s["state"] in ("ready", "error"), timeout)
    started = time.time()
    edit()
    after = wait_until(url, language, lambda s: s["generation"] > before["generation"] or
                       (s["state"] == "error" and s["revision"] > before["revision"]), timeout)
    seconds = time.time() - started
    if after["state"] == "error":
        raise BuildError(after["error"])
    return {"seconds": seconds, "server_seconds": after["latency"], "render_seconds": after["seconds"],
            "peak_rss_mb": after["peak_rss_mb"]}


def time_css_edits(url: str, root: Path, language: str, runs: int = 5) -> list[dict]:
    """`runs` saves of layouts/css/tokens.css (the tint token, nudged back and forth) timed with
    `time_edit` against the server at `url` previewing `root`; the file is left as it was, and
    its pages rendered again. Nothing else may change in the project meanwhile."""
    tokens = root / "layouts" / "css" / "tokens.css"
    original = tokens.read_text(encoding="utf-8")
    try:
        return [time_edit(url, language, lambda run=run: set_css_token(tokens, "color-tint", ("#e5f4fa", "#e5f4fc")[run % 2]))
                for run in range(runs)]
    finally:
        time_edit(url, language, lambda: tokens.write_text(original, encoding="utf-8"))
