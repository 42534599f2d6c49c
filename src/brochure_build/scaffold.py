"""`brochure new DIR`: a minimal project that builds, to start a new brochure from.

The layouts, page kinds and text come from the `scaffold/` folder beside this module: an A5
booklet with a title page, a text of blocks, a numbered group of articles and a back cover, in
English and French. The pinned Latin fonts and the output profile are copied from an existing
project (the one given with --root), with a manifest of the copied fonts only.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from brochure_build.errors import BuildError
from brochure_build.render.fonts import MANIFEST

SCAFFOLD = Path(__file__).resolve().parent / "scaffold"
FONT_FILES = ("NotoSerif-Regular.ttf", "NotoSerif-Bold.ttf", "NotoSerif-Italic.ttf", "NotoSans-Regular.ttf", "NotoSans-Bold.ttf")
PROFILE_FILES = ("color/FOGRA39L-coated.icc", "color/LICENSE-zlib.txt", "color/README.md")


def new_project(target: Path, source: Path) -> list[Path]:
    """Write a new project into `target` (which must not exist or be empty); returns the files written."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BuildError(f"{target}: already exists and is not an empty folder: choose a new folder")
    needed = [source / "fonts" / name for name in FONT_FILES] + [source / "assets" / name for name in PROFILE_FILES]
    missing = [str(path) for path in needed if not path.is_file()]
    if missing or not (source / MANIFEST).is_file():
        raise BuildError(f"{source}: the fonts and output profile are copied from an existing project, and this folder "
                         f"lacks {', '.join(missing) or MANIFEST}: run `brochure new` with --root naming a project")
    shutil.copytree(SCAFFOLD, target, dirs_exist_ok=True)
    for path in needed:
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
    manifest = yaml.safe_load((source / MANIFEST).read_text(encoding="utf-8"))
    entries = [entry for entry in manifest.get("fonts", []) if entry.get("file") in FONT_FILES]
    for licence in sorted({entry["license_file"] for entry in entries if entry.get("license_file")}):
        shutil.copy2(source / "fonts" / licence, target / "fonts" / licence)
    (target / MANIFEST).write_text("# Pinned fonts, copied by `brochure new` from an existing project.\n"
                                   + yaml.safe_dump({"fonts": entries}, allow_unicode=True, sort_keys=False),
                                   encoding="utf-8")
    return sorted(path for path in target.rglob("*") if path.is_file())
