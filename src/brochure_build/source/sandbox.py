"""The project folder is the build's whole world: nothing from outside is read or fetched.

Checked before rendering, with the file and line to fix: the project folders themselves
(brochure/, layouts/, assets/, fonts/ may not be links out of the project), every url() and
@import of the stylesheets under layouts/ (no http, https, file or data URL, no absolute path, no
.. or link leading out of the project, no missing file), and every link under layouts/
(templates and stylesheets; a link that loops is named too). The URL fetcher (fetcher.py)
enforces the same at render time for anything else.

Stylesheets also have limits, checked before WeasyPrint parses them: WeasyPrint and cssselect2
recurse once per nesting level and per selector part, and their time and memory grow with the
size, so a stylesheet over 1 MB, nested deeper than 32 levels (brackets, functions, blocks) or
with a selector of more than 32 parts is refused with its line instead of ending in a
RecursionError or a render of many minutes.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from urllib.parse import unquote

import tinycss2

from brochure_build.errors import Problem
from brochure_build.source.content import path_refusal

LAYOUTS = "layouts"
PROJECT_FOLDERS = ("brochure", "layouts", "assets", "fonts")
MAX_STYLESHEET_BYTES = 1024 * 1024  # the project's five stylesheets hold 13 KB together
MAX_CSS_DEPTH = 32        # brackets, functions and blocks inside one another; the project's deepest is 6
MAX_SELECTOR_PARTS = 32   # compound selectors chained in one selector (`nav > ul li`: 3); the project's longest has 3


def resolved_link(path: Path) -> tuple[Path | None, str]:
    """Where the link `path` leads, or (None, why it leads nowhere): a loop, or a chain too long."""
    try:
        return path.resolve(), ""
    except (OSError, RuntimeError):  # RuntimeError: Python 3.11's "Symlink loop"; OSError: ELOOP
        return None, "a link that leads back to itself (a loop): replace it with the file"


def outside_problem(root: Path, path: Path, what: str) -> str:
    """Why the link `path` may not be used ('' if it stays in the project)."""
    target, loop = resolved_link(path)
    if target is None:
        return loop
    if not target.is_relative_to(root):
        return f"a link to {target}, outside the project folder: put the {what} itself in the project"
    return ""


def project_folder_problems(root: Path) -> list[Problem]:
    """brochure/, layouts/, assets/ and fonts/ that are themselves links out of the project (or loops)."""
    root = root.resolve()
    problems = []
    for name in PROJECT_FOLDERS:
        path = root / name
        message = outside_problem(root, path, "folder") if path.is_symlink() else ""
        if message:
            problems.append(Problem(name, 0, "", message))
    return problems


def link_problems(root: Path) -> list[Problem]:
    """Links under layouts/ that lead out of the project, or nowhere (a loop)."""
    root = root.resolve()
    problems = []
    for folder, dirs, files in os.walk(root / LAYOUTS):  # does not follow links, so no loop and no escape
        for name in sorted(dirs + files):
            path = Path(folder) / name
            message = outside_problem(root, path, "file") if path.is_symlink() else ""
            if message:
                problems.append(Problem(path.relative_to(root).as_posix(), 0, "", message))
    return problems


def stylesheet_problems(root: Path) -> list[Problem]:
    """Every url() and @import in layouts/**/*.css that is refused, with its file and line."""
    root = root.resolve()
    problems = []
    for sheet in sorted((root / LAYOUTS).rglob("*.css")):
        target, _ = resolved_link(sheet)
        if target is None or not target.is_relative_to(root):
            continue  # reported by link_problems, never read
        shown = sheet.relative_to(root).as_posix()
        try:
            size = sheet.stat().st_size
            if size > MAX_STYLESHEET_BYTES:
                problems.append(Problem(shown, 0, "", f"file is {size:,} bytes, over the limit of {MAX_STYLESHEET_BYTES:,} "
                                                      "for a stylesheet: split it, or remove what is generated"))
                continue
            text = sheet.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            problems.append(Problem(shown, 0, "", f"cannot be read ({error}): save it as UTF-8"))
            continue
        urls, limits = parsed_stylesheet(text)
        if limits:
            problems += [Problem(shown, line, "", message) for line, message in limits]
            continue  # not used further: WeasyPrint would not survive it
        for url, line in urls:
            message = url_problem(root, sheet.parent, url)
            if message:
                short = url if len(url) <= 60 else url[:57] + "..."
                problems.append(Problem(shown, line, f"url({short})", message))
    return problems


def stylesheet_urls(css: str) -> list[tuple[str, int]]:
    """(url, line) of every url(…) and @import in a stylesheet, parsed with tinycss2 (WeasyPrint's CSS parser)."""
    return parsed_stylesheet(css)[0]


@functools.lru_cache(maxsize=32)  # the preview checks on every save: only the stylesheet that changed is parsed again
def parsed_stylesheet(css: str) -> tuple[list[tuple[str, int]], list[tuple[int, str]]]:
    """(url, line) of every url(…) and @import, and (line, message) of every limit the stylesheet passes.

    tinycss2 parses without recursing; this walk keeps its own stack, so nothing here recurses
    either, however deep the nesting."""
    found: list[tuple[str, int]] = []
    limits: list[tuple[int, str]] = []
    stack = [(node, 1) for node in reversed(tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True))]
    while stack:
        node, depth = stack.pop()
        line = getattr(node, "source_line", 0)
        if depth > MAX_CSS_DEPTH:
            limits.append((line, f"nested more than {MAX_CSS_DEPTH} levels deep (brackets, functions, blocks): "
                                 "a stylesheet is a few levels of rules: simplify it"))
            break  # one line says it; the rest of the nesting is the same problem
        if node.type == "url":
            found.append((node.value, line))
        elif node.type == "function" and node.lower_name in ("url", "src"):
            strings = [token for token in node.arguments if token.type == "string"]
            found.extend((token.value, token.source_line) for token in strings[:1])
        elif node.type == "at-rule" and node.lower_at_keyword == "import":
            strings = [token for token in node.prelude if token.type == "string"]
            found.extend((token.value, token.source_line) for token in strings[:1])
        if node.type == "qualified-rule":
            parts = longest_selector(node.prelude)
            if parts > MAX_SELECTOR_PARTS:
                limits.append((line, f"a selector that chains {parts:,} parts, over the limit of {MAX_SELECTOR_PARTS}: "
                                     "select with a class instead"))
                continue
        children = []
        for child in ("prelude", "content", "arguments", "value"):
            value = getattr(node, child, None)
            if isinstance(value, list):
                children += value
        if node.type in ("qualified-rule", "at-rule") and isinstance(node.content, list):
            # A rule's block holds declarations and, in @media and the like, rules: parse them as such.
            children = list(node.prelude) + tinycss2.parse_blocks_contents(node.content, skip_comments=True,
                                                                            skip_whitespace=True)
        stack.extend((child, depth + 1) for child in reversed(children))
    return found, limits


