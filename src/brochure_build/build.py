"""Orchestrates a build; reads like the checklist production follows.

content → fonts → assets → for each edition and variant: HTML → layout → plan check → PDF.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from brochure_build import content, fonts
from brochure_build.errors import BuildError
from brochure_build.images import load_output_profile, prepare_images
from brochure_build.impose import impose
from brochure_build.layoutcheck import copy_fit, plan_problems
from brochure_build.model import Edition, Settings
from brochure_build.output import atomic_path, write_text_atomic
from brochure_build.pdfcheck import fallback_problems
from brochure_build.postprocess import finish
from brochure_build.stamps import edition_fingerprint, is_up_to_date, stamp_path, variant_fingerprint
from brochure_build.templating import make_environment, render_html

BUILD_DIR = "build"
# In build order: the imposed file is made from the print file.
OUTPUT_VARIANTS = ("print", "screen", "imposed")


@dataclass(frozen=True)
class BuiltFile:
    language: str
    variant: str
    path: Path
    pages: int
    seconds: float
    skipped: bool = False


def output_name(settings: Settings, code: str, variant: str, suffix: str) -> str:
    return f"{settings.slug}-{code}-{variant}.{suffix}"


def layout_report_path(pdf: Path) -> Path:
    """Where the copy-fit measures of a rendered variant are kept (read by preflight)."""
    return pdf.with_suffix(".layout.json")


def check_assets(root: Path, settings: Settings) -> None:
    """Every photo the plan places exists inside assets/."""
    problems = []
    assets = (root / "assets").resolve()
    for figure in settings.figures.values():
        path = (assets / figure.file).resolve()
        key = f"figures.{figure.id}.file"
        if not path.is_relative_to(assets):
            problems.append(f"{content.SETTINGS_FILE}: {key}: {figure.file!r} is outside assets/")
        elif not path.is_file():
            problems.append(f"{content.SETTINGS_FILE}: {key}: assets/{figure.file} not found "
                            "(run `make photos` to create stand-ins)")
    if problems:
        raise BuildError("\n".join(problems))


def build(root: Path, languages: list[str] | None = None, force: bool = False,
          report: Callable[[BuiltFile], None] = lambda built: None) -> list[BuiltFile]:
    """Build the print and screen PDFs of every edition in `languages` (default all)."""
    root = root.resolve()
    settings, editions = content.load_content(root, languages)
    fonts.verify_fonts(root)
    fonts.isolate_fontconfig(root, root / BUILD_DIR / ".cache")
    check_assets(root, settings)
    load_output_profile(root, settings)

    renderer = None
    environment = make_environment(root)
    built: list[BuiltFile] = []
    failures: list[str] = []
    for edition in editions:
        # One edition's failure does not stop the others: production sees every problem at once.
        try:
            renderer = build_edition(root, edition, environment, renderer, force, report, built)
        except BuildError as error:
            failures.append(str(error))
    if failures:
        raise BuildError("\n".join(failures))
    return built


def build_edition(root: Path, edition: Edition, environment, renderer, force: bool,
                  report: Callable[[BuiltFile], None], built: list[BuiltFile]):
    """Build the print, screen and imposed PDFs of one edition; returns the (possibly new) warm renderer."""
    from brochure_build.pdf import Renderer, TextLookup

    settings = edition.settings
    code = edition.language.code
    out_dir = root / BUILD_DIR / code
    lookup = TextLookup(edition.text_file, content.text_file(code))
    inputs = edition_fingerprint(root, edition)
    figures = [figure.spec for figure in edition.figures.values()]
    for variant in OUTPUT_VARIANTS:
        started = time.perf_counter()
        pdf_path = out_dir / output_name(settings, code, variant, "pdf")
        fingerprint = variant_fingerprint(inputs, variant)
        if not force and is_up_to_date(pdf_path, fingerprint):
            result = BuiltFile(code, variant, pdf_path, settings.page_count, time.perf_counter() - started, True)
            built.append(result)
            report(result)
            continue
        context = f"{code} {variant}"
        if variant == "imposed":
            print_pdf = out_dir / output_name(settings, code, "print", "pdf")
            with atomic_path(pdf_path) as temporary:
                pages = impose(print_pdf, temporary, edition)
        else:
            renderer = renderer or Renderer(root)
            html_path = out_dir / output_name(settings, code, variant, "html")
            html = render_html(environment, edition, variant, root, out_dir, prepare_images(root, settings, variant, figures))
            write_text_atomic(html_path, html)
            document = renderer.render(html, html_path, context, lookup)
            # Kept whether or not it fits, so preflight can say by how much a language overflows.
            layout = copy_fit(edition, document)
            write_text_atomic(layout_report_path(pdf_path), json.dumps({"inputs": fingerprint, **layout}, indent=1))
            problems = plan_problems(edition, layout, context)
            if problems:
                raise BuildError("\n".join(problems))
            pages = len(document.pages)
            with atomic_path(pdf_path) as temporary:
                renderer.write(document, temporary, variant, context, lookup)
                problems = fallback_problems(temporary, edition.language.fonts, context)
                if problems:
                    raise BuildError("\n".join(problems))
                finish(temporary, edition, variant, root)
        stamp_path(pdf_path).write_text(fingerprint)
        result = BuiltFile(code, variant, pdf_path, pages, time.perf_counter() - started)
        built.append(result)
        report(result)
    return renderer
