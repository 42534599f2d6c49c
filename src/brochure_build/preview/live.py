"""Preview stage: a warm renderer that keeps the pages of the editions being viewed current
while the project changes; `brochure serve` (serve.py) shows them in the browser.

A warm renderer makes the previews: WeasyPrint is imported and its fonts are loaded once, the
content is kept and reloaded only when its file changes. A change re-renders the screen variant
of the languages being viewed (the one opened last first) into build/.preview/<lang>/ and
rasterises its pages in memory, in two parts at once: one in this process, one in a warm helper
process (parts.py), or in one piece when the parts stray from the page plan.

Every render first runs the build's input checks (inputs.check_inputs: project folders, links,
stylesheets and their limits, content, photos, fonts), redoing only what a change made stale:
brochure/brochure.yaml reloads the settings and every edition, brochure/text/<lang>.yaml that
edition only; layouts/ re-checks the links and stylesheets and re-renders with the cached content
(Jinja2 reloads changed templates, WeasyPrint reads the stylesheets on each render); assets/
re-checks the photos; fonts/ re-verifies the manifest and starts a fresh font configuration
(WeasyPrint keeps a loaded font for the life of its configuration). A render that fails keeps the last good
pages and reports the error; the next change tries again.

A render that a newer change makes stale is abandoned: a watchdog thread scans the files while a
render runs and, when one changes that concerns the language being rendered, raises
RenderAbandoned in the render thread (CPython's PyThreadState_SetAsyncExc: WeasyPrint's layout
is Python, so it stops at its next bytecode; the helper's part is interrupted too, and the
helper stays warm), and the next render starts from the newer files. Without it a render of a
slow stylesheet held every fix saved meanwhile until it ended.

The watcher polls the size and modification time of every file under the four folders every
0.05 s. About fifty files: a scan costs well under a millisecond, it sees editors' save-by-rename
and works on bind mounts and network file systems where inotify is silent, and it needs no
extra dependency (watchfiles would save at most the 0.05 s poll interval).
"""

from __future__ import annotations

import ctypes
import gc
import hashlib
import os
import sys
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import quote

from brochure_build import heap
from brochure_build.errors import BuildError, ContentError, Problem
from brochure_build.preview import parts
from brochure_build.preview.parts import PartJob, Stopwatch, peak_rss_mb
from brochure_build.render import linebreaks
from brochure_build.render.layoutcheck import joined_copy_fit
from brochure_build.render.share import sharing_kinds
from brochure_build.source import content
from brochure_build.source.inputs import InputMemo, check_inputs
from brochure_build.source.model import Edition, Settings

WATCHED = ("brochure", "layouts", "assets", "fonts")
PREVIEW_DIR = "build/.preview"
POLL_SECONDS = 0.05      # file watcher
SETTLE_SECONDS = 0.02    # after a change, until the files are still: an editor truncates, then writes
LONG_POLL_SECONDS = 20   # a /status?after=N request waits at most this long for news
VIEWED_SECONDS = 3       # a language counts as viewed this long after its last status request
ABANDON_AFTER_SECONDS = 1.0  # a render younger than this finishes: abandoning it would save less than it costs
# The preview PDF (the units' PDFs joined: 0.2 s for Chinese) is written once nothing has changed
# or been rendered for this long, so that a save right after new pages does not wait for it.
JOIN_WHEN_IDLE_SECONDS = 0.3


class RenderAbandoned(BaseException):
    """Raised in the render thread by the watchdog: a newer change makes this render's pages stale.
    A BaseException, like KeyboardInterrupt, so that no `except Exception` on the way turns it into
    a failed render."""


