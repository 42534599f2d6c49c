"""Preview stage, on two cores: an edition laid out unit by unit (a unit: the smallest run of
its sections that starts a page of its own), each unit a document of its own, in the preview
server's process and in a warm helper process at once.

Why the units give the pages of the whole: every section starts a page of its own (a forced
break) on its planned page, so the pages of a run of sections depend only on those sections, on
whether each page is a left or a right one, and on its folio. A unit starts on the side its
first page has in the brochure (`html { break-before: recto }` or `verso`: odd pages are recto
in both directions) and numbers its pages from there (`@page :first { counter-reset: page N }`,
both in base.html.j2); a layout that lists page numbers prints the plan's rather than
target-counter(). Its links to sections of other units have no target in its own document:
WeasyPrint's "No anchor" for exactly those ids is tolerated, and those links are inactive in
the preview PDF (never in the build's).

Each process takes its next unit when it is free, the dearest first by what each unit took in
the renders before (dearest_first, learned, UnitQueues): the last units taken, which decide whether the two
finish together, are the cheapest. Each unit goes back to the process that laid it out last (its
line-break memo knows the unit's lines), and a process with nothing left takes the cheapest unit
left to the other, so the two end within a small unit of each other however noisy the times (a
split of the edition into two runs, moved from render to render toward where both would take
the same time, left one process idle for 0.2–0.4 s in every other render: one unit can take
0.15–0.5 s). A unit costs some 10 ms more as a document of its own. A render after a text edit
lays out only the units whose HTML changed (the others' pages are kept, by their HTML and the
layouts' and fonts' digest): one unit in this process alone.

That holds only while each unit keeps to the plan. When one does not (a section runs past its
pages or ends early), the edition is laid out again in one piece, as the build does, and the
plan problems come from that. tests/test_serve.py compares the preview's pages with the screen
PDF of `brochure build`, pixel for pixel, in every edition. A section that shares the page of
the one before, or that flows (its pages known only once laid out), never starts a unit.
"""

from __future__ import annotations

import gc
import io
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

from brochure_build import heap
from brochure_build.errors import BuildError
from brochure_build.source.model import Edition, Section, SectionSpec

DPI = 72                 # page images: 595 × 842 px for A4, two pages side by side on a laptop screen
JPEG_QUALITY = 90        # JPEG, not PNG: six times faster to encode (20 ms against 130 ms for 12 pages)


@dataclass(frozen=True)
class PartJob:
    """One run of an edition's sections to lay out, write as a PDF and rasterise."""

    html: str
    base: Path                      # the HTML file it stands for: relative URLs resolve from there
    pdf: Path                       # where the part's PDF goes
    context: str                    # "<lang> preview", for messages
    text_file: Path                 # the content file, to say where a character without a font is used
    text_display: str
    fonts: tuple[str, ...]          # the font families the language may use
    specs: tuple[SectionSpec, ...]  # the sections of this part, in plan order
    foreign_ids: tuple[str, ...] = ()  # ids of the sections laid out elsewhere: links to them have no target here
    stylesheets: tuple[Path, ...] = ()  # the layouts' stylesheets `html` does not link: the renderer adds them parsed

    @property
    def first_page(self) -> int:
        return self.specs[0].first_page


@dataclass
class PartResult:
    """What a part gave: page images and copy-fit measures, or the error that stopped it."""

    images: tuple[bytes, ...] = ()
    report: dict | None = None
    problems: list[str] = field(default_factory=list)  # fonts the part falls back on
    error: str = ""
    steps: dict[str, float] = field(default_factory=dict)
    line_calls: int = 0              # split_first_line calls, and how many had to break a line anew
    lines_broken: int = 0
    peak_rss_mb: float = 0.0


class PartAbandoned(BaseException):
    """Raised in the helper by SIGUSR1 while it lays out a part that a newer change made stale.
    A BaseException, so that no `except Exception` on the way turns it into a failed part."""


def split_pages(edition: Edition) -> list[int]:
    """The pages an edition can be split at: where a section other than the first starts a page
    of its own, at a page the plan fixes (before any flowing section)."""
    pages = []
    for section in edition.sections[1:]:
        if section.spec.flows:
            break
        if not section.spec.shares_page:
            pages.append(section.spec.first_page)
    return pages


def guessed_costs(groups: list[tuple[Section, ...]], costs: dict[int, float]) -> list[float]:
    """What each unit of `groups` is expected to take: its time measured before (`costs`, by
    first page; learned), else its pages at the mean time of a page of the units measured (0.1 s
    a page before any is)."""
    known = [(costs[group[0].spec.first_page], page_count(group)) for group in groups if group[0].spec.first_page in costs]
    per_page = sum(seconds for seconds, _ in known) / sum(pages for _, pages in known) if known else 0.1
    return [costs.get(group[0].spec.first_page, per_page * page_count(group)) for group in groups]


