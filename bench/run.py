"""Benchmark: clean build, no-op build and make, a paragraph edited then what make runs, the plain
`weasyprint` baseline, the preview server's save-to-pages time for CSS and text edits, and peak
memory; checks the performance targets.

Usage: .venv/bin/python bench/run.py [--root DIR] [--runs N]

Wall time is measured around each command (time.perf_counter); peak memory is the largest
resident set size of any process of the run, read from the operating system
(getrusage(RUSAGE_CHILDREN).ru_maxrss: the build's worker processes are its children, so this
is the peak of the largest one, i.e. per worker). Each command runs in a fresh process, as
`make` runs it. The baseline runs the plain `weasyprint` command once per intermediate HTML
file, one after another, on the same machine in the same run. Prints a Markdown table for
docs/performance.md, and a closing line saying which targets hold.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# The targets of the designer's loop and build speed (issues: live preview, incremental and
# parallel builds; copy-fit chosen by the build).
TARGET_CLEAN_RATIO = 0.6
TARGET_EDIT_RATIO = 0.35
TARGET_NOOP_MAKE_S = 1.0
TARGET_SERVE_S = 1.0
TARGET_WORKER_MB = 400
EDIT_LANGUAGE = "en"
# The paragraph edited: its text file line starts with this (the first paragraph of a priority).
EDITED_PARAGRAPH = "      - "


def measure(label: str, command: list[str], cwd: Path, runs: int, setup=None) -> dict:
    times, peaks = [], []
    for _ in range(runs):
        if setup:
            setup()
        seconds, peak = isolated(command, cwd)
        times.append(seconds)
        peaks.append(peak)
    return {"label": label, "median": statistics.median(times), "min": min(times), "peak_mb": max(peaks)}


def isolated(command: list[str], cwd: Path) -> tuple[float, float]:
    """Measure in a grandchild so each run's peak RSS is its own."""
    probe = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        f"subprocess.run({command!r}, cwd={str(cwd)!r}, check=True, stdout=subprocess.DEVNULL); "
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1]) / 1024


