"""Orchestrates a build; reads like the checklist production follows.

inputs (content, fonts, photos, stylesheets, output profile) → build/ lock → photos converted
→ editions in parallel workers, each: for print and screen, HTML → layout → copy-fit → PDF →
fallback-font check → postprocess; then the imposed sheets from the print file.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from brochure_build import heap, workers
from brochure_build.errors import BuildError
from brochure_build.output import atomic_path, build_lock, prepare_build_dir, write_text_atomic
from brochure_build.paths import BUILD_DIR, OUTPUT_VARIANTS, layout_report_path, output_name
from brochure_build.press.impose import impose
from brochure_build.press.join import Unite, join
from brochure_build.press.postprocess import finish
from brochure_build.render import fit, fontsubsets, images, units
from brochure_build.render.budgets import text_blocks
from brochure_build.render.fit import Part, fit_css, lay_out_parts, layout_digest
from brochure_build.render.fontsubsets import face_file
from brochure_build.render.images import convert_images, load_output_profile, prepare_images
from brochure_build.render.layoutcheck import plan_problems
from brochure_build.render.pdf import LazyRenderer, TextLookup
from brochure_build.render.share import script_siblings, sharing_kinds
from brochure_build.render.templating import VARIANTS, make_environment, render_html, unlinked_stylesheets
from brochure_build.review.pdfcheck import fallback_problems
from brochure_build.source import content
from brochure_build.source.inputs import InputMemo, check_inputs
from brochure_build.source.model import Edition
from brochure_build.source.sandbox import PROJECT_FOLDERS
from brochure_build.stamps import common_inputs, edition_fingerprint, is_up_to_date, stamp_path, variant_fingerprint

# In build order: the imposed file is made from the print file.


@dataclass(frozen=True)
class BuiltFile:
    language: str
    variant: str
    path: Path
    pages: int
    seconds: float
    skipped: bool = False


def build(root: Path, languages: list[str] | None = None, force: bool = False,
          report: Callable[[BuiltFile], None] = lambda built: None, jobs: int | None = None) -> list[BuiltFile]:
    """Build the print, screen and imposed PDFs of every edition in `languages` (default all).

    Editions whose inputs have not changed are skipped. The others render in parallel, one
    worker process per core (or `jobs`), each worker warm across the editions it is given.
    Every product (brochure/brochure.yaml, brochure/products/*.yaml) is built, its files named by its slug.
    """
    root = root.resolve()
    memo = InputMemo()
    products = check_inputs(root, languages, memo)
    for settings, _ in products:
        load_output_profile(root, settings)
    editions = [edition for _, product_editions in products for edition in product_editions]
    # A kind sharing its step by script: the other languages' words decide this one's steps too.
    shared = languages and any(sharing_kinds(settings, "script") for settings, _ in products)
    known = [edition for _, product_editions in check_inputs(root, None, memo) for edition in product_editions] \
        if shared else editions
    prepare_build_dir(root / BUILD_DIR, list(dict.fromkeys(edition.language.code for edition in editions)))
    with build_lock(root / BUILD_DIR):
        return build_editions(root, editions, force, report, jobs, known)


def build_editions(root: Path, editions: list[Edition], force: bool,
                   report: Callable[[BuiltFile], None], jobs: int | None,
                   known: list[Edition] | None = None) -> list[BuiltFile]:
    """Build `editions`; `known`: every edition loaded (default `editions`), where each finds the
    editions of its script that share its steps (render/share.py)."""
    built: list[BuiltFile] = []
    pending: list[tuple[Edition, str, tuple[Edition, ...]]] = []
    common = common_inputs(root)  # what every edition's fingerprint shares, hashed once
    for edition in editions:
        settings = edition.settings
        siblings = script_siblings(edition, known or editions)
        inputs = edition_fingerprint(root, edition, siblings, common)
        if not force and all(is_up_to_date(variant_path(root, edition, variant), variant_fingerprint(inputs, variant))
                             for variant in OUTPUT_VARIANTS):
            for variant in OUTPUT_VARIANTS:
                result = BuiltFile(edition.language.code, variant, variant_path(root, edition, variant), settings.page_count, 0.0, True)
                built.append(result)
                report(result)
        else:
            pending.append((edition, inputs, siblings))
    if not pending:
        return built
    # Photos are converted once, here, for every edition that needs them (build/.cache/images/),
    # on as many threads as the build may use cores.
    products = {id(edition.settings): edition.settings for edition, _, _ in pending}.values()
    convert_images(root, [(settings, variant, list(settings.figures.values())) for settings in products for variant in VARIANTS],
                   jobs or os.cpu_count() or 1)

    failures: list[str] = []
    work = build_jobs(pending, jobs or os.cpu_count() or 1)
    processes = min(jobs or os.cpu_count() or 1, len(work))
    families = build_families([edition for edition, _, siblings in pending for edition in (edition, *siblings)])
    if processes <= 1:
        renderer = LazyRenderer(root)
        renderer.use_families(families)
        try:
            for edition, inputs, siblings, variants in work:
                # One edition's failure does not stop the others: production sees every problem at once.
                try:
                    built.extend(build_edition(root, edition, inputs, renderer, force, report, siblings, variants))
                except BuildError as error:
                    failures.append(str(error))
        finally:
            renderer.close()  # WeasyPrint's font folder in the temporary directory, on every way out
    else:
        context = multiprocessing.get_context("fork")  # workers inherit the loaded content
        with ProcessPoolExecutor(max_workers=processes, mp_context=context, initializer=workers.start,
                                 initargs=(root, os.getpid(), families)) as pool:
            with heap.frozen():  # the workers are forked at the first submit
                futures = [pool.submit(build_edition_in_worker, root, edition, inputs, force, siblings, variants)
                           for edition, inputs, siblings, variants in work]
            try:
                outcomes = [future.result() for future in futures]
            except KeyboardInterrupt:
                # The signal reached this process only: stop the workers too. Each removes its
                # temporary files and its font folder as it stops (workers.py), so the last good
                # PDFs stay and nothing is left in the temporary directory.
                for process in multiprocessing.active_children():  # the pool's workers: this process starts no others
                    process.terminate()
                pool.shutdown(wait=True, cancel_futures=True)
                raise
            screen_failed: set[int] = set()
            for (edition, _, _, variants), outcome in zip(work, outcomes, strict=True):
                if isinstance(outcome, str):
                    if "screen" in variants:
                        screen_failed.add(id(edition))
                    elif id(edition) in screen_failed:
                        continue  # the press job stumbled on what its screen job said already
                    failures.append(outcome)
                    continue
                for result in outcome:
                    built.append(result)
                    report(result)
    fontsubsets.prune(root / fontsubsets.CACHE_DIR)
    fit.prune(root / fit.CACHE_DIR)
    units.prune(root / units.CACHE_DIR)
    images.prune(root / images.CACHE_DIR)
    if failures:  # an edition's press and screen jobs may stumble on the same words: said once
        raise BuildError("\n".join(dict.fromkeys(failures)))
    return built


def build_families(editions: list[Edition]) -> tuple[str, ...]:
    """The font families of every edition a build lays out, for each of its processes to register
    from the start (pdf.declared_families); none (every font) when an edition declares none.
    Registered later, after layouts, faces cost memory that stays (measured: a process that set
    the Latin and Arabic editions, then the Chinese leaflet, peaked at 365 MB, against 255 MB)."""
    if any(not edition.language.fonts for edition in editions):
        return ()
    return tuple(dict.fromkeys(family for edition in editions for family in edition.language.fonts))


def build_jobs(pending: list, cores: int) -> list[tuple]:
    """The jobs of a build: (edition, inputs, siblings, variants) for each pending edition. With
    a core to spare for each (an edit to one language), an edition's press files (print, and the
    imposed sheets made from it) are a job of their own beside its screen file: the two choose
    the same copy-fit settings (fit.py; the cache is shared, and a setting remembered is not laid
    out again), and neither waits for the other's layout. When both fail, the screen job's
    message is the one given (build_editions), as it was when the screen file came first in one
    job. Otherwise one job per edition."""
    split = cores >= 2 * len(pending)
    return [(edition, inputs, siblings, variants) for edition, inputs, siblings in pending
            for variants in ((("screen",), ("print", "imposed")) if split else (OUTPUT_VARIANTS,))]


def variant_path(root: Path, edition: Edition, variant: str) -> Path:
    code = edition.language.code
    return root / BUILD_DIR / code / output_name(edition.settings, code, variant, "pdf")


def message_context(edition: Edition, variant: str) -> str:
    """How messages name an edition's variant; a further product's name it too: the brochure and
    the leaflet may stumble on the same words."""
    code = edition.language.code
    settings = edition.settings
    return f"{code} {variant}" if settings.file == content.SETTINGS_FILE else f"{code} {variant} {settings.slug}"


def choose_settings(root: Path, edition: Edition, environment, renderer: LazyRenderer, lookup: TextLookup,
                    figures: list, siblings: tuple[Edition, ...] = (), variant: str = "screen",
                    searches: str = "plan", kept: Callable[[str], bool] = lambda html: False) -> tuple[dict, list[Part]]:
    """The fitter's settings for the edition's sections (fit.py), and the `variant`'s pages laid
    out with them, part by part; `siblings`' runs are laid out alike where a kind shares its step
    by script. `searches` and `kept`: see fit.lay_out_parts."""

    def laid_out(edition: Edition, lookup: TextLookup):
        code = edition.language.code
        out_dir = root / BUILD_DIR / code
        html_path = out_dir / output_name(edition.settings, code, variant, "html")
        context = message_context(edition, variant)
        sheets = unlinked_stylesheets(root, edition.settings)
        photos = prepare_images(root, edition.settings, variant, figures)
        return (lambda sections, css: render_html(environment, edition, variant, root, out_dir, photos, sections, css, sheets),
                lambda html: renderer.get().render_remembering(html, html_path, context, lookup, sheets), context)

    def sibling(other: Edition):
        html_of, layout, context = laid_out(other, TextLookup(other.text_file, content.text_file(other.language.code)))
        return other, lambda run, css: layout(html_of(run, css)), context

    return lay_out_parts(root, edition, *laid_out(edition, lookup), [sibling(other) for other in siblings], searches, kept)


def build_edition_in_worker(root: Path, edition: Edition, inputs: str, force: bool,
                            siblings: tuple[Edition, ...] = (), variants: tuple[str, ...] = OUTPUT_VARIANTS,
                            ) -> list[BuiltFile] | str:
    """build_edition in a worker process (workers.py), with its warm renderer; a failure comes
    back as its message (picklable)."""
    with workers.job() as renderer:
        try:
            return build_edition(root, edition, inputs, renderer, force, siblings=siblings, variants=variants)
        except BuildError as error:
            return str(error)


@dataclass(frozen=True)
class Laying:
    """What laying out an edition's variants takes: the process's renderer, the layouts' template
    environment, where a character comes from (for messages), the photos, and the script siblings."""

    renderer: LazyRenderer
    environment: object
    lookup: TextLookup
    figures: list
    siblings: tuple[Edition, ...]


def write_variant(root: Path, edition: Edition, variant: str, laying: Laying, pdf_path: Path, fingerprint: str,
                  searches: str, force: bool = False) -> int:
    """Lay out, check and write the edition's `variant` (print or screen) at `pdf_path`, part by
    part, the parts kept from an earlier build not laid out or written again (render/units.py;
    with `force`, every part is); its layout report beside it. Returns its page count;
    BuildError on the plan's problems."""
    settings = edition.settings
    code = edition.language.code
    out_dir = root / BUILD_DIR / code
    context = message_context(edition, variant)
    html_path = out_dir / output_name(settings, code, variant, "html")
    renderer, lookup = laying.renderer, laying.lookup
    store = units.PartStore(root, variant, units.store_salt(root, edition, layout_digest(root, edition)), fresh=force)
    choices, parts = choose_settings(root, edition, laying.environment, renderer, lookup, laying.figures, laying.siblings,
                                     variant=variant, searches=searches, kept=store.has)
    sheets = unlinked_stylesheets(root, settings)
    settled = [units.settle(store, part, lambda html: renderer.get().render_remembering(html, html_path, context, lookup, sheets))
               for part in parts]
    # Kept whether or not it fits, so preflight can say by how much a language overflows.
    layout = units.layout_report(settled, choices, text_blocks(edition))
    write_text_atomic(layout_report_path(pdf_path), json.dumps({"inputs": fingerprint, **layout}, indent=1))
    problems = plan_problems(edition, layout, context)
    if problems:
        raise BuildError("\n".join(problems))
    with atomic_path(pdf_path) as temporary:  # a part that cannot be written fails as the file would
        settled = units.write(store, settled, lambda document, target, foreign: renderer.get().write(
            document, target, variant, context, lookup, foreign))
        # What WeasyPrint says of a link to nothing when it writes the whole edition.
        problems = [f"{context}: WeasyPrint: No anchor #{name} for internal URI reference" for name in units.unresolved_links(settled)]
        if problems:
            raise BuildError("\n".join(problems))
        join([part.joined() for part in settled], temporary, united_subsets(root, renderer))
        problems = fallback_problems(temporary, edition.language.fonts, context)
        if problems:
            raise BuildError("\n".join(problems))
        finish(temporary, edition, variant, root)
    photos = prepare_images(root, settings, variant, laying.figures)
    html = render_html(laying.environment, edition, variant, root, out_dir, photos, fit_css=fit_css(choices))
    write_text_atomic(html_path, html)  # after the PDF: a failed build keeps the HTML its PDF was made from
    return units.page_total(settled)


def united_subsets(root: Path, renderer: LazyRenderer) -> Unite:
    """How the join makes the parts' subsets of a font one (join.unite_subsets): from the face
    this process read to write the parts, or else the font's file in the project, through the
    process's subset cache."""

    def unite(face: str, index: int, glyphs: list[int], hinting: bool, missing: bool) -> bytes | None:
        subsets = renderer.get().subsets
        data = subsets.known_face(face) or face_file([root / folder for folder in PROJECT_FOLDERS], face)
        return None if data is None else subsets.united(data, index, glyphs, hinting, missing)

    return unite


def build_edition(root: Path, edition: Edition, inputs: str, renderer: LazyRenderer, force: bool,
                  report: Callable[[BuiltFile], None] = lambda built: None,
                  siblings: tuple[Edition, ...] = (), variants: tuple[str, ...] = OUTPUT_VARIANTS) -> list[BuiltFile]:
    """Build the print, screen and imposed PDFs of one edition (those of `variants` whose inputs
    changed) with the process's warm `renderer`, calling `report` as each is done; `siblings`:
    the editions of its script (share.py). The screen variant lays out the pages the copy-fit
    settings are chosen on; without it (the press files built by a process of their own), the
    settings are chosen alone: what the fit cache remembers is not laid out again."""
    settings = edition.settings
    code = edition.language.code
    out_dir = root / BUILD_DIR / code
    lookup = TextLookup(edition.text_file, content.text_file(code))
    environment = make_environment(root, settings.layouts)
    if renderer.renderer is not None:
        renderer.renderer.forget_lines()  # the next edition's lines seldom repeat the last one's
    built: list[BuiltFile] = []
    split = set(variants) != set(OUTPUT_VARIANTS)  # half of a split build (build_jobs)
    figures = [figure.spec for figure in edition.figures.values()]
    for variant in sorted(variants, key=lambda v: v != "screen"):  # screen first: it chooses the settings
        started = time.perf_counter()
        pdf_path = out_dir / output_name(settings, code, variant, "pdf")
        fingerprint = variant_fingerprint(inputs, variant)
        if not force and is_up_to_date(pdf_path, fingerprint):
            built.append(BuiltFile(code, variant, pdf_path, settings.page_count, time.perf_counter() - started, True))
            report(built[-1])
            continue
        if variant == "imposed":
            print_pdf = out_dir / output_name(settings, code, "print", "pdf")
            with atomic_path(pdf_path) as temporary:
                pages = impose(print_pdf, temporary, edition)
        else:
            # Screen first: it chooses the fitter's settings, which the print variant recalls. The
            # two jobs of a split build search from opposite ends (fit.lay_out_parts).
            searches = ("last" if variant == "screen" else "first") if split else "plan"
            pages = write_variant(root, edition, variant, Laying(renderer, environment, lookup, figures, siblings),
                                  pdf_path, fingerprint, searches, force)
        write_text_atomic(stamp_path(pdf_path), fingerprint)
        built.append(BuiltFile(code, variant, pdf_path, pages, time.perf_counter() - started))
        report(built[-1])
    if split:
        # A split build has a core to spare: preflight's checks of the files just written, kept
        # for the preflight that follows (review/filechecks.keep_checks), and the screen file's
        # page thumbnails for its report (the screen job ends before the press job, which
        # imposes too).
        from brochure_build.review.filechecks import keep_checks
        from brochure_build.review.preflight import GROUPS
        from brochure_build.review.preflightreport import thumbnail_folder, write_thumbnails

        screen = next((file for file in built if file.variant == "screen" and not file.skipped), None)
        if screen is not None:
            try:
                write_thumbnails(screen.path, thumbnail_folder(root, settings, code))
            except Exception:  # noqa: BLE001 - only a head start: preflight writes them itself and says what failed
                pass
        for group, group_variants in GROUPS.items():
            if any(not file.skipped for file in built if file.variant in group_variants):
                try:
                    keep_checks(root, edition, inputs, group)
                except Exception:  # noqa: BLE001 - only a head start: preflight checks the files itself and says what failed
                    pass
    return built
