"""Orchestrates a build; reads like the checklist production follows.

inputs (content, fonts, photos, stylesheets) → build/ lock → for each edition and variant:
HTML → layout → plan check → PDF.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from brochure_build import content, fonts
from brochure_build.errors import BuildError
from brochure_build.inputs import check_inputs
from brochure_build.layoutcheck import plan_problems
from brochure_build.model import Edition, Settings
from brochure_build.output import atomic_path, build_lock, prepare_build_dir, write_text_atomic
from brochure_build.pdfcheck import fallback_problems
from brochure_build.stamps import edition_fingerprint, is_up_to_date, stamp_path, variant_fingerprint
from brochure_build.templating import VARIANTS, make_environment, render_html

BUILD_DIR = "build"


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


def build(root: Path, languages: list[str] | None = None, force: bool = False,
          report: Callable[[BuiltFile], None] = lambda built: None) -> list[BuiltFile]:
    """Build the print and screen PDFs of every edition in `languages` (default all)."""
    root = root.resolve()
    settings, editions = check_inputs(root, languages)
    prepare_build_dir(root / BUILD_DIR, [edition.language.code for edition in editions])
    with build_lock(root / BUILD_DIR):
        fonts.isolate_fontconfig(root, root / BUILD_DIR / ".cache")
        return build_editions(root, editions, force, report)


def build_editions(root: Path, editions: list[Edition], force: bool, report: Callable[[BuiltFile], None]) -> list[BuiltFile]:
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
    """Build both variants of one edition; returns the (possibly new) warm renderer."""
    from brochure_build.pdf import Renderer, TextLookup

    settings = edition.settings
    code = edition.language.code
    out_dir = root / BUILD_DIR / code
    lookup = TextLookup(edition.text_file, content.text_file(code))
    inputs = edition_fingerprint(root, edition)
    for variant in VARIANTS:
        started = time.perf_counter()
        pdf_path = out_dir / output_name(settings, code, variant, "pdf")
        fingerprint = variant_fingerprint(inputs, variant)
        if not force and is_up_to_date(pdf_path, fingerprint):
            result = BuiltFile(code, variant, pdf_path, settings.page_count, time.perf_counter() - started, True)
            built.append(result)
            report(result)
            continue
        renderer = renderer or Renderer(root)
        html_path = out_dir / output_name(settings, code, variant, "html")
        html = render_html(environment, edition, variant, root, out_dir)
        context = f"{code} {variant}"
        document = renderer.render(html, html_path, context, lookup)
        problems = plan_problems(edition, document, context)
        if problems:
            raise BuildError("\n".join(problems))
        with atomic_path(pdf_path) as temporary:
            renderer.write(document, temporary, context, lookup)
            problems = fallback_problems(temporary, edition.language.fonts, context)
            if problems:
                raise BuildError("\n".join(problems))
        write_text_atomic(html_path, html)  # after the PDF: a failed build keeps the HTML its PDF was made from
        write_text_atomic(stamp_path(pdf_path), fingerprint)
        result = BuiltFile(code, variant, pdf_path, len(document.pages), time.perf_counter() - started)
        built.append(result)
        report(result)
    return renderer