def isolated_steps(commands: list[list[str]], cwd: Path) -> tuple[list[float], float]:
    """Run `commands` one after another (stopping at a failure, as make does) in a grandchild,
    timing each; and the peak RSS (MB) of the largest."""
    probe = (
        "import resource, subprocess, sys, time\n"
        f"for command in {commands!r}:\n"
        "    t = time.perf_counter()\n"
        f"    subprocess.run(command, cwd={str(cwd)!r}, check=True, stdout=subprocess.DEVNULL)\n"
        "    print(time.perf_counter() - t)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout.split()
    return [float(value) for value in out[:-1]], int(out[-1]) / 1024


def plain_weasyprint(html_files: list[Path]) -> float:
    started = time.perf_counter()
    for html in html_files:
        subprocess.run([str(BIN / "weasyprint"), str(html), os.devnull], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def project_copy(root: Path, folder: Path) -> Path:
    for part in ("brochure", "layouts", "assets"):
        shutil.copytree(root / part, folder / part)
    shutil.copytree(root / "fonts", folder / "fonts", copy_function=os.link)
    return folder


def save(path: Path, text: str) -> None:
    """Write as an editor saves: whole, by renaming a finished file over the old (the preview
    must never read a half-written file and report it empty)."""
    temporary = path.with_name(f".{path.name}.tmp")  # a name the preview does not watch
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def edit_paragraph(text_file: Path, run: int) -> None:
    """Change one word of one paragraph, as a translator saving a correction would: the first
    paragraph under `priority-2:` gets "also" added or taken away."""
    lines = text_file.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(number for number, line in enumerate(lines) if line.strip() == "priority-2:")
    number = next(number for number in range(start, len(lines)) if lines[number].startswith(EDITED_PARAGRAPH))
    words = lines[number].rstrip("\n").split(" ")
    middle = len(words) // 2
    words = words[:middle] + ["also"] + words[middle:] if run % 2 == 0 else [w for i, w in enumerate(words) if i != middle]
    lines[number] = " ".join(words) + "\n"
    save(text_file, "".join(lines))


def edit_chinese(text_file: Path, run: int) -> None:
    lines = text_file.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(number for number, line in enumerate(lines) if line.strip() == "priority-2:")
    number = next(number for number in range(start, len(lines)) if lines[number].startswith(EDITED_PARAGRAPH))
    line = lines[number]
    lines[number] = line.replace("，", "，也", 1) if run % 2 == 0 else line.replace("，也", "，", 1)
    save(text_file, "".join(lines))


MAKE_COMMAND = "make"  # what `make` runs: brochure make (check, build, preflight in one process)


def edit_times(root: Path, runs: int) -> tuple[float, float, float]:
    """An edition's clean build (`brochure build --lang en`, every product, no caches), and one
    paragraph of its text edited then what `make` runs (`brochure make`: check, build,
    preflight), on a copy of the project. Medians of `runs`; the peak memory of the edit runs (MB)."""
    brochure = str(BIN / "brochure")
    clean_times, edit_times_, peak = [], [], 0.0
    with tempfile.TemporaryDirectory() as folder:
        copy = project_copy(root, Path(folder))
        text_file = copy / "brochure" / "text" / f"{EDIT_LANGUAGE}.yaml"
        for run in range(runs):
            shutil.rmtree(copy / "build", ignore_errors=True)
            seconds, _ = isolated([brochure, "build", "--root", str(copy), "--lang", EDIT_LANGUAGE], copy)
            clean_times.append(seconds)
            subprocess.run([brochure, "build", "--root", str(copy)], check=True, stdout=subprocess.DEVNULL)
            subprocess.run([brochure, "preflight", "--root", str(copy)], stdout=subprocess.DEVNULL)
            edit_paragraph(text_file, run)
            (seconds,), rss = isolated_steps([[brochure, MAKE_COMMAND, "--root", str(copy)]], copy)
            edit_times_.append(seconds)
            peak = max(peak, rss)
    return statistics.median(clean_times), statistics.median(edit_times_), peak


def serve_times(root: Path, languages: list[str], runs: int) -> tuple[dict[tuple[str, str], float], float]:
    """Median seconds from saving layouts/css/tokens.css to `brochure serve` serving the new
    pages, per language and kind of edit (serve.CSS_EDITS: a colour, a margin), and the servers'
    peak memory (MB). One server per language, as a designer previews one edition; each previews
    a copy of the project, so the real files are never touched."""
    from brochure_build.preview.serve import CSS_EDITS, time_css_edits, time_edit

    medians, peak = {}, 0.0
    for code in languages:
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder)
            for part in ("brochure", "layouts", "assets"):
                shutil.copytree(root / part, copy / part)
            shutil.copytree(root / "fonts", copy / "fonts", copy_function=os.link)
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            server = subprocess.Popen([str(BIN / "brochure"), "serve", "--root", str(copy), "--port", str(port), "--lang", code],
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            try:
                server.stdout.readline()  # "Previewing … at http://…": listening from here on
                url = f"http://127.0.0.1:{port}"
                for edit in CSS_EDITS:
                    timings = time_css_edits(url, copy, code, runs, edit)
                    medians[code, edit] = statistics.median(t["seconds"] for t in timings)
                    peak = max([peak] + [t["peak_rss_mb"] for t in timings])
                # A text edit: one word of one paragraph of this language, added and taken away.
                text_file = copy / "brochure" / "text" / f"{code}.yaml"
                edit = edit_chinese if code == "zh" else edit_paragraph  # Chinese: no spaces between words
                timings = [time_edit(url, code, lambda run=run, path=text_file, edit=edit: edit(path, run)) for run in range(runs)]
                medians[code, "text"] = statistics.median(t["seconds"] for t in timings)
                peak = max([peak] + [t["peak_rss_mb"] for t in timings])
            finally:
                server.terminate()
                server.wait(timeout=30)
    return medians, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    root = args.root.resolve()
    brochure = [str(BIN / "brochure"), "build"]

    def clean() -> None:
        # Converted photos and subset fonts are cached across builds by design; a clean build starts without them.
        for child in (root / "build").glob("*"):
            if child.name != ".cache":
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        shutil.rmtree(root / "build/.cache/images", ignore_errors=True)
        shutil.rmtree(root / "build/.cache/fonts", ignore_errors=True)
        shutil.rmtree(root / "build/.cache/fit", ignore_errors=True)

    subprocess.run(["make", "--no-print-directory", "-s"], cwd=root, check=True, stdout=subprocess.DEVNULL)
    html_files = sorted((root / "build").glob("*/*.html"))
    results = []
    plain_runs = []
    for _ in range(args.runs):
        # Interleaved, so both see the same machine load.
        results.append(measure("clean build", brochure, root, 1, clean))
        plain_runs.append(plain_weasyprint(html_files))
    clean_build = {"label": "clean build, every edition and variant (`brochure build`)",
                   "median": statistics.median(r["median"] for r in results), "min": min(r["min"] for r in results),
                   "peak_mb": max(r["peak_mb"] for r in results)}
    plain = statistics.median(plain_runs)
    subprocess.run(["make", "--no-print-directory", "-s"], cwd=root, check=True, stdout=subprocess.DEVNULL)
    noop_build = measure("no-op build (`brochure build`, nothing changed)", brochure, root, args.runs)
    noop_make = measure("no-op `make`", ["make", "--no-print-directory"], root, args.runs)
    edition_clean, edited, edit_peak_mb = edit_times(root, args.runs)
    serve, serve_peak_mb = serve_times(root, ["zh", "en", "fr", "es", "ru", "ar"], max(args.runs, 5))

    print(f"Machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} cores")
    print(f"Runs per figure: {args.runs} (median, minimum); {len(html_files)} intermediate HTML files\n")
    print("| what | median s | min s | peak memory MB |")
    print("|---|---:|---:|---:|")
    for result in (clean_build, noop_build, noop_make):
        print(f"| {result['label']} | {result['median']:.2f} | {result['min']:.2f} | {result['peak_mb']:.0f} |")
    print(f"| plain `weasyprint` once per intermediate HTML, one after another | {plain:.2f} | {min(plain_runs):.2f} | |")
    print(f"| clean build of one edition (`brochure build --lang {EDIT_LANGUAGE}`, both products) | {edition_clean:.2f} | | |")
    print(f"| one paragraph of {EDIT_LANGUAGE} edited, then what `make` runs (`brochure make`: check, build, preflight) | "
          f"{edited:.2f} | | {edit_peak_mb:.0f} |")
    for (code, edit), seconds in serve.items():
        what = "save the text file (one word)" if edit == "text" else f"save a CSS file ({edit})"
        print(f"| `brochure serve`, {code}: {what} → new pages served | {seconds:.2f} | | {serve_peak_mb:.0f} |")

    ratio = clean_build["median"] / plain
    targets = [
        (f"clean build ≤ {TARGET_CLEAN_RATIO}× plain weasyprint", ratio <= TARGET_CLEAN_RATIO, f"{ratio:.2f}×"),
        (f"a paragraph edited, then make ≤ {TARGET_EDIT_RATIO:.0%} of the edition's clean build",
         edited / edition_clean <= TARGET_EDIT_RATIO, f"{edited / edition_clean:.0%} ({edited:.2f} s of {edition_clean:.2f} s)"),
        (f"no-op make < {TARGET_NOOP_MAKE_S:g} s", noop_make["median"] < TARGET_NOOP_MAKE_S, f"{noop_make['median']:.2f} s"),
        (f"peak memory < {TARGET_WORKER_MB} MB per worker (build workers, serve process and its helper)",
         max(clean_build["peak_mb"], serve_peak_mb, edit_peak_mb) < TARGET_WORKER_MB,
         f"{clean_build['peak_mb']:.0f} MB, {serve_peak_mb:.0f} MB, {edit_peak_mb:.0f} MB"),
        (f"serve: save a CSS or text file → new pages < {TARGET_SERVE_S:g} s", max(serve.values()) < TARGET_SERVE_S,
         ", ".join(f"{code} {edit} {seconds:.2f} s" for (code, edit), seconds in serve.items())),
    ]
    print()
    for name, holds, value in targets:
        print(f"- {name}: {value} — {'holds' if holds else 'MISSED'}")
    held = [name for name, holds, _ in targets if holds]
    print(f"\nTargets holding: {len(held)} of {len(targets)}" + ("." if len(held) == len(targets) else
          f"; missed: {', '.join(name for name, holds, _ in targets if not holds)}."))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