def longest_selector(prelude: list) -> int:
    """How many compound selectors (`p`, `.note`, `p.note:first-child`) the longest selector of a rule's prelude chains."""
    longest = parts = 0
    between = True  # at the start, after whitespace or a combinator: the next token starts a compound selector
    for token in prelude:
        if token.type == "literal" and token.value == ",":
            longest, parts, between = max(longest, parts), 0, True
        elif token.type in ("whitespace", "comment") or token.type == "literal" and token.value in (">", "+", "~"):
            between = True
        else:
            parts += between
            between = False
    return max(longest, parts)


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
    if target.suffix.lower() == ".css" and not target.is_relative_to(root / LAYOUTS):
        # Only the stylesheets under layouts/ are checked against the limits above.
        return f"{target.relative_to(root).as_posix()}: a stylesheet outside layouts/: keep stylesheets in layouts/"
    return ""


def font_face_sources(root: Path, family: str) -> list[tuple[str, int, Path]]:
    """(stylesheet, line, font file) of every @font-face of `family` in layouts/**/*.css, for messages."""
    root = root.resolve()
    found = []
    for sheet in sorted((root / LAYOUTS).rglob("*.css")):
        try:
            rules = tinycss2.parse_stylesheet(sheet.read_text(encoding="utf-8"), skip_comments=True, skip_whitespace=True)
        except (OSError, UnicodeDecodeError):
            continue
        for rule in rules:
            if rule.type != "at-rule" or rule.lower_at_keyword != "font-face" or rule.content is None:
                continue
            declarations = [item for item in tinycss2.parse_blocks_contents(rule.content, skip_comments=True,
                                                                              skip_whitespace=True) if item.type == "declaration"]
            names = [token.value for item in declarations if item.lower_name == "font-family" for token in item.value
                     if token.type in ("string", "ident")]
            if " ".join(names) != family and names[:1] != [family]:
                continue
            urls = [token.value if token.type == "url" else next((a.value for a in token.arguments if a.type == "string"), "")
                    for item in declarations if item.lower_name == "src" for token in item.value
                    if token.type == "url" or token.type == "function" and token.lower_name == "url"]
            found += [(sheet.relative_to(root).as_posix(), rule.source_line, (sheet.parent / unquote(url)).resolve())
                      for url in urls if url]
    return found
