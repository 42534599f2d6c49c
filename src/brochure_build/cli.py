"""Command line: parses arguments and calls the library; nothing else lives here."""

from __future__ import annotations

import argparse
import signal
import sys
import traceback
from pathlib import Path

from brochure_build import __version__, heap
from brochure_build.errors import BuildError, ContentError

EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C
EXIT_TERMINATED = 143  # 128 + SIGTERM
EXIT_INTERNAL_ERROR = 70  # EX_SOFTWARE: a bug in brochure_build, not in the project


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so the same cleanup runs: temporary files go, the last good PDFs stay."""


def raise_terminated(signum, frame) -> None:
    raise Terminated()


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="brochure",
        description="Typesets the brochure's editions from brochure/, layouts/, fonts/ and assets/ into build/.")
    parser.add_argument("--version", action="version", version=f"brochure_build {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = commands.add_parser("build", help="build the print, screen and imposed PDFs of every edition",
                                description="Build build/<lang>/<slug>-<lang>-{print,screen,imposed}.pdf, keeping the "
                                            "intermediate HTML beside them. Unchanged editions are skipped.")
    build.add_argument("--force", action="store_true", help="rebuild even editions whose inputs have not changed")
    make = commands.add_parser(
        "make", help="check, build and preflight in one process: what `make` runs",
        description="brochure check, brochure build and brochure preflight one after another, stopping at the first "
                    "that fails, in one process: what `make` runs after an edit. The same output, without starting "
                    "Python and reading the content three times.")
    for command in (build, make):
        command.add_argument("--jobs", type=int, metavar="N", help="render at most N editions at once (default: one per core)")
    check = commands.add_parser(
        "check", help="validate all content and report missing, extra and stale translations",
        description="Validate brochure/ without rendering. Per language: missing and extra blocks (errors, exit 1) "
                    "and stale ones, translated from a source block that has changed since (warnings).")
    check.add_argument("--accept", action="store_true",
                       help="record that the translations of --lang are up to date with the current source")
    check.add_argument("--key", metavar="KEY", help="with --accept: only this block, or the blocks under it")
    preflight = commands.add_parser(
        "preflight", help="check the built editions as a print shop would; exit 1 on any failure",
        description="Check every built edition: copy-fit, pages, fonts, images, boxes, colour, accessibility, content. "
                    "Prints a table (language × check) and writes build/preflight.json and build/preflight.html.")
    proofs = commands.add_parser(
        "proofs", help="render the built PDFs to PNG proofs and contact sheets",
        description="From the built screen PDFs: build/<lang>/proofs/page-NN.png, build/<lang>/contact-sheet.png "
                    "(spreads as a reader sees them) and build/proofs/languages.png (a row per language, a column "
                    "per page); for each further product, build/<lang>/proofs/<slug>/, build/<lang>/<slug>-contact-sheet.png "
                    "and build/proofs/<slug>-languages.png. Run `brochure build` first.")
    proofs.add_argument("--dpi", type=float, help="resolution of the page PNGs (default: 100)")
    proofs.add_argument("--snapshots", type=Path, metavar="DIR",
                        help="instead, approve the current pages: rewrite DIR/<lang>/page-NN.png (DIR/<slug>/<lang>/ "
                             "for a further product) at the low "
                             "resolution the visual regression test compares (`make approve`)")
    serve = commands.add_parser(
        "serve", help="preview an edition's pages as spreads in the browser, re-rendered on every change",
        description="Serve a live preview on 127.0.0.1: the pages of an edition as spreads, re-rendered when a file in "
                    "brochure/, layouts/, assets/ or fonts/ changes; errors are shown in the page.")
    serve.add_argument("--port", type=int, default=8000, metavar="N", help="port on 127.0.0.1 (default: 8000; 0: any free port)")
    serve.add_argument("--lang", metavar="L", help="language shown first (default: the source language)")
    xliff = commands.add_parser(
        "xliff", help="exchange the translations with CAT tools as XLIFF 1.2 files",
        description="export: write build/xliff/<slug>-<lang>.xlf per target language (source, current translation, "
                    "state, where the block is printed, maxwidth in characters). import: write the targets of such "
                    "files back into brochure/text/<lang>.yaml, after checking every unit.")
    xliff_commands = xliff.add_subparsers(dest="xliff_command", required=True, metavar="ACTION")
    xliff_export = xliff_commands.add_parser("export", help="write build/xliff/<slug>-<lang>.xlf for each target language")
    xliff_import = xliff_commands.add_parser("import", help="write the targets of XLIFF files back into the text files")
    xliff_import.add_argument("files", nargs="+", type=Path, metavar="FILE", help="XLIFF 1.2 files, one per language")
    new = commands.add_parser(
        "new", help="start a new brochure: a minimal project that builds",
        description="Write into DIR a minimal project that builds: an A5 booklet in two languages with four page "
                    "kinds (title, text of blocks, numbered articles, back), their declarations, CSS, and the fonts "
                    "and output profile copied from the project given with --root. See README, Starting a new brochure.")
    new.add_argument("directory", type=Path, metavar="DIR", help="the new project's folder (must not exist, or be empty)")
    for command in (build, make, check, preflight, proofs, xliff_export):
        command.add_argument("--lang", action="append", metavar="L",
                             help="only this language (repeatable; default: every language)")
    for command in (build, make, check, preflight, proofs, serve, xliff_export, xliff_import, new):
        command.add_argument("--root", type=Path, default=Path("."), metavar="DIR",
                             help="project folder holding brochure/, layouts/, fonts/, assets/ (default: .)")
        command.add_argument("--debug", action="store_true", help="show the traceback of an error")
    return parser


def run_build(args: argparse.Namespace) -> int:
    from brochure_build.build import build

    def report(built) -> None:
        status = "unchanged" if built.skipped else f"{built.pages} pages  {built.seconds:4.1f} s"
        print(f"{built.language:3} {built.variant:7} {built.path.relative_to(args.root.resolve())}  {status}", flush=True)

    build(args.root, args.lang, force=args.force, report=report, jobs=args.jobs)
    return 0


def run_make(args: argparse.Namespace) -> int:
    """check, build, preflight: each as its own command would run, until one fails."""
    steps = (run_check, run_build, run_preflight)
    options = {"accept": False, "key": None, "force": False}
    for step in steps:
        status = step(argparse.Namespace(**{**options, **vars(args)}))
        if status:
            return status
    return 0


def run_check(args: argparse.Namespace) -> int:
    from brochure_build.source.translations import check_content

    return check_content(args.root.resolve(), args.lang, accept=args.accept, key=args.key)


def run_preflight(args: argparse.Namespace) -> int:
    from brochure_build.paths import BUILD_DIR, output_name
    from brochure_build.review.preflight import preflight
    from brochure_build.review.preflightreport import failures, report_name, table, write_reports

    root = args.root.resolve()
    failed = 0
    for index, (settings, report) in enumerate(preflight(root, args.lang)):
        if index:  # the first product's table alone when there is one; the others follow, each named
            print(f"\n{settings.slug} ({settings.file})")
        print(table(report))
        screens = {code: root / BUILD_DIR / code / output_name(settings, code, "screen", "pdf") for code in report}
        write_reports(root, settings.slug, report, screens, report_name(settings))
        failed += failures(report)
    return 1 if failed else 0


def run_proofs(args: argparse.Namespace) -> int:
    from brochure_build.review.proofs import PROOF_DPI, write_proofs
    from brochure_build.review.snapshots import write_snapshots

    root = args.root.resolve()
    if args.snapshots:
        written = write_snapshots(root, args.snapshots.resolve(), args.lang)
        print(f"{len(written)} snapshots written to {args.snapshots}")
        return 0
    written = write_proofs(root, args.lang, dpi=args.dpi or PROOF_DPI)
    pages = [path for path in written if path.name.startswith("page-")]
    for path in written:
        if path not in pages:
            print(path.relative_to(root))
    print(f"{len(pages)} page PNGs in build/<lang>/proofs/")
    return 0


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


def run_xliff(args: argparse.Namespace) -> int:
    from brochure_build.source import xliff

    root = args.root.resolve()
    if args.xliff_command == "export":
        for path in xliff.measure_and_export(root, args.lang):
            print(path.relative_to(root))
        return 0
    for summary in xliff.import_files(root, args.files):
        print(f"{summary.code}: {plural(len(summary.updated), 'block')} updated, {len(summary.confirmed)} confirmed as current, "
              f"{summary.untranslated} untranslated")
    return 0


def run_new(args: argparse.Namespace) -> int:
    from brochure_build.scaffold import new_project

    written = new_project(args.directory, args.root.resolve())
    print(f"{len(written)} files written to {args.directory}: build it with `brochure build --root {args.directory}`")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    from brochure_build.preview.serve import serve

    return serve(args.root, port=args.port, language=args.lang)


def console() -> None:
    """The `brochure` command: main(), then Python ends. Its teardown used to walk every object
    left (WeasyPrint's, pypdf's, pdfium's) for garbage cycles one last time: 0.1 s of an edit's
    `make`, for memory about to be given back anyway; frozen, they are left out of that walk."""
    status = main()
    heap.ending()
    raise SystemExit(status)


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    heap.tune()
    try:
        previous_handler = signal.signal(signal.SIGTERM, raise_terminated)
    except ValueError:  # not the main thread: leave signals alone
        previous_handler = None
    try:
        return run(args)
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)


def run(args: argparse.Namespace) -> int:
    if args.command != "new":  # `new` reads another project's fonts once: nothing worth keeping
        from brochure_build import digests
        from brochure_build.paths import DIGEST_STORE, YAML_STORE
        from brochure_build.source import yamlsource

        digests.remember_in(args.root.resolve() / DIGEST_STORE)
        yamlsource.remember_in(args.root.resolve() / YAML_STORE)
    try:
        return {"build": run_build, "make": run_make, "check": run_check, "preflight": run_preflight, "proofs": run_proofs,
                "serve": run_serve, "xliff": run_xliff, "new": run_new}[args.command](args)
    except ContentError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        print(f"Aborted with {len(error.problems)} error{'s' if len(error.problems) != 1 else ''}.", file=sys.stderr)
        if args.debug:
            traceback.print_exc()
        return 1
    except BuildError as error:
        print(error, file=sys.stderr)
        print("Aborted.", file=sys.stderr)
        if args.debug:
            traceback.print_exc()
        return 1
    except KeyboardInterrupt as interrupt:
        terminated = isinstance(interrupt, Terminated)
        print(f"{'Terminated' if terminated else 'Interrupted'}: the last good PDFs are unchanged.", file=sys.stderr)
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    except Exception as error:  # a bug: say so in one line; --debug shows where
        if args.debug:
            traceback.print_exc()
        print(f"Internal error: {type(error).__name__}: {error}. This is a bug in brochure_build, not in the project: "
              "run again with --debug and report the traceback.", file=sys.stderr)
        return EXIT_INTERNAL_ERROR
