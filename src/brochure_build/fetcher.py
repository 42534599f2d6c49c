"""A URL fetcher for WeasyPrint that serves files inside the project root and nothing else.

WeasyPrint's default fetcher follows http(s), data: and any file:// URL, and only logs a
failure. Here every other URL, and any path that leaves the root (../, absolute paths, symlinks
pointing out), stops the render with an error that names the URL.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse


class ResourceRefused(FatalURLFetchingError):
    """A resource outside the project, or missing: the build stops and says which."""


class ProjectFetcher(URLFetcher):
    def __init__(self, root: Path):
        super().__init__(allowed_protocols=("file",), allow_redirects=False, fail_on_errors=True)
        self.root = root.resolve()
        self.fetched: set[Path] = set()

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        path = self.resolve(url)
        self.fetched.add(path)
        return URLFetcherResponse(path.as_uri(), body=path.read_bytes(),
                                  headers={"Content-Type": mimetypes.guess_type(path.name)[0] or "application/octet-stream"})

    def resolve(self, url: str) -> Path:
        """The file inside the root that `url` names, or ResourceRefused."""
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise ResourceRefused(f"{url}: only files inside the project can be used (no {parts.scheme or 'relative'} URLs)")
        path = Path(unquote(parts.path)).resolve()
        if not path.is_relative_to(self.root):
            raise ResourceRefused(f"{unquote(parts.path)}: outside the project folder {self.root}")
        if not path.is_file():
            raise ResourceRefused(f"{path.relative_to(self.root)}: file not found")
        return path
