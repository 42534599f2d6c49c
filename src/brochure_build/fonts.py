"""Fonts stage: checks the pinned fonts against fonts/manifest.yaml and isolates fontconfig so
WeasyPrint can only ever see the project's fonts, never the machine's."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import yaml

from brochure_build.errors import BuildError

MANIFEST = "fonts/manifest.yaml"


def verify_fonts(root: Path) -> list[Path]:
    """Every font in the manifest exists and has its recorded sha256; returns their paths."""
    manifest_path = root / MANIFEST
    try:
        entries = yaml.safe_load(manifest_path.read_text(encoding="utf-8"))["fonts"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
        raise BuildError(f"{MANIFEST}: cannot be read ({error})") from None
    problems, paths = [], []
    for entry in entries:
        path = root / "fonts" / entry["file"]
        if not path.is_file():
            problems.append(f"{MANIFEST}: fonts/{entry['file']}: file is missing")
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != entry["sha256"]:
            problems.append(
                f"{MANIFEST}: fonts/{entry['file']}: sha256 is {digest[:12]}…, the manifest pins {entry['sha256'][:12]}…: "
                "restore the pinned file, or re-run scripts/vendor_fonts.py if the change is deliberate")
        paths.append(path)
    if problems:
        raise BuildError("\n".join(problems))
    return paths


def isolate_fontconfig(root: Path, cache_dir: Path) -> None:
    """Point fontconfig at a configuration that knows no font at all; must run before Pango starts.

    WeasyPrint still loads every @font-face of layouts/css/fonts.css. What fontconfig would add is
    fallback: a character missing from a language's stack drawn silently with some other font
    (the machine's, or a project font meant for another script). With no fonts to fall back on,
    such a character becomes a .notdef glyph, which the build reports as an error.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    conf = cache_dir / "fonts.conf"
    text = (
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        f"  <cachedir>{(cache_dir / 'fontconfig').resolve()}</cachedir>\n"
        "</fontconfig>\n"
    )
    if not conf.exists() or conf.read_text() != text:
        conf.write_text(text)
    os.environ["FONTCONFIG_FILE"] = str(conf.resolve())
