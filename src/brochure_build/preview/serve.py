"""Preview server (`brochure serve`): the pages of an edition as spreads in the browser, kept
current by the warm renderer of preview.py.

The page (serve_page.html) long-polls /status and swaps in the new page images when their
generation changes; errors are shown in a banner above the last good pages.

Only 127.0.0.1 is bound; a request must name this host in its Host header (DNS rebinding),
and files are served read-only from build/ only, PDFs only. What changes state (renders, the
language in focus, files under build/.preview/) happens only for requests from the preview's
own page: a browser says so with `Sec-Fetch-Site: same-origin` (or `none`, typed in the address
bar), which no other page can forge; a client without it sends the token written in the page.
An `<img>` on another site gets 403. A malformed request gets 400, an idle connection is
closed after IDLE_SECONDS, the listen backlog holds 128 connections, and a client that goes
away mid-answer is not an error worth a line.
"""

from __future__ import annotations

import functools
import hmac
import json
import re
import secrets
import select
import signal
import socket
import sys
import threading
import time
import urllib.request
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from brochure_build.errors import BuildError, ContentError
from brochure_build.preview.live import LONG_POLL_SECONDS, Preview
from brochure_build.source import content


@functools.cache
def page_template():
    import jinja2

    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
        resources.files("brochure_build.preview").joinpath("serve_page.html").read_text(encoding="utf-8"))


# -- HTTP -------------------------------------------------------------------------------------------

IDLE_SECONDS = 15  # a connection with no request for this long is closed (a long poll's wait is not idle)
TOKEN_HEADER = "X-Preview-Token"
TRUSTED_SITES = ("same-origin", "none")  # Sec-Fetch-Site of the page's own requests, and of a URL typed by the user


class PreviewServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the listen backlog: a page's dozen images, many times over, without a SYN retried

    def __init__(self, preview: Preview, port: int = 0):
        self.preview = preview
        self.idle_seconds: float = IDLE_SECONDS
        self.token = secrets.token_urlsafe(18)  # written in the page; proves a request comes from it
        try:
            super().__init__(("127.0.0.1", port), Handler)
        except OSError as error:
            raise BuildError(f"cannot listen on 127.0.0.1:{port} ({error.strerror}): pass another --port") from None
        self.url = f"http://127.0.0.1:{self.server_port}/"
        self.hosts = {f"127.0.0.1:{self.server_port}", f"localhost:{self.server_port}"}

    def handle_error(self, request, client_address) -> None:
        """One short line at most, never a traceback: a browser closing a connection early is normal."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return  # the tab moved on, or the connection sat idle: nothing to fix
        print(f"preview server: a request failed: {type(error).__name__}: {error}", file=sys.stderr, flush=True)


class Handler(BaseHTTPRequestHandler):
    """GET and HEAD only (other methods get 501 from the base class)."""

    server: PreviewServer
    protocol_version = "HTTP/1.1"  # keep-alive: a page loads a dozen images

    def setup(self) -> None:
        self.timeout = self.server.idle_seconds  # read by StreamRequestHandler.setup: idle connections end
        super().setup()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass  # the render log is what matters on the console

    def from_own_page(self) -> bool:
        """The request comes from the preview's page (or the user's address bar), not from another site."""
        if self.headers.get("Sec-Fetch-Site") in TRUSTED_SITES:
            return True
        return hmac.compare_digest(self.headers.get(TOKEN_HEADER, "").encode(), self.server.token.encode())

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self.handle_get(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self.handle_get(head=False)

    def handle_get(self, head: bool) -> None:
        self.head = head
        host = self.headers.get("Host")
        if host is None:
            return self.send(HTTPStatus.BAD_REQUEST, b"a request needs a Host header\n")
        if host not in self.server.hosts:
            return self.send(HTTPStatus.MISDIRECTED_REQUEST, b"this preview answers to 127.0.0.1 only\n")
        preview = self.server.preview
        url = urlsplit(self.path)
        if not self.path.startswith("/") or not url.path.startswith("/"):
            return self.send(HTTPStatus.BAD_REQUEST, b"the request target must be a path starting with /\n")
        query = parse_qs(url.query)
        parts = url.path.split("/")[1:]
        if url.path == "/":
            return self.redirect(f"/{preview.focus or ''}/" if preview.focus else "/-/")
        if url.path == "/status":
            code = query.get("lang", [preview.focus or ""])[0]
            if code and code not in preview.languages():
                return self.send(HTTPStatus.NOT_FOUND, f"no language {code!r}\n".encode())
            after = query.get("after", [None])[0]
            if after is not None and not re.fullmatch(r"[0-9]{1,18}", after):
                return self.send(HTTPStatus.BAD_REQUEST, b"after= takes a revision number (digits 0-9)\n")
            if not self.from_own_page():
                return self.send(HTTPStatus.FORBIDDEN, b"only the preview's own page may ask for renders "
                                                       b"(Sec-Fetch-Site: same-origin, or the page's token)\n")
            if code:
                # A first request (the page loading, or a measurement) makes the language the focus.
                preview.want(code, focus=after is None)
            view = preview.view(code) if after is None else preview.wait(code, int(after), gone=self.client_gone)
            return self.send_json(preview.status(code, view))
        if parts[0] == "pages" and len(parts) == 4:
            return self.send_page_image(*parts[1:])
        if parts[0] == "files":
            return self.send_file(unquote(url.path[len("/files/"):]))
        if len(parts) == 2 and parts[1] == "" and (parts[0] in preview.languages() or parts[0] == "-"):
            code = "" if parts[0] == "-" else parts[0]
            if code and self.from_own_page():  # a page loaded from elsewhere renders nothing until its own requests
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
        html = page_template().render(code=code, slug=settings.slug if settings else "brochure", status=preview.status(code),
                                      token=self.server.token)
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


def page_token(url: str) -> str:
    """The token the preview at `url` writes in its page, which its own requests send back."""
    with urllib.request.urlopen(url, timeout=30) as response:
        match = re.search(r'<meta name="preview-token" content="([^"]+)">', response.read().decode())
    if not match:
        raise BuildError(f"{url}: no preview token in the page")
    return match[1]


def fetch_status(url: str, language: str, after: int | None = None) -> dict:
    """GET /status of the preview at `url` (without `after`, this also makes `language` the focus)."""
    query = f"lang={quote(language)}" + (f"&after={after}" if after is not None else "")
    request = urllib.request.Request(f"{url.rstrip('/')}/status?{query}", headers={TOKEN_HEADER: page_token(url)})
    with urllib.request.urlopen(request, timeout=LONG_POLL_SECONDS + 10) as response:
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
    """Set `--token: value;` in a stylesheet, as a designer saving it would: whole, by renaming a
    finished file over the old. (Written in place, the server may read the file emptied and show
    the error that follows until the next save's pages, which a timing would take for the save's.)"""
    text = css.read_text(encoding="utf-8")
    changed, count = re.subn(rf"(--{re.escape(token)}:\s*)[^;]+;", rf"\g<1>{value};", text, count=1)
    if not count:
        raise ValueError(f"{css}: no --{token}")
    save_whole(css, changed)


def save_whole(path: Path, text: str) -> None:
    """Write `path` as an editor that saves atomically does: a finished file renamed over the old."""
    temporary = path.with_name(f".{path.name}.saving")  # a name the preview does not watch
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def time_edit(url: str, language: str, edit, timeout: float = 120) -> dict:
    """Run `edit()` (save a watched file) and wait for the new pages of `language` to be served.

    Returns seconds: from just before the save to the new generation seen by this client;
    server_seconds: the server's own figure, from the file's modification time to the pages
    being served; render_seconds; peak_rss_mb: the larger of the server's and its helper's.
    """
    # From settled pages: the copy-fit search after the last change is over too.
    before = wait_until(url, language, lambda s: s["state"] == "error" or (s["state"] == "ready" and not s["searching"]), timeout)
    started = time.time()
    edit()
    after = wait_until(url, language, lambda s: s["generation"] > before["generation"] or
                       (s["state"] == "error" and s["revision"] > before["revision"]), timeout)
    seconds = time.time() - started
    if after["state"] == "error":
        raise BuildError(after["error"])
    return {"seconds": seconds, "server_seconds": after["latency"], "render_seconds": after["seconds"],
            "peak_rss_mb": max(after["peak_rss_mb"], after["helper_peak_rss_mb"])}


# What a designer saves, for time_css_edits: a token of layouts/css/tokens.css and its value at each save.
CSS_EDITS = {
    # A colour nudged back and forth: the layout stays, every page is painted anew.
    "colour": ("color-tint", lambda run: ("#e5f4fa", "#e5f4fc")[run % 2]),
    # The outside margin a tenth of a millimetre narrower at each save: the text runs at a width
    # never seen before, so every line is broken anew and every column balanced again.
    "margin": ("margin-outside", lambda run: f"{16 - 0.1 * (run + 1):.1f}mm"),
}


def time_css_edits(url: str, root: Path, language: str, runs: int = 5, edit: str = "colour") -> list[dict]:
    """`runs` saves of layouts/css/tokens.css (CSS_EDITS[edit]) timed with `time_edit` against
    the server at `url` previewing `root`; the file is left as it was, and its pages rendered
    again. Nothing else may change in the project meanwhile."""
    tokens = root / "layouts" / "css" / "tokens.css"
    token, value = CSS_EDITS[edit]
    original = tokens.read_text(encoding="utf-8")
    try:
        return [time_edit(url, language, lambda run=run: set_css_token(tokens, token, value(run))) for run in range(runs)]
    finally:
        time_edit(url, language, lambda: save_whole(tokens, original))
