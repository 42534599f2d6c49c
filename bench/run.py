"""Benchmark: clean build, no-op build, and the plain `weasyprint` command on the kept HTML.

Usage: .venv/bin/python bench/run.py [--root DIR] [--runs N]

Wall time is measured around each command (time.perf_counter); peak memory is the largest
resident set size of the child process (resource.getrusage(RUSAGE_CHILDREN).ru_maxrss), so
every figure comes from the operating system, not from the build's own reporting. Each command
runs in a fresh process, as `make` runs it. Prints a Markdown table for docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    root = args.root.resolve()
    brochure = [str(BIN / "brochure"), "build"]

    def clean() -> None:
        for child in (root / "build").glob("*"):
            if child.name != ".cache":
                shutil.rmtree(child) if child.is_dir() else child.unlink()

    results = [measure("clean build, every edition and variant (`brochure build`)", brochure, root, args.runs, clean)]
    results.append(measure("no-op build (`brochure build`, nothing changed)", brochure, root, args.runs))
    results.append(measure("no-op `make`", ["make", "--no-print-directory"], root, args.runs))
    html_files = sorted((root / "build").glob("*/*.html"))

    def plain_weasyprint() -> None:
        for html in html_files:
            subprocess.run([str(BIN / "weasyprint"), str(html), os.devnull], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    started = time.perf_counter()
    plain_weasyprint()
    plain = time.perf_counter() - started

    print(f"Machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} cores")
    print(f"Runs per figure: {args.runs} (median, minimum); {len(html_files)} HTML files\n")
    print("| what | median s | min s | peak memory MB |")
    print("|---|---:|---:|---:|")
    for result in results:
        print(f"| {result['label']} | {result['median']:.2f} | {result['min']:.2f} | {result['peak_mb']:.0f} |")
    print(f"| plain `weasyprint` once per intermediate HTML, one after another | {plain:.2f} | | |")
    ratio = results[0]["median"] / plain
    print(f"\nclean build / plain weasyprint = {ratio:.2f}; no-op build {results[1]['median']:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
