"""Photos converted for each variant (render/images.py): on several threads, the same files as one by one."""

from __future__ import annotations

import pytest

from brochure_build.errors import BuildError
from brochure_build.render import images
from brochure_build.render.templating import VARIANTS
from brochure_build.source.content import load_products, load_settings


def cached_files(root) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted((root / images.CACHE_DIR).glob("*.jpg"))}


def test_photos_converted_on_threads_are_the_files_converted_one_by_one(project):
    settings = load_settings(project, [])
    figures = list(settings.figures.values())
    requests = [(settings, variant, figures) for variant in VARIANTS]
    images.convert_images(project, requests, threads=1)
    one_by_one = cached_files(project)
    assert len(one_by_one) == len(figures) * len(VARIANTS)

    for path in (project / images.CACHE_DIR).glob("*.jpg"):
        path.unlink()
    images.convert_images(project, requests, threads=3)
    assert cached_files(project) == one_by_one
    for variant in VARIANTS:  # what the renders are then given: the cached files, nothing converted again
        prepared = images.prepare_images(project, settings, variant, figures)
        assert sorted(path.name for path in prepared.values()) == sorted(name for name in one_by_one if f"-{variant}-" in name)


def test_a_photo_that_cannot_be_read_is_named_as_one_by_one_would(project):
    settings = load_settings(project, [])
    figures = list(settings.figures.values())
    for figure in figures[1:3]:
        (project / "assets" / figure.file).write_bytes(b"not a photo")
    with pytest.raises(BuildError, match=rf"figures\.{figures[1].id}\.file: assets/{figures[1].file} is not a readable image"):
        images.convert_images(project, [(settings, variant, figures) for variant in VARIANTS], threads=2)
    assert not list((project / images.CACHE_DIR).glob(".*"))  # no temporary file left


def test_the_photos_in_use_outlast_the_conversions_of_replaced_ones(project, monkeypatch):
    """A conversion used again is marked used; the build removes the least recently used past
    images.MAX_CACHE_BYTES, so the conversions of photos since replaced go, those in use stay."""
    import os

    from brochure_build.build import build

    products = load_products(project, [])  # the leaflet places some photos at other sizes
    images.convert_images(project, [(settings, variant, list(settings.figures.values()))
                                    for settings in products for variant in VARIANTS], threads=1)
    in_use = cached_files(project)
    figures = list(products[0].figures.values())
    folder = project / images.CACHE_DIR
    for number, figure in enumerate(figures):  # made before, for a photo changed since
        (folder / f"{figure.id}-print-{number:024x}.jpg").write_bytes(b"\xff" * 20_000)
    for age, path in enumerate(sorted(folder.glob("*.jpg"))):  # all older than an hour, in no useful order
        os.utime(path, (1_000_000 + age,) * 2)
    monkeypatch.setattr(images, "MAX_CACHE_BYTES", sum(len(data) for data in in_use.values()) + 10_000)  # no old one fits
    build(project, ["en"], jobs=1)  # converts nothing: the photos are there, and marked used
    assert cached_files(project) == in_use