def dearest_first(guesses: list[float]) -> list[int]:
    """The order in which the two processes take units (indices) expected to take `guesses`
    (guessed_costs), each the next one when it is free: the dearest first, so the last ones, which
    decide whether both finish together, are the cheapest (longest-processing-time-first scheduling)."""
    return sorted(range(len(guesses)), key=lambda index: (-guesses[index], index))


class UnitQueues:
    """The units of a render (indices) in two queues, this process's and the helper's, each taken
    from the front, the dearest first. A unit goes to the process that laid it out last, whose
    line-break memo knows its lines (a colour saved: none broken anew); a unit never laid out
    goes where less is queued. A process whose queue is empty takes the cheapest unit left in the
    other's (when `steal`: both then finish within that unit of each other). Thread-safe."""

    def __init__(self, order: list[int], costs: list[float], sides: list[bool | None], steal: bool = True):
        self.queues: tuple[list[int], list[int]] = ([], [])
        self.steal = steal
        self.alone = False      # the helper failed: this process takes every unit left
        self.cancelled = False  # the render was abandoned: nobody takes another
        self.lock = threading.Lock()
        loads = [0.0, 0.0]
        for index in order:
            helper = sides[index] if sides[index] is not None else loads[1] < loads[0]
            self.queues[helper].append(index)
            loads[helper] += costs[index]

    def take(self, helper: bool) -> int | None:
        """The next unit for this process (helper=False) or the helper; None when there is none for it."""
        with self.lock:
            own, other = self.queues[helper], self.queues[not helper]
            if self.cancelled or (helper and self.alone):
                return None
            if own:
                return own.pop(0)
            if other and (self.steal or self.alone):
                return other.pop()
            return None

    def hand_back(self, index: int) -> None:
        """The helper failed with `index`: this process lays it out, and every unit left."""
        with self.lock:
            self.alone = True
            self.queues[False].insert(0, index)

    def cancel(self) -> None:
        with self.lock:
            self.cancelled = True


def learned(costs: dict[int, float], groups: list[tuple[Section, ...]], results: list[PartResult]) -> dict[int, float]:
    """`costs` with what each unit of `groups` took now (`results`, in the same order): the mean
    of the time before and now (the times are noisy), the time now for a unit never measured."""
    updated = dict(costs)
    for group, result in zip(groups, results, strict=True):
        first, seconds = group[0].spec.first_page, result.steps.get("total")
        if seconds is not None:
            updated[first] = (updated[first] + seconds) / 2 if first in updated else seconds
    return updated


def side_steps(results: tuple[list[PartResult], list[PartResult]]) -> dict[str, float]:
    """Seconds per step of the units this process laid out ("part 1 …") and of the helper's
    ("part 2 …"), each side's units added up, and how many units each side laid out."""
    steps: dict[str, float] = {}
    for number, side in enumerate(results, 1):
        for result in side:
            for step, seconds in result.steps.items():
                steps[f"part {number} {step}"] = round(steps.get(f"part {number} {step}", 0.0) + seconds, 3)
        if side:
            steps[f"part {number} units"] = len(side)
    return steps


def keeps_to_plan(result: PartResult, specs: tuple[SectionSpec, ...]) -> bool:
    """Whether every section of the part starts on its planned page and ends by its last, with
    the part's last page the plan's: only then are its pages those of the whole edition."""
    report = result.report
    return report is not None and report["pages"] == specs[-1].last_page and all(
        entry["pages"][0] == entry["planned"][0] and not entry["overflow"] for entry in report["sections"])


def units(edition: Edition) -> list[tuple[Section, ...]]:
    """The edition's sections in the smallest runs a part can be made of: each starts at a page
    split_pages allows (so its pages depend on its own sections only); one run when none does."""
    starts = set(split_pages(edition))
    groups: list[list[Section]] = []
    for section in edition.sections:
        if not groups or (section.spec.first_page in starts and not section.spec.shares_page
                          and groups[-1][0].spec.first_page != section.spec.first_page):
            groups.append([])
        groups[-1].append(section)
    return [tuple(group) for group in groups]


def page_count(group: tuple[Section, ...]) -> int:
    """The pages a unit takes in the plan."""
    return group[-1].spec.last_page - group[0].spec.first_page + 1


