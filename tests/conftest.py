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


def copy_project(target: Path) -> Path:
    """A copy of the project's inputs under `target`; fonts are hard-linked (they are large)."""
    for part in PROJECT_PARTS:
        copy = shutil.copy2
        if part == "fonts":
            def copy(src, dst):  # noqa: E306 - hard links are instant and use no space
                try:
                    os.link(src, dst)
                except OSError:
                    shutil.copy2(src, dst)
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
    from brochure_build.content import load_settings

    settings = load_settings(root, [])
    return root / "build" / code / f"{settings.slug}-{code}-{variant}.pdf"
