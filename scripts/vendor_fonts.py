"""Vendor the brochure's fonts into fonts/ from Debian's Noto packages, and write the manifest.

Run once by a maintainer when fonts change (`python scripts/vendor_fonts.py`, needs
`apt-get install fonts-noto-cjk fonts-noto-core`); the build itself only reads fonts/.
The CJK faces ship as TrueType collections whose face is chosen by `lang`: we extract the
Simplified Chinese (SC) face with fontTools so that no collection index or language tag can
pick the Japanese or Korean glyph forms by accident.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import yaml
from fontTools.ttLib import TTCollection, TTFont

ROOT = Path(__file__).resolve().parent.parent
FONTS = ROOT / "fonts"
CJK_DIR = Path("/usr/share/fonts/opentype/noto")
CORE_DIR = Path("/usr/share/fonts/truetype/noto")

# (output file, source, face name inside a collection or None, Debian package)
FONT_SOURCES = [
    ("NotoSansCJKsc-Regular.otf", CJK_DIR / "NotoSansCJK-Regular.ttc", "Noto Sans CJK SC", "fonts-noto-cjk"),
    ("NotoSansCJKsc-Bold.otf", CJK_DIR / "NotoSansCJK-Bold.ttc", "Noto Sans CJK SC Bold", "fonts-noto-cjk"),
    ("NotoSerifCJKsc-Regular.otf", CJK_DIR / "NotoSerifCJK-Regular.ttc", "Noto Serif CJK SC", "fonts-noto-cjk"),
    ("NotoSerifCJKsc-Bold.otf", CJK_DIR / "NotoSerifCJK-Bold.ttc", "Noto Serif CJK SC Bold", "fonts-noto-cjk"),
    ("NotoSans-Regular.ttf", CORE_DIR / "NotoSans-Regular.ttf", None, "fonts-noto-core"),
    ("NotoSans-Bold.ttf", CORE_DIR / "NotoSans-Bold.ttf", None, "fonts-noto-core"),
    ("NotoSans-Italic.ttf", CORE_DIR / "NotoSans-Italic.ttf", None, "fonts-noto-core"),
    ("NotoSerif-Regular.ttf", CORE_DIR / "NotoSerif-Regular.ttf", None, "fonts-noto-core"),
    ("NotoSerif-Bold.ttf", CORE_DIR / "NotoSerif-Bold.ttf", None, "fonts-noto-core"),
    ("NotoSerif-Italic.ttf", CORE_DIR / "NotoSerif-Italic.ttf", None, "fonts-noto-core"),
    ("NotoNaskhArabic-Regular.ttf", CORE_DIR / "NotoNaskhArabic-Regular.ttf", None, "fonts-noto-core"),
    ("NotoNaskhArabic-Bold.ttf", CORE_DIR / "NotoNaskhArabic-Bold.ttf", None, "fonts-noto-core"),
    ("NotoSansArabic-Regular.ttf", CORE_DIR / "NotoSansArabic-Regular.ttf", None, "fonts-noto-core"),
    ("NotoSansArabic-Bold.ttf", CORE_DIR / "NotoSansArabic-Bold.ttf", None, "fonts-noto-core"),
]


def package_version(package: str) -> str:
    """The installed Debian version of a package, recorded so the vendoring is reproducible."""
    return subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package], check=True, capture_output=True, text=True
    ).stdout


def extract_face(collection: Path, full_name: str, target: Path) -> None:
    """Save the face named `full_name` of a TrueType collection as a standalone font."""
    for font in TTCollection(collection).fonts:
        if font["name"].getDebugName(4) == full_name:
            font.save(target)
            return
    raise SystemExit(f"{collection}: no face named {full_name!r}")


def main() -> None:
    FONTS.mkdir(exist_ok=True)
    entries = []
    for filename, source, face, package in FONT_SOURCES:
        target = FONTS / filename
        if face:
            extract_face(source, face, target)
        else:
            shutil.copyfile(source, target)
        font = TTFont(target, lazy=True)
        name = font["name"]
        entries.append({
            "file": filename,
            "family": name.getDebugName(1),
            "style": name.getDebugName(2),
            "version": name.getDebugName(5),
            "license": "OFL-1.1",
            "license_file": f"LICENSE-{package}.txt",
            "source": f"Debian package {package} {package_version(package)}: {source.name}",
            "sha256": hashlib.sha256(target.read_bytes()).hexdigest(),
        })
    for package in sorted({p for *_, p in FONT_SOURCES}):
        shutil.copyfile(f"/usr/share/doc/{package}/copyright", FONTS / f"LICENSE-{package}.txt")
    header = "# Pinned fonts of the brochure. Written by scripts/vendor_fonts.py; the build checks every sha256.\n"
    (FONTS / "manifest.yaml").write_text(
        header + yaml.safe_dump({"fonts": entries}, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )


if __name__ == "__main__":
    main()
