"""A URL fetcher for WeasyPrint that serves files inside the project root and nothing else.

WeasyPrint's default fetcher follows http(s), data: and any file:// URL, and only logs a
failure. Here every other URL, and any path that leaves the root (../, absolute paths, symlinks
pointing out), stops the render with an error that names the URL.

WeasyPrint sees the project under a fixed virtual folder, /brochure-project/, never under its
real path: WeasyPrint names each image in the PDF by a hash of its URL, so with real paths the
same sources would give different bytes in another checkout.
"""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse


class ResourceRefused(FatalURLFetchingError):
    """A resource outside the project, or missing: the build stops and says which."""


VIRTUAL_ROOT = "/brochure-project"


class ProjectFetcher(URLFetcher):
    def __init__(self, root: Path):
        super().__init__(allowed_protocols=("file",), allow_redirects=False, fail_on_errors=True)
        self.root = root.resolve()
        self.fetched: set[Path] = set()

    def virtual_url(self, path: Path) -> str:
        """The URL WeasyPrint is given for a file of the project (a base URL, typically)."""
        # Absolute but not resolved: a link stays a link, for resolve() to judge where it leads.
        return f"file://{VIRTUAL_ROOT}/{Path(os.path.abspath(path)).relative_to(self.root).as_posix()}"

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        path = self.resolve(url)
        self.fetched.add(path)
        return URLFetcherResponse(url, body=path.read_bytes(),
                                  headers={"Content-Type": mimetypes.guess_type(path.name)[0] or "application/octet-stream"})

    def resolve(self, url: str) -> Path:
        """The file inside the root that `url` names, or ResourceRefused."""
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise ResourceRefused(f"{url}: only files inside the project can be used (no {parts.scheme or 'relative'} URLs)")
        virtual = PurePosixPath(unquote(parts.path))
        if not virtual.is_relative_to(VIRTUAL_ROOT):
            if Path(virtual).resolve().is_relative_to(self.root):
                raise ResourceRefused(f"{virtual}: an absolute path; refer to project files by relative paths")
            raise ResourceRefused(f"{virtual}: outside the project folder {self.root}")
        named = self.root / virtual.relative_to(VIRTUAL_ROOT)
        path = named.resolve()
        if not path.is_relative_to(self.root):
            raise ResourceRefused(f"{named}: outside the project folder {self.root}")
        if not path.is_file():
            raise ResourceRefused(f"{path.relative_to(self.root)}: file not found")
        return path
