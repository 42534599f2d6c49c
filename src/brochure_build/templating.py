"""HTML stage: turns an edition into the HTML of one variant (print or screen) with Jinja2.

Autoescape is on and undefined names are errors, so a typo in a template fails the build and
text from content can never become markup.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import jinja2

from brochure_build.errors import BuildError
from brochure_build.model import Edition, Section, Settings

STYLESHEETS = ("css/tokens.css", "css/fonts.css", "css/languages.css", "css/base.css", "css/pages.css")
# Rendered by WeasyPrint; the imposed file is made from the print file (impose.py).
VARIANTS = ("print", "screen")


def make_environment(root: Path, layouts: str = "layouts") -> jinja2.Environment:
    """Templates of the product whose layouts are in `layouts`; a partial it lacks is looked up in
    layouts/ (a second product may share the first one's figure.html.j2)."""
    folders = [root / layouts] + ([root / "layouts"] if layouts != "layouts" else [])
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def document_date(settings: Settings) -> str:
    """The date written into the PDFs: SOURCE_DATE_EPOCH when set (reproducible-builds.org),
    otherwise the edition's date from brochure.yaml. Never the clock: same sources, same bytes."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None:
        return settings.date
    if not epoch.strip().isdigit():
        raise BuildError(f"SOURCE_DATE_EPOCH: expected whole seconds since 1970-01-01, found {epoch!r}")
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_html(environment: jinja2.Environment, edition: Edition, variant: str, root: Path, html_dir: Path,
                images: dict[str, Path], sections: tuple[Section, ...] | None = None) -> str:
    """HTML of `edition` for `variant`, with links relative to `html_dir` where it will be kept.

    `images` maps each figure id to the file this variant embeds (images.prepare_images).
    `sections`: only these, a run of the page plan (the preview lays an edition out in parts);
    their pages are numbered from the first one's planned page."""
    def relative(target: Path) -> str:
        return Path(os.path.relpath(target, html_dir)).as_posix()

    settings = edition.settings
    try:
        return environment.get_template("base.html.j2").render(
            edition=edition,
            sections=edition.sections if sections is None else sections,
            first_page=sections[0].spec.first_page if sections else 1,
            variant=variant,
            stylesheets=STYLESHEETS,
            date=document_date(settings),
            css_href=lambda sheet: relative(root / settings.layouts / sheet),
            image_href=lambda figure_id: relative(images[figure_id]),
            output_profile_href=relative(root / "assets" / settings.print.output_profile),
            page_width=f"{settings.page.width_mm:g}mm",
            page_height=f"{settings.page.height_mm:g}mm",
            bleed=f"{settings.bleed_mm:g}mm" if variant == "print" else None,
        )
    except jinja2.TemplateSyntaxError as error:
        raise BuildError(f"layouts/{error.name or error.filename}:{error.lineno}: template error: {error.message}") from None
    except jinja2.TemplateError as error:
        raise BuildError(f"layouts: template error: {error}") from None
