"""Fonts stage: checks the pinned fonts against fonts/manifest.yaml and isolates fontconfig so
WeasyPrint can only ever see the project's fonts, never the machine's."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from brochure_build.digests import file_digest
from brochure_build.errors import ContentError, Problem
from brochure_build.output import write_text_atomic
from brochure_build.source.yamlsource import child_path, load_yaml

MANIFEST = "fonts/manifest.yaml"
CACHE_DIR = "build/.cache"  # where the configuration with no fonts is kept


def font_problems(root: Path) -> list[Problem]:
    """Every font in the manifest is a file inside fonts/ with its recorded sha256; else one problem each."""
    problems: list[Problem] = []
    manifest = load_yaml(root / MANIFEST, MANIFEST, problems, root)
    if manifest is None:
        return problems
    entries = manifest.data.get("fonts") if isinstance(manifest.data, dict) else None
    if not isinstance(entries, list) or not entries:
        return [manifest.problem("fonts", "expected the list of pinned fonts written by scripts/vendor_fonts.py")]
    fonts_dir = (root / "fonts").resolve()
    for index, entry in enumerate(entries):
        key = child_path("fonts", index)
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str) or not isinstance(entry.get("sha256"), str):
            problems.append(manifest.problem(key, "expected file: and sha256: (re-run scripts/vendor_fonts.py)"))
            continue
        name = entry["file"]
        path = fonts_dir / name
        if "/" in name or "\\" in name or name in ("", ".", "..") or not path.resolve().is_relative_to(fonts_dir):
            problems.append(manifest.problem(child_path(key, "file"), f"{name}: a font is a file directly in fonts/; "
                                                                        "paths and links out of fonts/ are not allowed"))
            continue
        if not path.is_file():
            problems.append(manifest.problem(child_path(key, "file"), f"fonts/{name}: file is missing: restore it from git"))
            continue
        digest = file_digest(path).hex()
        if digest != entry["sha256"]:
            problems.append(manifest.problem(
                child_path(key, "sha256"),
                f"fonts/{name}: sha256 is {digest[:12]}…, the manifest pins {entry['sha256'][:12]}…: "
                "restore the pinned file, or re-run scripts/vendor_fonts.py if the change is deliberate"))
    return problems


def verify_fonts(root: Path) -> None:
    """Raise ContentError unless every pinned font is in place and unchanged."""
    problems = font_problems(root)
    if problems:
        raise ContentError(problems)


def fontconfig_file(cache_dir: Path) -> Path:
    """The fontconfig configuration that knows no font at all, written to `cache_dir` when missing or changed."""
    conf = cache_dir / "fonts.conf"
    text = (
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        f"  <cachedir>{(cache_dir / 'fontconfig').resolve()}</cachedir>\n"
        "</fontconfig>\n"
    )
    if not conf.is_file() or conf.read_text() != text:
        write_text_atomic(conf, text)
    return conf.resolve()


@contextmanager
def isolated_fontconfig(cache_dir: Path) -> Iterator[None]:
    """Within the block, fontconfig loads a configuration that knows no font at all.

    WeasyPrint still loads every @font-face of layouts/css/fonts.css. What fontconfig would add is
    fallback: a character missing from a language's stack drawn silently with some other font
    (the machine's, or a project font meant for another script). With no fonts to fall back on,
    such a character becomes a .notdef glyph, which the build reports as an error.

    fontconfig reads FONTCONFIG_FILE when a configuration is loaded (WeasyPrint's FontConfiguration
    loads its own when created), so the variable is set for the block only and restored after:
    a program that calls the library, and whatever it starts later (a browser, a test's
    Chromium), keeps the machine's fonts.
    """
    conf = fontconfig_file(cache_dir)
    previous = os.environ.get("FONTCONFIG_FILE")
    os.environ["FONTCONFIG_FILE"] = str(conf)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("FONTCONFIG_FILE", None)
        else:
            os.environ["FONTCONFIG_FILE"] = previous
