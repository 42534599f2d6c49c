"""The project folder is the build's whole world: nothing from outside is read or fetched.

Checked before rendering, with the file and line to fix: every url() and @import of the
stylesheets under layouts/ (no http, https, file or data URL, no absolute path, no .. or link
leading out of the project, no missing file), and every link under layouts/ (templates and
stylesheets). The URL fetcher (fetcher.py) enforces the same at render time for anything else.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote

import tinycss2

from brochure_build.content import path_refusal
from brochure_build.errors import Problem

LAYOUTS = "layouts"


def link_problems(root: Path) -> list[Problem]:
    """Links under layouts/ that lead out of the project."""
    root = root.resolve()
    problems = []
    for folder, dirs, files in os.walk(root / LAYOUTS):  # does not follow links, so no loop and no escape
        for name in sorted(dirs + files):
            path = Path(folder) / name
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                problems.append(Problem(path.relative_to(root).as_posix(), 0, "",
                                        f"a link to {path.resolve()}, outside the project folder: put the file itself in the project"))
    return problems


def stylesheet_problems(root: Path) -> list[Problem]:
    """Every url() and @import in layouts/**/*.css that is refused, with its file and line."""
    root = root.resolve()
    problems = []
    for sheet in sorted((root / LAYOUTS).rglob("*.css")):
        if not sheet.resolve().is_relative_to(root):
            continue  # reported by link_problems, never read
        shown = sheet.relative_to(root).as_posix()
        try:
            text = sheet.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            problems.append(Problem(shown, 0, "", f"cannot be read ({error}): save it as UTF-8"))
            continue
        for url, line in stylesheet_urls(text):
            message = url_problem(root, sheet.parent, url)
            if message:
                short = url if len(url) <= 60 else url[:57] + "..."
                problems.append(Problem(shown, line, f"url({short})", message))
    return problems


def stylesheet_urls(css: str) -> list[tuple[str, int]]:
    """(url, line) of every url(…) and @import in a stylesheet, parsed with tinycss2 (WeasyPrint's CSS parser)."""
    found: list[tuple[str, int]] = []

    def walk(nodes) -> None:
        for node in nodes or ():
            if node.type == "url":
                found.append((node.value, node.source_line))
            elif node.type == "function" and node.lower_name in ("url", "src"):
                strings = [token for token in node.arguments if token.type == "string"]
                found.extend((token.value, token.source_line) for token in strings[:1])
            elif node.type == "at-rule" and node.lower_at_keyword == "import":
                strings = [token for token in node.prelude if token.type == "string"]
                found.extend((token.value, token.source_line) for token in strings[:1])
            for child in ("prelude", "content", "arguments"):
                if isinstance(getattr(node, child, None), list):
                    walk(getattr(node, child))

    walk(tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True))
    return found


def url_problem(root: Path, base: Path, url: str) -> str:
    """Why `url`, written in a file of folder `base`, may not be used; '' if it may."""
    if url.startswith("#") or not url.strip():
        return ""  # a reference inside the same document
    refusal = path_refusal(url, climbing=True)
    if refusal:
        return refusal
    target = (base / unquote(url.split("#")[0].split("?")[0])).resolve()
    if not target.is_relative_to(root):
        return f"leads to {target}, outside the project folder: put the file in the project"
    if not target.is_file():
        return f"{target.relative_to(root).as_posix()} not found"
    return ""
