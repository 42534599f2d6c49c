"""Every input checked before anything renders or any file is written: content, fonts, photos and
stylesheets. All their problems are reported together, one line each, in one ContentError."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from brochure_build.assets import figure_problems
from brochure_build.content import load_edition, load_products, unknown_languages
from brochure_build.errors import ContentError, Problem
from brochure_build.fonts import font_problems
from brochure_build.model import Edition, Settings
from brochure_build.sandbox import link_problems, stylesheet_problems


def check_inputs(root: Path, languages: list[str] | None = None) -> list[tuple[Settings, list[Edition]]]:
    """Every product's settings and its editions of `languages` (default all), or ContentError
    listing every problem."""
    problems: list[Problem] = []
    products = load_products(root, problems)
    result = []
    if products:
        problems += unknown_languages(products[0], languages)
    for settings in products:
        editions = []
        known = [lang.code for lang in settings.languages]
        for code in [code for code in languages or known if code in known]:
            edition = load_edition(root, settings, code, problems)
            if edition is not None:
                editions.append(edition)
        # A photo is checked once, where it is first declared: a product reframing it reads the same file.
        checked = {figure.file for product in products[: products.index(settings)] for figure in product.figures.values()}
        unchecked = {key: figure for key, figure in settings.figures.items() if figure.file not in checked}
        problems += figure_problems(root, replace(settings, figures=unchecked))
        result.append((settings, editions))
    problems += font_problems(root)
    problems += link_problems(root)
    problems += stylesheet_problems(root)
    if problems or not products:
        raise ContentError(problems)
    return result
