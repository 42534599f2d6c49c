"""Input fingerprints: a build skips an edition whose inputs have not changed since its last
good build. The fingerprint covers content, layouts, fonts, the edition's photos and the
pipeline's own code, so any change that could alter a page triggers a rebuild."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from brochure_build.digests import file_digest
from brochure_build.render.fonts import MANIFEST
from brochure_build.render.share import load_siblings, shared_words
from brochure_build.source.content import SETTINGS_FILE, product_files
from brochure_build.source.model import Edition

PACKAGE_DIR = Path(__file__).resolve().parent


def edition_fingerprint(root: Path, edition: Edition, siblings: Sequence[Edition] | None = None,
                        common: bytes | None = None) -> str:
    """Hash of every input of an edition; computed once and shared by its variants. `siblings`:
    the editions of its script that share steps with it (render/share.py; read from the text
    files when not given): their words of the shared kinds are its inputs too. `common`: what
    common_inputs(root) gave, when the caller fingerprints several editions."""
    digest = hashlib.sha256()
    if siblings is None:
        siblings = load_siblings(root, edition)
    digest.update(shared_words(siblings).encode())
    # Of the text file, only the words this product prints: a paragraph of the brochure edited
    # does not rebuild the leaflet.
    digest.update(repr((edition.language, edition.labels, edition.meta, edition.sections, edition.figures)).encode())
    digest.update(common if common is not None else common_inputs(root))
    files = [root / "assets" / figure.spec.file for figure in edition.figures.values()]
    files.append(root / "assets" / edition.settings.print.output_profile)
    update_with_files(digest, root, files)
    return digest.hexdigest()


def common_inputs(root: Path) -> bytes:
    """Digest of the inputs every edition shares: every product file (one product inherits
    brochure.yaml's values), the font manifest, the layouts and the pipeline's own code."""
    digest = hashlib.sha256()
    files = [root / SETTINGS_FILE, *(root / name for name in product_files(root)), root / MANIFEST]
    files += sorted(p for p in (root / "layouts").rglob("*") if p.is_file())
    files += sorted(PACKAGE_DIR.rglob("*.py"))
    update_with_files(digest, root, files)
    return digest.digest()


def update_with_files(digest, root: Path, files: list[Path]) -> None:
    for path in files:
        digest.update(str(path.relative_to(root) if path.is_relative_to(root) else path.relative_to(PACKAGE_DIR)).encode())
        digest.update(file_digest(path) if path.is_file() else b"<missing>")


def variant_fingerprint(edition_inputs: str, variant: str) -> str:
    # SOURCE_DATE_EPOCH changes the dates inside the PDFs, so it is an input too.
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    return hashlib.sha256(f"{edition_inputs}:{variant}:{epoch}".encode()).hexdigest()


def stamp_path(pdf: Path) -> Path:
    return pdf.with_name(f".{pdf.name}.inputs")


def is_up_to_date(pdf: Path, fingerprint: str) -> bool:
    stamp = stamp_path(pdf)
    return pdf.is_file() and stamp.is_file() and stamp.read_text() == fingerprint
