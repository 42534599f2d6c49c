"""Shared fixtures: a private copy of the project per test session, built once for real."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# A copy of shared/source/brochure-zh.txt, the printed edition as extracted: the reference text.
SOURCE_TEXT = REPO / "tests" / "data" / "brochure-zh.txt"
PROJECT_PARTS = ("brochure", "layouts", "fonts", "assets")


FONT_SUFFIXES = (".otf", ".ttf")


def copy_project(target: Path) -> Path:
    """A copy of the project's inputs under `target`; font files are hard-linked (they are large).

    A test that changes a font must replace the file (unlink, then write), never write through
    the link. The manifest and licences are copied, so a test may edit them.
    """
    def copy(src, dst):
        if not str(src).endswith(FONT_SUFFIXES):
            return shutil.copy2(src, dst)
        try:
            os.link(src, dst)  # instant and uses no space
        except OSError:
            shutil.copy2(src, dst)
        return dst

    for part in PROJECT_PARTS:
        shutil.copytree(REPO / part, target / part, copy_function=copy)
    return target


@pytest.fixture(scope="session")
def built_project(tmp_path_factory) -> Path:
    """The committed content, built once for every language."""
    from brochure_build.build import build

    root = copy_project(tmp_path_factory.mktemp("project"))
    build(root)
    return root


@pytest.fixture()
def project(tmp_path) -> Path:
    """A fresh copy of the project inputs that a test may change."""
    return copy_project(tmp_path / "project")


def pdf_path(root: Path, code: str, variant: str) -> Path:
    from brochure_build.source.content import load_settings

    settings = load_settings(root, [])
    return root / "build" / code / f"{settings.slug}-{code}-{variant}.pdf"