@dataclass(frozen=True)
class UnitPages:
    """A unit's pages as a render left them (kept until its words or layouts change): their
    images, their place in the PDF of the part it was laid out in, and its copy-fit report."""

    pdf: Path
    indices: tuple[int, ...]  # its pages in `pdf`, from 0
    images: tuple[bytes, ...]
    report: dict
    problems: tuple[str, ...]


def unit_pages(result: PartResult, job: PartJob, groups: list[tuple[Section, ...]]) -> list[UnitPages]:
    """The pages of each unit (`groups`, in order, together the job's sections) from the job's
    result, which keeps to the plan."""
    found = []
    for number, group in enumerate(groups):
        first = group[0].spec.first_page
        last = groups[number + 1][0].spec.first_page - 1 if number + 1 < len(groups) else result.report["pages"]
        ids = {section.spec.id for section in group}
        report = {"pages": last, "sections": [entry for entry in result.report["sections"] if entry["id"] in ids],
                  "frames": [entry for entry in result.report["frames"] if first <= entry["page"] <= last],
                  "sideways": [entry for entry in result.report["sideways"] if first <= entry["page"] <= last]}
        indices = tuple(range(first - job.first_page, last - job.first_page + 1))
        found.append(UnitPages(job.pdf, indices, tuple(result.images[index] for index in indices), report,
                               tuple(result.problems)))
    return found


def render_part(renderer, memo, job: PartJob) -> PartResult:
    """Lay `job` out with the warm `renderer` (line breaks through `memo`, a linebreaks.LineBreaks),
    write its PDF and rasterise it. Errors come back in the result: the caller has two parts to hear."""
    from brochure_build.output import atomic_path
    from brochure_build.render.layoutcheck import part_copy_fit
    from brochure_build.render.pdf import TextLookup
    from brochure_build.review.pdfcheck import fallback_problems

    result = PartResult()
    started = time.perf_counter()
    clock = Stopwatch()
    result.steps = clock.laps  # filled as the steps end, so a failed part still says how far it got
    try:
        lookup = TextLookup(job.text_file, job.text_display)
        with memo.render():
            document = renderer.render(job.html, job.base, job.context, lookup, job.stylesheets)
        result.line_calls, result.lines_broken = memo.calls, memo.broken
        result.report = part_copy_fit(job.specs, document, job.first_page)
        clock.lap("layout")
        tolerated = {f"No anchor #{anchor} for internal URI reference" for anchor in job.foreign_ids}
        with atomic_path(job.pdf) as temporary:
            renderer.write_preview(document, temporary, job.context, lookup, tolerated)
        clock.lap("pdf")
        result.problems = fallback_problems(job.pdf, job.fonts, job.context)
        result.images = jpeg_pages(job.pdf)
        clock.lap("images")
    except BuildError as error:
        result.error = str(error)
    except Exception as error:  # a bug: the message reaches the page, the traceback the server's output
        traceback.print_exc()
        result.error = f"internal error: {type(error).__name__}: {error} (see the server's output)"
    result.steps["total"] = round(time.perf_counter() - started, 3)
    result.peak_rss_mb = peak_rss_mb()
    return result


