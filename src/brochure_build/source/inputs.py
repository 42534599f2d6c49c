"""Every input checked before anything renders or any file is written: the project folders,
content, fonts, photos and stylesheets. All their problems are reported together, one line each,
in one ContentError.

`brochure build` and the preview call the same `check_inputs`. The preview passes an
`InputMemo` that keeps each area's result until a file of that area changes (hashing the fonts
takes a second; a CSS save should not pay for it), a build starts from an empty one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from brochure_build.errors import ContentError, Problem
from brochure_build.render.fonts import font_problems
from brochure_build.source.assets import figure_problems
from brochure_build.source.content import SETTINGS_FILE, TEXT_DIR, load_edition, load_products, unknown_languages
from brochure_build.source.model import Edition, Settings
from brochure_build.source.sandbox import link_problems, project_folder_problems, stylesheet_problems


@dataclass
class InputMemo:
    """Results of the checks of each area, kept until `forget` is told a file of that area changed."""

    products: tuple[list[Settings], list[Problem]] | None = None
    editions: dict[tuple[str, str], tuple[Edition | None, list[Problem]]] = field(default_factory=dict)  # (slug, code)
    fonts: list[Problem] | None = None
    photos: list[Problem] | None = None
    layouts: list[Problem] | None = None

    def forget(self, paths) -> None:
        """Drop what the changed `paths` (relative to the project, POSIX) may invalidate."""
        for path in paths:
            if path.startswith(TEXT_DIR + "/"):
                for key in [key for key in self.editions if key[1] == Path(path).stem]:
                    del self.editions[key]
                continue
            if path == SETTINGS_FILE or path.startswith("brochure/"):
                self.products, self.photos = None, None
                self.editions.clear()
            elif path.startswith("fonts/"):
                self.fonts = None
            elif path.startswith("assets/"):
                self.photos = None
            elif path.startswith("layouts/") and not path.endswith(".css"):
                # the page kinds (templates and their declarations) are read with the plan and the text
                self.products = None
                self.editions.clear()
            # A stylesheet's url() may name any project file: a file added or removed anywhere counts.
            self.layouts = None


def check_inputs(root: Path, languages: list[str] | None = None,
                 memo: InputMemo | None = None) -> list[tuple[Settings, list[Edition]]]:
    """Every product's settings and its editions of `languages` (default all), or ContentError
    listing every problem."""
    root = root.resolve()
    memo = memo or InputMemo()
    # A project folder that is a link out of the project is refused before anything in it is read.
    problems = project_folder_problems(root)
    if problems:
        raise ContentError(problems)
    if memo.products is None:
        found: list[Problem] = []
        memo.products = (load_products(root, found), found)
    products, found = memo.products
    problems += found
    result = []
    if products:
        problems += unknown_languages(products[0], languages)
    for settings in products:
        editions = []
        known = [lang.code for lang in settings.languages]
        for code in [code for code in languages or known if code in known]:
            key = (settings.slug, code)
            if key not in memo.editions:
                found = []
                memo.editions[key] = (load_edition(root, settings, code, found), found)
            edition, found = memo.editions[key]
            problems += found
            if edition is not None:
                editions.append(edition)
        result.append((settings, editions))
    if memo.photos is None:
        memo.photos = []
        for index, settings in enumerate(products):
            # A photo is checked once, where it is first declared: a product reframing it reads the same file.
            checked = {figure.file for product in products[:index] for figure in product.figures.values()}
            unchecked = {key: figure for key, figure in settings.figures.items() if figure.file not in checked}
            memo.photos += figure_problems(root, replace(settings, figures=unchecked))
    problems += memo.photos
    if memo.fonts is None:
        memo.fonts = font_problems(root)
    problems += memo.fonts
    if memo.layouts is None:
        memo.layouts = link_problems(root) + stylesheet_problems(root)
    problems += memo.layouts
    if problems or not products:
        raise ContentError(problems)
    return result