def raise_in_thread(ident: int, exception: type[BaseException] | None) -> None:
    """Make thread `ident` raise `exception` at its next bytecode (None: forget a pending one)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(exception) if exception else None)


class Watcher:
    """Finds files added, changed or removed under the watched folders, by polling."""

    def __init__(self, root: Path):
        self.root = root
        self.snapshot = self.scan()

    def scan(self) -> dict[str, tuple[int, int]]:
        files = {}
        for folder in WATCHED:
            for directory, subfolders, names in os.walk(self.root / folder):
                subfolders[:] = [name for name in subfolders if not name.startswith(".")]
                for name in names:
                    if name.startswith(".") or name.endswith(("~", ".swp", ".tmp")):
                        continue  # editors' temporary and backup files
                    path = os.path.join(directory, name)
                    try:
                        stat = os.stat(path)
                    except OSError:
                        continue  # removed while scanning
                    files[Path(path).relative_to(self.root).as_posix()] = (stat.st_mtime_ns, stat.st_size)
        return files

    def changes(self) -> dict[str, float]:
        """Paths changed since the last call, each with the time it changed (seconds since the epoch).

        Once something changed, scans again until nothing more does (for at most a second), so a
        file caught between an editor's truncation and its write is not rendered half-written.
        """
        changed = self.compare()
        deadline = time.monotonic() + 1
        while changed and time.monotonic() < deadline:
            time.sleep(SETTLE_SECONDS)
            more = self.compare()
            if not more:
                break
            changed |= more
        return changed

    def compare(self) -> dict[str, float]:
        snapshot = self.scan()
        now = time.time()
        changed = {path: (snapshot[path][0] / 1e9 if path in snapshot else now)
                   for path in snapshot.keys() | self.snapshot.keys() if snapshot.get(path) != self.snapshot.get(path)}
        self.snapshot = snapshot
        return changed

    def newest(self) -> float:
        """Modification time of the most recently changed input."""
        return max((mtime for mtime, _ in self.snapshot.values()), default=0) / 1e9


@dataclass(frozen=True)
class View:
    """What the browser shows for one language; replaced as a whole, never changed in place."""

    language: str
    revision: int = 0                    # a new number whenever anything shown changes
    generation: int = 0                  # changes when new page images are served
    images: tuple[bytes, ...] = ()
    previous: tuple[int, tuple[bytes, ...]] = (0, ())  # the generation before, for browsers still loading it
    rendering: bool = False
    error: str = ""                      # the last render failed; the images are the last good ones
    problems: str = ""                   # the images are new, but `brochure build` would stop on these
    seconds: float | None = None         # the last render, from its start to its images
    steps: dict[str, float] = field(default_factory=dict)  # where those seconds went; cpu: CPU seconds in all
    latency: float | None = None         # from saving the file that triggered it to its images being served
    pdf: Path | None = None              # the preview PDF
    searching: bool = False              # these pages show a provisional copy-fit; the search for it follows


@dataclass
class Pending:
    """A language waiting to be rendered: which files changed, and when the last was saved."""

    saved_at: float | None = None
    changed: set[str] = field(default_factory=set)
    fit: bool = False  # search the copy-fit of sections whose setting is not known for their words yet


class Preview:
    """The warm renderer: watches the project and keeps every viewed language's pages current."""

    def __init__(self, root: Path, language: str | None = None, parallel: bool | None = None):
        from brochure_build.render.templating import make_environment

        self.root = root.resolve()
        self.watcher = Watcher(self.root)
        self.environment = make_environment(self.root)
        self.condition = threading.Condition()
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.views: dict[str, View] = {}
        self.revision = 0  # one counter for every view, and for the settings loading or failing
        self.pending: dict[str, Pending] = {}
        self.seen: dict[str, float] = {}
        self.settings: Settings | None = None  # the last good settings
        self.settings_problems: list[Problem] = []  # why brochure.yaml does not load now
        self.inputs = InputMemo()  # what the input checks found, redone as files change
        self.renderer = None
        self.linebreaks: linebreaks.LineBreaks | None = None  # goes with the renderer's font configuration
        # Lay editions out in two parts at once (parts.py): by default when there are two cores to do it.
        self.parallel = (os.cpu_count() or 1) > 1 if parallel is None else parallel
        self.helper = parts.Helper(self.root)  # the other part's warm renderer
        self.helper_peak_rss_mb = 0.0
        self.units: dict[str, dict[str, parts.UnitPages]] = {}  # language → its units' pages, by their HTML
        self.jobs_made = 0                        # parts laid out so far: names their PDFs
        self.unit_seconds: dict[str, dict[int, float]] = {}  # language → what each unit (by first page) took to lay out
        self.unit_sides: dict[str, dict[int, bool]] = {}  # language → whether the helper laid each unit out last
        self.steal = True  # a process with nothing left takes the other's cheapest unit (parts.UnitQueues)
        self.scripts: dict[str, str] = {}  # language -> the script of its words, known once a render shared steps
        self.last_choices: dict[tuple[str, str], object] = {}  # (language, section) → the copy-fit setting shown last
        self.line_counts = (0, 0)                 # line breaks asked for in the last render, and broken anew
        self.fonts_checked = False
        self.focus = language  # the language opened last, rendered first
        self.abandon_after = ABANDON_AFTER_SECONDS
        self.abandon_lock = threading.Lock()
        self.rendering: tuple[int, str, float] | None = None  # (thread, language, started) of a render that may be abandoned
        self.abandoned = 0  # renders abandoned so far
        self.abandoning: tuple[int, str, float] | None = None  # the render RenderAbandoned was raised in
        self.unjoined: dict[str, list] = {}  # language → how to write the preview PDF of its pages shown last
        self.last_busy = time.monotonic()  # when the loop last rendered or saw a change
        self.load_settings()
        if self.focus is not None:
            self.pending[self.focus] = Pending()

    # -- state the HTTP threads read ------------------------------------------------------------

    def languages(self) -> list[str]:
        settings = self.settings
        if settings is not None:
            return [language.code for language in settings.languages]
        return [self.focus] if self.focus else []

    def direction(self, code: str) -> str:
        settings = self.settings
        known = settings is not None and code in [language.code for language in settings.languages]
        return settings.language(code).direction if known else "ltr"

    def view(self, code: str) -> View:
        with self.condition:
            return self.views.get(code) or View(code, self.revision, error="\n".join(map(str, self.settings_problems)))

    def want(self, code: str, focus: bool = False) -> None:
        """A browser shows `code`: render it if it has never been, and keep it current."""
        with self.condition:
            self.seen[code] = time.monotonic()
            if focus:
                self.focus = code
            if code not in self.views and code not in self.pending:
                self.pending[code] = Pending()
                self.wake.set()

    def wait(self, code: str, after: int, timeout: float = LONG_POLL_SECONDS, gone=lambda: False) -> View:
        """The view of `code` once its revision is no longer `after` (or after `timeout`, or when `gone()`)."""
        deadline = time.monotonic() + timeout
        with self.condition:
            while not self.stopping.is_set() and not gone():
                self.seen[code] = time.monotonic()  # a browser still shows it
                view = self.view(code)
                left = deadline - time.monotonic()
                if view.revision != after or left <= 0:
                    return view
                self.condition.wait(min(left, 1.0))
            return self.view(code)

    def publish(self, code: str, **changes) -> View:
        with self.condition:
            self.revision += 1
            view = replace(self.views.get(code) or View(code), revision=self.revision, **changes)
            self.views[code] = view
            self.condition.notify_all()
            return view

    # -- the render loop --------------------------------------------------------------------------

    def start(self) -> None:
        self.thread = threading.Thread(target=self.run, name="preview-renderer", daemon=True)
        self.thread.start()
        threading.Thread(target=self.watch_renders, name="preview-watchdog", daemon=True).start()

    def watch_renders(self) -> None:
        """Abandon the render under way when a file it depends on changes (see the module's docstring)."""
        while not self.stopping.wait(POLL_SECONDS * 2):
            rendering = self.rendering
            if rendering is None or time.monotonic() - rendering[2] < self.abandon_after:
                continue
            if rendering is self.abandoning:
                # Raised already, but the render goes on: the exception landed in code that swallows
                # exceptions (a __del__, a gc callback). Raise it again until the render ends.
                with self.abandon_lock:
                    if self.rendering is rendering:
                        raise_in_thread(rendering[0], RenderAbandoned)
                continue
            snapshot, scanned = self.watcher.snapshot, self.watcher.scan()
            changed = [path for path in snapshot.keys() | scanned.keys() if snapshot.get(path) != scanned.get(path)]
            if not any(concerns(path, rendering[1]) for path in changed):
                continue
            with self.abandon_lock:
                if self.rendering is not rendering:
                    continue  # it ended meanwhile
                self.abandoning = rendering
                raise_in_thread(rendering[0], RenderAbandoned)
            self.helper.interrupt()  # its part is stale too; and the render thread may be waiting for it

    @contextmanager
    def abandonable(self, code: str):
        """The render of `code` inside may be abandoned by watch_renders."""
        with self.abandon_lock:
            self.rendering = (threading.get_ident(), code, time.monotonic())
        try:
            yield
        finally:
            with self.abandon_lock:
                self.rendering = None
                raise_in_thread(threading.get_ident(), None)  # one raised as the render ended is not wanted now

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        with self.condition:
            self.condition.notify_all()
        if self.thread:
            self.thread.join(timeout=30)
        self.helper.stop()
        if self.thread is None or not self.thread.is_alive():  # else the process is ending anyway
            self.close_renderer()

    def close_renderer(self) -> None:
        """Let go of the warm renderer, removing the fonts WeasyPrint wrote to the temporary directory."""
        if self.renderer is not None:
            self.renderer.close()
        self.renderer = None
        self.linebreaks = None

    def run(self) -> None:
        heap.tune()  # a layout allocates millions of objects: collect young ones less often
        while not self.stopping.is_set():
            changes = self.watcher.changes()
            if changes:
                self.apply(changes)
                self.last_busy = time.monotonic()
            code = self.next_language()
            if code is None:
                if self.unjoined and time.monotonic() - self.last_busy >= JOIN_WHEN_IDLE_SECONDS:
                    self.join_preview_pdf(next(iter(self.unjoined)))
                    continue  # a change may have come meanwhile
                self.wake.wait(POLL_SECONDS)
                self.wake.clear()
                continue
            with self.condition:
                pending = self.pending.pop(code)
            try:
                self.render(code, pending)
            except RenderAbandoned:  # delivered as the render was ending: its work is done, or redone next
                pass
            self.last_busy = time.monotonic()
        for code in list(self.unjoined):  # stopping: the PDFs of the pages shown last
            self.join_preview_pdf(code)

    def join_preview_pdf(self, code: str) -> None:
        """Write the preview PDF of the pages of `code` shown last (parts.join_pdfs), if not yet done."""
        try:
            for step in self.unjoined.pop(code, ()):
                step()
        except (OSError, RuntimeError):  # pdfium's errors are RuntimeErrors: the next render writes it again
            traceback.print_exc()

    def apply(self, changes: dict[str, float]) -> None:
        """Forget what the changed files invalidate, and mark the languages shown to re-render."""
        every_language = False
        texts = set()
        self.inputs.forget(changes)
        for path in changes:
            if path.startswith(content.TEXT_DIR + "/"):
                texts.add(Path(path).stem)
                continue
            every_language = True  # settings, layouts, fonts and photos concern every edition
            if path == content.SETTINGS_FILE:
                self.load_settings()
            elif path.startswith("fonts/"):
                self.fonts_checked = False
        if texts and self.settings is not None and sharing_kinds(self.settings, "script"):
            # One language's words may change the step its script siblings share (share.py).
            texts |= {code for code, script in list(self.scripts.items()) if script in {self.scripts.get(t) for t in texts}}
        with self.condition:
            shown = set(self.views) | set(self.pending) | ({self.focus} if self.focus else set())
            for code in shown if every_language else shown & texts:
                pending = self.pending.setdefault(code, Pending())
                pending.saved_at = max(changes.values())
                pending.changed.update(changes)

    def next_language(self) -> str | None:
        """The viewed language to render next: the one opened last first."""
        now = time.monotonic()
        with self.condition:
            viewed = [code for code in self.pending
                      if code == self.focus or now - self.seen.get(code, -1e9) < VIEWED_SECONDS or code not in self.views]
            if not viewed:
                return None
            return self.focus if self.focus in viewed else viewed[0]

    def load_settings(self) -> None:
        """Reload brochure/brochure.yaml; on failure keep the last good settings for the page."""
        problems: list[Problem] = []
        settings = content.load_settings(self.root, problems)
        with self.condition:
            self.settings_problems = sorted(set(problems)) if settings is None else []
            if settings is not None:
                self.settings = settings
                self.focus = self.focus or settings.source_language
            self.revision += 1  # wakes a page that shows no language yet
            self.condition.notify_all()

    def edition(self, code: str) -> Edition:
        """The edition of `code` once every input passes the build's own checks (inputs.check_inputs,
        redoing only what a change made stale); raises what stops a build."""
        if self.settings_problems or self.settings is None:
            raise ContentError(self.settings_problems)
        _, editions = check_inputs(self.root, [code], self.inputs)[0]  # the first product: the brochure
        if not self.fonts_checked:
            # A font file changed: WeasyPrint would keep the old one in its font configuration.
            self.close_renderer()
            self.helper.stop()  # its font configuration too; started again on the next split render
            self.fonts_checked = True
        return editions[0]

    def render(self, code: str, pending: Pending) -> None:
        started = time.perf_counter()
        self.publish(code, rendering=True)
        try:
            with self.abandonable(code):
                later: list = []  # the units' PDF joined once the pages are shown
                pdf, images, problems, steps, provisional = self.render_pages(code, pending.fit, later)
        except RenderAbandoned:
            self.abandoned += 1  # the helper's part was interrupted: it stays warm for the next
            with self.condition:  # rendered again with the change that made it stale, as soon as the watcher sees it
                again = self.pending.setdefault(code, Pending(pending.saved_at))
                again.changed |= pending.changed
            self.publish(code, rendering=False)
            print(f"{code:3} preview abandoned after {time.perf_counter() - started:.2f} s: a newer change arrived",
                  flush=True)
            return
        except BuildError as error:
            self.publish(code, rendering=False, error=str(error))
            print(f"{code:3} preview failed, keeping the last good pages:\n{error}", file=sys.stderr, flush=True)
            return
        except Exception as error:  # a bug: say so in the page, keep serving
            traceback.print_exc()
            self.publish(code, rendering=False, error=f"internal error: {type(error).__name__}: {error} (see the server's output)")
            return
        seconds = time.perf_counter() - started
        if not gc.get_freeze_count():
            # Warm now: WeasyPrint's modules, fonts and caches stay; the collector need not walk them again.
            gc.collect()
            gc.freeze()
        with self.condition:
            old = self.views.get(code) or View(code)
            view = self.publish(code, rendering=False, error="", problems="\n".join(problems), images=images,
                                generation=old.generation + 1, previous=(old.generation, old.images), pdf=pdf,
                                seconds=seconds, steps=steps, latency=time.time() - pending.saved_at if pending.saved_at else None,
                                searching=bool(provisional))
        # The preview PDF of the pages just shown, once the loop is idle (an older one not yet
        # written is replaced: it would overwrite these pages' PDF with stale ones).
        self.unjoined[code] = later
        after = f", {view.latency:.2f} s after saving {', '.join(sorted(pending.changed))}" if view.latency is not None else ""
        steps = ", ".join(f"{step} {value:.2f}" for step, value in view.steps.items())
        print(f"{code:3} preview {view.generation}: {len(images)} pages in {seconds:.2f} s ({steps}){after}", flush=True)
        for problem in problems:
            print(problem, file=sys.stderr, flush=True)
        if provisional:
            print(f"{code:3} preview {view.generation}: copy-fit of {', '.join(provisional)} provisional: searching",
                  flush=True)
            # The pages are up; now choose the setting of the sections whose words or layouts changed
            # (fit.py) and render again, unless a newer change comes first.
            with self.condition:
                self.pending.setdefault(code, Pending(fit=True))
                self.wake.set()

    def fit_choices(self, edition: Edition, code: str, search: bool, photos: dict) -> tuple[dict, list[str]]:
        """The copy-fit settings to lay `edition` out with: each fitted section's choice for its
        words and layouts when the build or an earlier search made it (build/.cache/fit), searched
        now when `search`, else the setting it was shown with last (provisional, listed)."""
        from brochure_build.render.fit import Fitter, fittable, layout_digest
        from brochure_build.render.pdf import TextLookup
        from brochure_build.render.share import choose_shared, recall_shared, script_of, script_siblings, shared_step
        from brochure_build.render.templating import render_html, unlinked_stylesheets

        def fitter_of(edition: Edition) -> Fitter:
            code = edition.language.code
            out_dir = self.root / PREVIEW_DIR / code
            lookup = TextLookup(edition.text_file, content.text_file(code))
            sheets = unlinked_stylesheets(self.root, edition.settings)

            def layout(run, css):
                html = render_html(self.environment, edition, "screen", self.root, out_dir, photos, run, css, sheets)
                return self.renderer.render(html, out_dir / "fit.html", f"{code} preview", lookup, sheets)

            return Fitter(self.root, edition, layout, digest, f"{code} preview")

        digest = layout_digest(self.root, edition)
        fitter = fitter_of(edition)
        siblings: tuple | None = ()
        if sharing_kinds(edition.settings, "script"):
            try:  # the editions of its script, whose words decide the steps a kind shares by script (share.py)
                everything = check_inputs(self.root, None, self.inputs)[0][1]
                self.scripts.update((other.language.code, script_of(other)) for other in everything)
                siblings = script_siblings(edition, everything)
            except ContentError:  # another text file does not load: the shared steps wait for it
                siblings = None
        others = [fitter_of(other) for other in siblings or ()]
        choices: dict = {}
        provisional: list[str] = []
        for run in fittable(edition):
            ids = tuple(section.spec.id for section in run)
            group = shared_step(fitter, others, run, search) if siblings is not None else None
            if not edition.settings.kinds[run[0].spec.kind].fit.share:
                choice = fitter.recall(run)
                if choice is None and search:
                    choice, _ = fitter.choose(run)
            elif group is not None:  # its step shared with other runs, all of them known
                choice = recall_shared(fitter, run, group)
                if choice is None and search:
                    choice, _ = choose_shared(fitter, run, group)
            else:
                choice = None
            if choice is None:
                choice = self.last_choices.get((code, ids[0]))
                provisional.append(ids[0])
            if choice is None:
                continue
            for section_id in ids:
                choices[section_id] = choice
            self.last_choices[code, ids[0]] = choice
        return choices, provisional

    def render_pages(self, code: str, search: bool = False, later: list | None = None
                     ) -> tuple[Path, tuple[bytes, ...], list[str], dict[str, float], list[str]]:
        """Screen variant of `code` → build/.preview/<code>/…-preview.pdf → page images, problems, seconds per step.

        Laid out in two parts at once when the plan allows (parts.py), else in one piece, with the
        copy-fit settings of fit_choices; the sections whose setting is provisional are returned too."""
        from brochure_build.render.fit import fit_css, layout_digest
        from brochure_build.render.images import prepare_images
        from brochure_build.render.pdf import Renderer
        from brochure_build.render.templating import render_html, unlinked_stylesheets

        clock = Stopwatch()
        edition = self.edition(code)
        if self.renderer is None:
            self.renderer = Renderer(self.root)
            self.linebreaks = linebreaks.LineBreaks(self.renderer.font_config)
        clock.lap("content")
        out_dir = self.root / PREVIEW_DIR / code
        name = f"{edition.settings.slug}-{code}-preview"
        context = f"{code} preview"
        # The screen variant's photos (150 ppi, cached in build/.cache/images/: converted once).
        photos = prepare_images(self.root, edition.settings, "screen", [figure.spec for figure in edition.figures.values()])
        choices, provisional = self.fit_choices(edition, code, search, photos)
        clock.lap("fit")
        sheets = unlinked_stylesheets(self.root, edition.settings)

        def job(sections, part: str, foreign=()) -> PartJob:
            # The settings of these sections only (fit_css scopes each rule to its section and its
            # figures): a unit's HTML changes with its own setting, not with another unit's.
            chosen_css = fit_css({s.spec.id: choices[s.spec.id] for s in sections if s.spec.id in choices})
            html = render_html(self.environment, edition, "screen", self.root, out_dir, photos, sections, chosen_css, sheets)
            return PartJob(html=html, stylesheets=sheets, base=out_dir / f"{name}.html", pdf=out_dir / f"{name}{part}.pdf", context=context,
                           text_file=edition.text_file, text_display=content.text_file(code), fonts=edition.language.fonts,
                           specs=tuple(section.spec for section in sections), foreign_ids=tuple(foreign))

        pdf = out_dir / f"{name}.pdf"
        groups = parts.units(edition)
        if self.parallel and len(groups) > 1:
            # Each unit's pages are kept, by its HTML and the layouts and fonts: a text edit lays out
            # the units it changed only, in two parts when it changed more than one.
            digest = layout_digest(self.root, edition)
            keys = [hashlib.sha256(f"{digest}\0{job(group, '').html}".encode()).hexdigest() for group in groups]
            kept = dict(self.units.get(code, {}))
            stale = [number for number, key in enumerate(keys) if key not in kept]
            clock.lap("html")
            results: tuple[list, list] | None = ([], [])
            if stale:
                results, laid_out = self.render_units(edition, code, [groups[number] for number in stale], job, clock)
                for number, unit in zip(stale, laid_out, strict=False):
                    kept[keys[number]] = unit
            if results is not None:
                units = [kept[key] for key in keys]
                self.units[code] = dict(zip(keys, units, strict=True))
                def join(units=units) -> None:
                    parts.join_pdfs([(unit.pdf, unit.indices) for unit in units], pdf)
                    parts.remove_unused(out_dir, name, {unit.pdf for unit in units})

                if later is None:
                    join()
                    clock.lap("join")
                else:  # the pages are shown first; the PDF (its link) follows
                    later.append(join)
                report = joined_copy_fit([unit.report for unit in units])
                problems = self.plan_problems(edition, report, context, provisional) + list(
                    dict.fromkeys(problem for unit in units for problem in unit.problems))
                steps = clock.result() | parts.side_steps(results)
                return pdf, tuple(image for unit in units for image in unit.images), problems, steps, provisional
            # A part strays from the plan: its pages are not the whole edition's. Lay it out in one piece.
        self.units.pop(code, None)
        whole = self.render_part(job(edition.sections, ""))
        clock.lap("whole")
        if whole.error:
            raise BuildError(whole.error)
        problems = self.plan_problems(edition, whole.report, context, provisional) + whole.problems
        return pdf, whole.images, problems, clock.result() | whole.steps, provisional

    def render_units(self, edition: Edition, code: str, stale: list, job, clock: Stopwatch):
        """Lay out the units `stale` (of the edition's units, in plan order), each as a document of
        its own, shared between this process and the helper when there are several: each takes
        the next unit when it is free, the dearest first (parts.UnitQueues). Returns the
        results of this process's units and of the helper's, and each unit's pages in the order
        of `stale`; (None, []) when a unit strays from the plan (then the edition is laid out in
        one piece). Raises BuildError."""
        everything = {section.spec.id for section in edition.sections}
        self.jobs_made += 1
        jobs = []
        for number, group in enumerate(stale, 1):
            ids = {section.spec.id for section in group}
            jobs.append(job(group, f"-job{self.jobs_made}-{number}", everything - ids))
        guesses = parts.guessed_costs(stale, self.unit_seconds.get(code, {}))
        sides = self.unit_sides.setdefault(code, {})
        queues = parts.UnitQueues(parts.dearest_first(guesses), guesses,
                                  [sides.get(group[0].spec.first_page) for group in stale], steal=self.steal)
        results, helped = self.render_shared(code, jobs, queues)
        sides.update({group[0].spec.first_page: by_helper for group, by_helper in zip(stale, helped, strict=True)})
        clock.lap("parts")
        errors = [result.error for result in results if result.error]
        if errors:
            raise BuildError("\n".join(dict.fromkeys("\n".join(errors).splitlines())))
        if not all(parts.keeps_to_plan(result, made.specs) for result, made in zip(results, jobs, strict=True)):
            return None, []
        self.unit_seconds[code] = parts.learned(self.unit_seconds.get(code, {}), stale, results)
        laid_out = [parts.unit_pages(result, made, [group])[0] for result, made, group in zip(results, jobs, stale, strict=True)]
        by_process = ([result for result, theirs in zip(results, helped, strict=True) if not theirs],
                      [result for result, theirs in zip(results, helped, strict=True) if theirs])
        return by_process, laid_out

    @staticmethod
    def plan_problems(edition: Edition, report: dict, context: str, provisional: list[str]) -> list[str]:
        """The page plan's problems, unless a section's copy-fit setting is provisional: then its
        pages may run over at a setting the search replaces in the very next render (fit.py), and
        a warning would only flash."""
        from brochure_build.render.layoutcheck import plan_problems

        return [] if provisional else plan_problems(edition, report, context)

    def render_part(self, job: PartJob) -> parts.PartResult:
        """A part (or the whole edition) in this process; line breaks through this process's memo."""
        result = parts.render_part(self.renderer, self.linebreaks, job)
        self.line_counts = (result.line_calls, result.lines_broken)
        return result

    def render_shared(self, code: str, jobs: list[PartJob], queues: parts.UnitQueues) -> tuple[list[parts.PartResult], list[bool]]:
        """Lay out `jobs`, this process and the helper (from a thread that feeds it) each taking
        its next from `queues` when it is free: every job's result, and whether the helper made it.
        When the helper fails, this process lays out what is left, and says so."""
        results: list[parts.PartResult | None] = [None] * len(jobs)
        helped = [False] * len(jobs)

        def feed() -> None:
            while (index := queues.take(True)) is not None:
                try:
                    self.helper.submit(jobs[index])
                    results[index] = self.helper.result()
                except parts.HelperError as error:
                    print(f"{code:3} preview: {error}; laying the rest out in this process", file=sys.stderr, flush=True)
                    queues.hand_back(index)
                    return
                helped[index] = True

        feeder = None
        if self.parallel and len(jobs) > 1:
            feeder = threading.Thread(target=feed, name="preview-helper-feeder", daemon=True)
            feeder.start()
        else:
            queues.alone = True
        try:
            while True:
                index = queues.take(False)
                if index is None:
                    if feeder is None or not feeder.is_alive():
                        break
                    feeder.join()
                    continue  # the helper may have failed and handed its unit back
                results[index] = parts.render_part(self.renderer, self.linebreaks, jobs[index])
        except BaseException:  # abandoned (RenderAbandoned) or failed: the helper's unit is stale too
            queues.cancel()
            if feeder is not None:
                self.helper.interrupt()
                while feeder.is_alive():  # before the next render talks to the helper
                    try:
                        feeder.join()
                    except RenderAbandoned:  # raised again by the watchdog until the render ends
                        pass
            raise
        self.line_counts = (sum(result.line_calls for result in results), sum(result.lines_broken for result in results))
        theirs = [result.peak_rss_mb for result, by_helper in zip(results, helped, strict=True) if by_helper]
        self.helper_peak_rss_mb = max([self.helper_peak_rss_mb, *theirs])
        return results, helped

    # -- what /status says ------------------------------------------------------------------------

    def status(self, code: str, view: View | None = None) -> dict:
        view = view or self.view(code)
        state = "rendering" if view.rendering else "error" if view.error else "ready" if view.images else "waiting"
        return {
            "language": code,
            "languages": self.languages(),
            "direction": self.direction(code),
            "revision": view.revision,
            "generation": view.generation,
            "state": state,
            "searching": view.searching,
            "pages": [f"/pages/{code}/{view.generation}/{number}.jpg" for number in range(1, len(view.images) + 1)],
            "error": view.error,
            "problems": view.problems,
            "seconds": view.seconds,
            "steps": view.steps,
            "latency": view.latency,
            "pdfs": self.pdf_links(code, view),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "helper_peak_rss_mb": round(self.helper_peak_rss_mb, 1),  # the process laying out the other part
        }

    def pdf_links(self, code: str, view: View) -> list[dict]:
        """The preview PDF, then the PDFs `brochure build` left in build/<code>/."""
        build_dir = self.root / "build"
        links = []
        if view.pdf and view.pdf.is_file():
            links.append({"label": "preview (screen)", "url": files_url(view.pdf, build_dir), "note": "current"})
        newest = self.watcher.newest()
        for pdf in sorted((build_dir / code).glob("*.pdf")) if code else []:
            mtime = pdf.stat().st_mtime
            variant = pdf.stem.rsplit("-", 1)[-1]
            note = "built " + time.strftime("%Y-%m-%d %H:%M", time.localtime(mtime))
            links.append({"label": variant, "url": files_url(pdf, build_dir),
                          "note": note + (", older than the last change: run `make`" if mtime < newest else "")})
        return links


def concerns(path: str, code: str) -> bool:
    """Whether a change of `path` makes a render of `code` stale: any file but another language's text."""
    return not path.startswith(content.TEXT_DIR + "/") or Path(path).stem == code


def files_url(path: Path, build_dir: Path) -> str:
    return "/files/" + quote(path.relative_to(build_dir).as_posix())