class Stopwatch:
    """Wall time per step, and the CPU time of the whole (less inflated than wall time by other work on the machine)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self.last = time.perf_counter()
        self.cpu = time.thread_time()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self.last, 3)
        self.last = now

    def result(self) -> dict[str, float]:
        return self.laps | {"cpu": round(time.thread_time() - self.cpu, 3)}


def jpeg_pages(pdf: Path) -> tuple[bytes, ...]:
    """Every page of `pdf` as a JPEG at DPI."""
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    encoded = []
    try:
        for page in document:
            buffer = io.BytesIO()
            page.render(scale=DPI / 72).to_pil().convert("RGB").save(buffer, "JPEG", quality=JPEG_QUALITY)
            encoded.append(buffer.getvalue())
    finally:
        document.close()
    return tuple(encoded)


def join_pdfs(parts: list[tuple[Path, tuple[int, ...]]], target: Path) -> None:
    """Pages of the parts' PDFs (each: its file and the page indices taken) as one (pdfium copies
    the pages: 20–60 ms, against 150 ms with pypdf)."""
    import pypdfium2

    from brochure_build.output import atomic_path

    whole = pypdfium2.PdfDocument.new()
    try:
        for part, indices in parts:
            document = pypdfium2.PdfDocument(part)
            try:
                whole.import_pages(document, list(indices))
            finally:
                document.close()
        with atomic_path(target) as temporary:
            whole.save(temporary)
    finally:
        whole.close()


def remove_unused(folder: Path, name: str, used: set[Path]) -> None:
    """Remove the parts' PDFs (`name`-job…) in `folder` that no kept unit's pages come from."""
    for path in folder.glob(f"{name}-job*.pdf"):
        if path not in used:
            path.unlink(missing_ok=True)


def peak_rss_mb() -> float:
    """Largest resident set size of this process so far (Linux reports KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class HelperError(Exception):
    """The helper process could not render its part: it did not start, or it stopped."""


class Helper:
    """The second warm renderer, in a process of its own: a fresh interpreter (not a fork of the
    server's threads) that talks over a socket pair with pickled jobs and results. Started on first
    use, and again after it stops.

    Jobs are numbered, and each result comes back with its job's number: a render abandoned on
    the server's side may leave its part's result unread, and the next result() passes over it.
    A stale part is interrupted (SIGUSR1), not killed: a killed helper starts cold again (some
    1.5 s: WeasyPrint imported, the fonts loaded, the line breaks forgotten) and leaves its fonts
    (some 84 MB) in the temporary directory."""

    def __init__(self, root: Path):
        self.root = root
        self.process: subprocess.Popen | None = None
        self.connection: Connection | None = None
        self.serial = 0  # the number of the job submitted last

    def submit(self, job: PartJob) -> None:
        """Send `job` to the helper (started if it is not running); raises HelperError."""
        try:
            if self.process is None or self.process.poll() is not None:
                self.start()
            self.serial += 1
            self.connection.send((self.serial, job))
        except OSError as error:
            self.stop()
            raise HelperError(f"the preview's helper process did not take the job ({error})") from None

    def result(self) -> PartResult:
        """The result of the job submitted last; raises HelperError if the helper died meanwhile."""
        try:
            while True:
                serial, result = self.connection.recv()
                if serial == self.serial:
                    return result
        except (EOFError, OSError) as error:
            self.stop()
            raise HelperError(f"the preview's helper process stopped ({error or 'no answer'})") from None

    def interrupt(self) -> None:
        """Stop the part the helper is laying out, if any: it answers at once, abandoned, and
        stays warm for the next. A helper between parts ignores it."""
        process = self.process
        if process is not None and process.poll() is None:
            try:
                process.send_signal(signal.SIGUSR1)
            except OSError:
                pass  # it ended meanwhile: the next submit starts another

    def start(self) -> None:
        self.stop()
        ours, theirs = socket.socketpair()
        with theirs:
            # `python -c`, not multiprocessing's spawn: that would run the caller's main script again.
            self.process = subprocess.Popen(
                [sys.executable, "-c", "from brochure_build.preview.parts import helper_main; helper_main()",
                 str(theirs.fileno()), str(self.root)],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
        self.connection = Connection(ours.detach())

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            self.connection.send(None)
        except OSError:
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.terminate()  # SIGTERM: it removes its fonts from the temporary directory first
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.connection.close()
        self.process = self.connection = None


def helper_main() -> None:
    """The helper process (argv: socket fd, project root): a warm renderer of its own answering
    part jobs until told to stop or the server's end of the socket closes. However it ends (told
    to, the server gone, SIGTERM), it removes the fonts WeasyPrint wrote to the temporary directory."""
    from brochure_build.render.linebreaks import LineBreaks
    from brochure_build.render.pdf import Renderer

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the server stops us
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))  # unwinds through the finally below
    signal.signal(signal.SIGUSR1, interrupted)
    heap.tune()  # a layout allocates millions of objects: collect young ones less often
    connection = Connection(int(sys.argv[1]))
    renderer = Renderer(Path(sys.argv[2]))
    try:
        serve_parts(connection, renderer, LineBreaks(renderer.font_config))
    finally:
        renderer.close()


_laying_out = False  # whether the helper is inside a part: only then does SIGUSR1 stop it


def interrupted(signum, frame) -> None:
    if _laying_out:
        raise PartAbandoned


def serve_parts(connection: Connection, renderer, memo) -> None:
    """Answer part jobs, each with its number, until a None job, or until the server's end of the
    socket closes."""
    global _laying_out
    warm = False
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        serial, job = message
        try:
            try:
                _laying_out = True
                result = render_part(renderer, memo, job)
            finally:
                _laying_out = False
        except PartAbandoned:
            result = PartResult(error="abandoned")  # stale: the server passes over it (Helper.result)
        try:
            connection.send((serial, result))
        except OSError:  # the server went away during the render
            return
        if not warm:  # as the server does: the collector need not walk WeasyPrint's warm caches again
            gc.collect()
            gc.freeze()
            warm = True
