"""Command line: parses arguments and calls the library; nothing else lives here."""

from __future__ import annotations

import argparse
import signal
import sys
import traceback
from pathlib import Path

from brochure_build import __version__
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

    build = commands.add_parser("build", help="build the print and screen PDFs of every edition",
                                description="Build build/<lang>/<slug>-<lang>-{print,screen}.pdf, keeping the "
                                            "intermediate HTML beside them. Unchanged editions are skipped.")
    build.add_argument("--force", action="store_true", help="rebuild even editions whose inputs have not changed")
    check = commands.add_parser(
        "check", help="validate all content and report missing, extra and stale translations",
        description="Validate brochure/ without rendering. Per language: missing and extra blocks (errors, exit 1) "
                    "and stale ones, translated from a source block that has changed since (warnings).")
    check.add_argument("--accept", action="store_true",
                       help="record that the translations of --lang are up to date with the current source")
    check.add_argument("--key", metavar="KEY", help="with --accept: only this block, or the blocks under it")
    for command in (build, check):
        command.add_argument("--root", type=Path, default=Path("."), metavar="DIR",
                             help="project folder holding brochure/, layouts/, fonts/, assets/ (default: .)")
        command.add_argument("--lang", action="append", metavar="L",
                             help="only this language (repeatable; default: every language)")
        command.add_argument("--debug", action="store_true", help="show the traceback of an error")
    return parser


def run_build(args: argparse.Namespace) -> int:
    from brochure_build.build import build

    def report(built) -> None:
        status = "unchanged" if built.skipped else f"{built.pages} pages  {built.seconds:4.1f} s"
        print(f"{built.language:3} {built.variant:7} {built.path.relative_to(args.root.resolve())}  {status}", flush=True)

    build(args.root, args.lang, force=args.force, report=report)
    return 0


def run_check(args: argparse.Namespace) -> int:
    from brochure_build.translations import check_content

    return check_content(args.root.resolve(), args.lang, accept=args.accept, key=args.key)


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
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
    try:
        return {"build": run_build, "check": run_check}[args.command](args)
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
