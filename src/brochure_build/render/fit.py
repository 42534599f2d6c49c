"""Copy-fit chosen by the build: for each section whose page kind declares `fit:` (kinds.py), the
setting within the declared ranges that fills its planned pages best without overflow.

A section whose first page the plan fixes is laid out on its own (its pages numbered as in the
whole edition), so a setting is tried on one or two pages, not on the edition. The search:

1. lay the section out at the largest step, photo frames at their smallest;
2. predict, from the height its text took, the largest step whose text still fits the planned
   text pages (text height grows with the square of the first length range, the type size, and
   with every unitless one, the leading), and the frame heights that take up the rest;
3. lay it out at that setting, and step down while it overflows, or once up while it fits with
   room to spare. The measure of every layout tried is kept in build/.cache/fit/ under a hash
   of its HTML and the layouts, and so is the choice for the section's words: a rebuild lays
   out an unchanged section once, at its remembered setting, and searches only what changed.

Optional fields the kind names (a pull quote) are shown only when the page cannot be filled
without them. A kind that asks to share one step (`fit: share:`) has its runs set at the smallest
step any of them takes alone, and fitted again at it (share.py); that choice is cached apart.
The chosen layouts are the pages written: those of the screen variant, and those of the print
variant where a process of its own builds the press files (build.build_jobs); sections are joined
into one document, not laid out again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from brochure_build.digests import file_digest
from brochure_build.errors import BuildError
from brochure_build.output import prune_least_recent, touch, write_text_atomic
from brochure_build.render.layoutcheck import PX_TO_MM, part_copy_fit, planned_pages
from brochure_build.source.kinds import FitSpec
from brochure_build.source.model import Edition, Section

CACHE_DIR = Path("build") / ".cache" / "fit"
PRINT_PPI = 300
GOAL = 0.85  # every text page at least this full; the search aims higher
AIM = 0.985  # frames grow until the last text page is this full
MAX_TRIALS = 8
MAX_CACHE_ENTRIES = 20000  # a few hundred bytes each; the least recently used go first


@dataclass(frozen=True)
class Choice:
    """The setting chosen for one section: its step, the values it gives, frame heights and the
    optional fields shown."""

    sections: tuple[str, ...]  # the section, and those sharing its pages
    step: int
    steps: int
    values: dict[str, str]
    frames: dict[str, float] = field(default_factory=dict)  # figure id -> frame height, mm
    optional: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()  # optional fields the section offers but the page did not need
    shared: tuple[str, ...] = ()  # `share:`: the languages whose runs of the kind take this one step
    shared_sections: tuple[str, ...] = ()  # and the sections (first of each run) that do
    own_step: int | None = None  # the step the run would take on its own, when sharing set another

    def css(self) -> str:
        rules = []
        declarations = " ".join(f"{name}: {value} !important;" for name, value in self.values.items())
        for section in self.sections:
            if declarations:
                rules.append(f'[id="{section}"] {{ {declarations} }}')
            for name in self.hidden:
                rules.append(f'[id="{section}"] [data-fit-optional="{name}"] {{ display: none !important; }}')
        for figure, height in self.frames.items():
            rules.append(f'[id="figure-{figure}"] .figure__image {{ --frame-height: {height:g}mm !important; }}')
        return "\n".join(rules)

    def report(self) -> dict:
        report = {"step": self.step, "steps": self.steps, "values": self.values,
                  "frames": {figure: f"{height:g}mm" for figure, height in self.frames.items()},
                  "optional": list(self.optional)}
        if self.shared:
            report.update(shared=list(self.shared), shared_sections=list(self.shared_sections),
                          own_step=self.step if self.own_step is None else self.own_step)
        return report


def fit_css(choices: dict[str, Choice]) -> str:
    unique = {choice.sections: choice for choice in choices.values()}  # a shared page's sections hold one choice
    return "\n".join(choice.css() for choice in unique.values() if choice.css())


@dataclass
class Trial:
    """One layout of a section at one setting, measured."""

    pages: int
    fills: list[float]  # per page, how far down the live area the content reaches (0-1)
    text_pages: list[bool]  # which pages carry running text (not a photo alone)
    overflow: dict | None  # lines and mm past the planned pages, as layoutcheck measures them
    frames_overflow: float  # mm of text past a fixed-height frame's bottom
    live_mm: float  # height of the live area
    document: object = None  # the WeasyPrint document, while this process holds it

    def fits(self, planned: int) -> bool:
        return self.pages <= planned and self.overflow is None and not self.frames_overflow

    def used_text(self) -> float:
        """Text pages' worth of content: every text page but the last counts full."""
        fills = [fill for fill, text in zip(self.fills, self.text_pages, strict=True) if text] or [0.0]
        return len(fills) - 1 + fills[-1]

    def lowest_text_fill(self) -> float:
        fills = [fill for fill, text in zip(self.fills, self.text_pages, strict=True) if text]
        return min(fills) if fills else 1.0

    def to_json(self) -> dict:
        return {"pages": self.pages, "fills": self.fills, "text_pages": self.text_pages, "overflow": self.overflow,
                "frames_overflow": self.frames_overflow,
                "live_mm": self.live_mm}


Run = tuple[Section, ...]  # a section and those that share its pages, laid out together


def fittable(edition: Edition) -> list[Run]:
    """Runs the fitter sets: a section whose kind declares `fit:` and whose first page the plan
    fixes, with the sections that share its pages (one setting for all); none flows."""
    sections = edition.sections
    runs: list[list[Section]] = []
    for section in sections:
        if section.spec.shares_page and runs:
            runs[-1].append(section)
        else:
            runs.append([section])
    chosen = []
    for run in runs:
        kind = edition.settings.kinds.get(run[0].spec.kind)
        before = sections[: sections.index(run[0])]
        if kind is None or kind.fit is None or any(s.spec.flows for s in (*before, *run)):
            continue
        chosen.append(tuple(run))
    return chosen


def run_pages(run: Run) -> tuple[int, int]:
    return run[0].spec.first_page, max(section.spec.last_page for section in run)


def page_fill(page_box) -> float:
    """How far down the live area (the page's content box) the lowest ink reaches: text lines,
    images, backgrounds and borders (a top border alone inks the top of its box only)."""
    from weasyprint.formatting_structure.boxes import LineBox, ReplacedBox

    top = page_box.content_box_y()
    height = page_box.height
    bottom = top
    for box in page_box.children[0].descendants() if page_box.children else ():
        if isinstance(box, LineBox):
            if any(getattr(child, "text", "").strip() or getattr(child, "children", None) for child in box.children):
                bottom = max(bottom, box.position_y + box.height)
        elif isinstance(box, ReplacedBox) or (getattr(box, "style", None) is not None and inks_to_bottom(box)):
            bottom = max(bottom, box.border_box_y() + box.border_height())
        elif getattr(box, "style", None) is not None and box.style["border_top_width"]:
            bottom = max(bottom, box.border_box_y() + box.style["border_top_width"])
    return round(max(0.0, min(bottom - top, height * 1.2)) / height, 4) if height else 0.0


def inks_to_bottom(box) -> bool:
    """A background, or a border down the side or along the bottom: ink to the box's bottom edge."""
    style = box.style
    background = style["background_color"]
    return (background is not None and getattr(background, "alpha", 0) > 0) or \
        any(style[f"border_{side}_width"] for side in ("right", "bottom", "left"))


def is_text_page(page_box) -> bool:
    """A page with running text: at least three lines outside figures (a photo page has its caption only)."""
    from weasyprint.formatting_structure.boxes import LineBox

    def lines(box, in_figure: bool) -> int:
        element = getattr(box, "element", None)
        in_figure = in_figure or (element is not None and getattr(box, "element_tag", "") in ("figure", "figcaption"))
        if isinstance(box, LineBox):
            return 0 if in_figure else 1
        return sum(lines(child, in_figure) for child in getattr(box, "children", ()))

    return bool(page_box.children) and lines(page_box.children[0], False) >= 3


def page_fills(document, first: int = 1) -> list[dict]:
    """Fill of every page of `document` (numbered from `first`), and whether it is a text page."""
    return [{"page": number, "fill": page_fill(page._page_box), "text": is_text_page(page._page_box),
             "live_mm": round(page._page_box.height * PX_TO_MM, 1)}
            for number, page in enumerate(document.pages, first)]


def measure(run: Run, document) -> Trial:
    first, _ = run_pages(run)
    report = part_copy_fit(tuple(section.spec for section in run), document, first)
    overflow = None
    for entry in report["sections"]:
        if entry["overflow"]:
            overflow = entry["overflow"]
        elif entry["pages"][0] is not None and entry is report["sections"][-1] and entry["pages"][1] > entry["planned"][1]:
            overflow = {"pages": list(range(entry["planned"][1] + 1, entry["pages"][1] + 1)), "lines": 0, "mm": 0.0}
    fills = page_fills(document, first)
    # Text past a fixed frame's bottom is no fit either. (A word too long for its line is not the
    # fitter's to solve: the build names its block and page, layoutcheck.sideways_problems.)
    frames = max((frame["mm"] for frame in report["frames"]), default=0.0)
    live_mm = document.pages[0]._page_box.height * PX_TO_MM
    return Trial(len(document.pages), [f["fill"] for f in fills], [f["text"] for f in fills],
                 overflow, frames, round(live_mm, 2), document)


@dataclass(frozen=True)
class Frame:
    figure: str
    low: float  # mm
    high: float  # mm: the declared largest, or less where the photo has too few pixels for 300 ppi


def flexible_frames(root: Path, run: Run, fit: FitSpec) -> list[Frame]:
    frames = []
    if not fit.frames:
        return frames
    for figure in (figure for section in run for figure in section.figures):
        spec = figure.spec
        if spec.max_height_mm <= spec.height_mm:
            continue
        high = spec.max_height_mm
        try:
            with Image.open(root / "assets" / spec.file) as image:
                width_px, height_px = image.size
        except OSError:  # checked before rendering (assets.py)
            width_px, height_px = spec.pixels_at(PRINT_PPI)
        # object-fit: cover scales the photo until both sides reach the frame: the frame may be
        # no taller than the photo's pixels at 300 ppi (nor wider, which brochure.yaml fixes).
        high = min(high, height_px / PRINT_PPI * 25.4)
        frames.append(Frame(spec.id, spec.height_mm, max(spec.height_mm, round(high - 0.05, 1))))
    return frames


class Fitter:
    """Chooses the settings of an edition's sections, laying them out with `layout(section, css)`,
    which returns a WeasyPrint document of that section alone."""

    def __init__(self, root: Path, edition: Edition, layout: Callable[[Run, str], object], digest: str, context: str):
        self.root = root
        self.edition = edition
        self.layout = layout
        self.digest = digest
        self.context = context
        self.trials_run = 0
        self.own: dict[str, Choice] = {}  # run (first section's id) -> its unconstrained choice

    # --- trials and choices, cached by what decides the layout (not where the HTML is kept)
    def run_key(self, section: Run) -> str:
        """Hash of everything a run's layout depends on besides the setting: the layouts and fonts
        (the digest), the language, the labels, the run's words and plan, and its photos' files."""
        digest = hashlib.sha256(f"{self.digest}\0{self.edition.language!r}\0{self.edition.labels!r}\0{section!r}".encode())
        for figure in (figure for member in section for figure in member.figures):
            try:
                digest.update(file_digest(self.root / "assets" / figure.spec.file))
            except OSError:
                digest.update(b"<missing>")
        return digest.hexdigest()

    def trial(self, section: Run, choice: Choice, keep: bool) -> Trial:
        css = choice.css()
        key = hashlib.sha256(f"{self.run_key(section)}\0{css}".encode()).hexdigest()[:32]
        path = self.root / CACHE_DIR / f"{key}.json"
        if not keep and path.is_file():
            try:
                data = json.loads(path.read_text())
                touch(path)  # recently used: kept by prune()
                return Trial(data["pages"], data["fills"], data["text_pages"], data["overflow"], data["frames_overflow"],
                             data["live_mm"])
            except (ValueError, KeyError):
                pass  # a damaged entry is laid out again
        document = self.layout(section, css)
        self.trials_run += 1
        result = measure(section, document)
        write_text_atomic(path, json.dumps(result.to_json()))
        return result

    def choice_path(self, section: Run, step: int | None, what: str = "choice") -> Path:
        """Where the choice for the run's words is kept: the run's own, or (`step`) the one at a step
        shared with other runs (share:), under another key; `what`: another record of the run's
        (own_step)."""
        key = self.run_key(section)
        if step is not None:
            key = hashlib.sha256(f"{key}\0shared step {step}".encode()).hexdigest()
        if what != "choice":
            key = hashlib.sha256(f"{key}\0{what}".encode()).hexdigest()
        return self.root / CACHE_DIR / f"choice-{key[:32]}.json"

    def recall(self, section: Run, step: int | None = None) -> Choice | None:
        """The choice made last time for exactly these words, layouts and fonts (at the shared
        `step`, if given), if any."""
        path = self.choice_path(section, step)
        fit = self.edition.settings.kinds[section[0].spec.kind].fit
        wanted = step
        try:
            last = json.loads(path.read_text())
            step, frames, optional = int(last["step"]), dict(last["frames"]), list(last["optional"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        if not 0 <= step < fit.steps or (wanted is not None and step != wanted):
            return None
        offered = offered_fields(section, fit)
        shown = tuple(name for name in optional if name in offered)
        code = self.edition.language.code
        return Choice(tuple(s.spec.id for s in section), step, fit.steps, fit.values(code, step),
                      {figure: float(height) for figure, height in frames.items()}, shown,
                      tuple(name for name in offered if name not in shown))

    def remember(self, section: Run, choice: Choice, step: int | None = None) -> None:
        path = self.choice_path(section, step)
        write_text_atomic(path, json.dumps({"step": choice.step, "frames": choice.frames, "optional": list(choice.optional)}))

    # --- the search
    def choose(self, section: Run, step: int | None = None, lay_out: bool = True) -> tuple[Choice, Trial | None]:
        """The best setting for the run `section` (at `step`, when it shares one with other runs)
        and its layout (document kept); BuildError when none fits. Without `lay_out`, a setting
        recalled is not laid out: the trial is then None, or holds no document."""
        choice, trial = self.choice(section, step)
        if lay_out and (trial is None or trial.document is None):  # recalled, or its numbers came from the cache: lay it out
            trial = self.trial(section, choice, keep=True)
        return choice, trial

    def own_choice(self, section: Run, search: bool = True) -> Choice | None:
        """The setting the run would take on its own (recalled, or searched when `search`; not
        laid out again); None when not searched and not known."""
        ident = section[0].spec.id
        if ident not in self.own:
            known = self.choice(section, None)[0] if search else self.recall(section)
            if known is None:
                return None
            self.own[ident] = known
        return self.own[ident]

    def own_step(self, section: Run, search: bool = True) -> int | None:
        """The step the run would take on its own: all a kind that shares its step needs to know
        of a run that then takes a smaller one (share.py). Recalled, or found by its search's
        first trial, the largest step with the frames at their smallest: when the text fits that
        and fills its pages to the goal, no setting can rank higher (rank), and the trials that
        would grow the frames are left to the run's own search, if it takes its own step after
        all. Remembered apart from the choice; None when not searched and not known."""
        own = self.own.get(section[0].spec.id) or self.recall(section)
        if own is not None:
            self.own[section[0].spec.id] = own
            return own.step
        path = self.choice_path(section, None, "own step")
        try:
            return int(json.loads(path.read_text())["step"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        if not search:
            return None
        fit = self.edition.settings.kinds[section[0].spec.kind].fit
        first, last = run_pages(section)
        largest = fit.steps - 1
        offered = offered_fields(section, fit)
        smallest = {frame.figure: frame.low for frame in flexible_frames(self.root, section, fit)}
        setting = Choice(tuple(s.spec.id for s in section), largest, fit.steps, fit.values(self.edition.language.code, largest),
                         smallest, (), offered)  # the search's first trial (search: make(highest, smallest))
        trial = self.trial(section, setting, keep=False)
        if not (trial.fits(last - first + 1) and trial.lowest_text_fill() >= GOAL):
            return self.own_choice(section).step
        write_text_atomic(path, json.dumps({"step": largest}))
        return largest

    def choice(self, section: Run, step: int | None) -> tuple[Choice, Trial | None]:
        fit = self.edition.settings.kinds[section[0].spec.kind].fit
        offered = offered_fields(section, fit)
        recalled = self.recall(section, step)
        if recalled is not None:  # the same words in the same layouts: the same search would choose the same
            self.remember(section, recalled, step)  # recently used: kept by prune()
            return recalled, None
        best = self.search(section, fit, (), step=step)
        if offered and best[1].lowest_text_fill() < GOAL:
            with_optional = self.search(section, fit, offered, must_fit=False, step=step)
            if with_optional is not None and with_optional[1].lowest_text_fill() > best[1].lowest_text_fill():
                best = with_optional
        self.remember(section, best[0], step)
        return best

    def search(self, section: Run, fit: FitSpec, shown: tuple[str, ...], must_fit: bool = True,
               step: int | None = None):
        """The best fitting setting with the optional fields `shown`: of every step, or only of `step`."""
        code = self.edition.language.code
        first, last = run_pages(section)
        planned = last - first + 1
        frames = flexible_frames(self.root, section, fit)
        offered = offered_fields(section, fit)
        hidden = tuple(name for name in offered if name not in shown)
        ranges = fit.ranges(code)
        smallest = {frame.figure: frame.low for frame in frames}

        def make(step: int, heights: dict[str, float]) -> Choice:
            return Choice(tuple(s.spec.id for s in section), step, fit.steps, fit.values(code, step), heights, shown, hidden)

        tried: dict[tuple, Trial] = {}

        def key(choice: Choice) -> tuple:
            return choice.step, tuple(sorted(choice.frames.items()))

        def run(choice: Choice) -> Trial:
            if key(choice) not in tried:
                tried[key(choice)] = self.trial(section, choice, keep=False)
            return tried[key(choice)]

        lowest, highest = (0, fit.steps - 1) if step is None else (step, step)
        # The largest step first: most text fits it (then only the frames are left to grow), and
        # a text that does not gives the measure to predict the step down from.
        current = make(highest, smallest)
        best: tuple[Choice, Trial] | None = None
        for _ in range(MAX_TRIALS):
            result = run(current)
            if result.fits(planned) and (best is None or rank(current, result) > rank(*best)):
                best = (current, result)
            next_step, heights = predict(current, result, ranges, fit.steps, planned, frames, lowest, highest)
            if not result.fits(planned) and not lower(next_step, heights, current):
                # The model would not go lower: frames back to their smallest first, then a step down.
                next_step, heights = (current.step, smallest) if current.frames != smallest else (current.step - 1, smallest)
            if next_step < lowest:
                break
            following = make(next_step, heights)
            if key(following) in tried:
                break  # converged: this setting was laid out already
            current = following
        if best is None:
            smallest_choice = make(lowest, smallest)
            result = run(smallest_choice)
            if result.fits(planned):
                best = (smallest_choice, result)
            elif must_fit:
                raise BuildError(self.nothing_fits(section, smallest_choice, result))
            else:
                return None
        return best

    def nothing_fits(self, section: Run, choice: Choice, trial: Trial) -> str:
        spec = section[0].spec
        kind = self.edition.settings.kinds[spec.kind]
        first, last = run_pages(section)
        names = " and ".join(repr(s.spec.id) for s in section)
        setting = ", ".join(f"{name} {value}" for name, value in choice.values.items()) or "its only setting"
        if choice.frames:
            setting += "; photo frames " + ", ".join(f"{height:g} mm" for height in choice.frames.values())
        if trial.overflow:
            left = f"{trial.overflow['lines']} lines ({trial.overflow['mm']} mm)"
        else:
            left = f"{trial.frames_overflow} mm of text past a frame"
        return (f"{self.context}: section {names} does not fit {planned_pages(first, last)} in any "
                f"setting of {kind.declaration}: at the smallest ({setting}) {left} are left over; shorten the text, "
                "or widen the ranges in the declaration")


def lower(step: int, heights: dict[str, float], current: Choice) -> bool:
    """Whether the setting (`step`, `heights`) sets less than `current`: a smaller step, or the same
    step with a frame smaller (a prediction held at the shared step can only move the frames)."""
    return step < current.step or (step == current.step and any(
        height < current.frames.get(figure, height) for figure, height in heights.items()))


def offered_fields(run: Run, fit: FitSpec) -> tuple[str, ...]:
    """The kind's optional fields that the run's words hold (a pull quote the text offers)."""
    return tuple(name for name in fit.optional if any(section.words.get(name) for section in run))


def predict(choice: Choice, trial: Trial, ranges, steps: int, planned: int,
            frames: list[Frame], lowest: int = 0, highest: int | None = None) -> tuple[int, dict[str, float]]:
    """From `trial` (laid out at `choice`), the largest step (from `lowest` to `highest`) whose text
    fits the planned text pages with the frames at their smallest, and the frame heights that then
    fill the last text page."""
    text_pages = max(1, planned - sum(1 for text in trial.text_pages if not text))
    page_mm = trial.live_mm
    grown = sum(choice.frames.values())
    smallest = {frame.figure: frame.low for frame in frames}
    text_mm = max(1.0, trial.used_text() * page_mm - grown)
    base = scale(ranges, steps, choice.step)
    chosen = lowest
    for candidate in range(lowest, steps if highest is None else highest + 1):
        if text_mm * scale(ranges, steps, candidate) / base + sum(smallest.values()) <= (text_pages - 0.015) * page_mm:
            chosen = candidate
    room = text_pages * page_mm * AIM - text_mm * scale(ranges, steps, chosen) / base - sum(smallest.values())
    heights = dict(smallest)
    for frame in frames:  # the room shared out in plan order, each frame up to its largest
        extra = max(0.0, min(frame.high - frame.low, room))
        heights[frame.figure] = round(frame.low + extra, 1)
        room -= extra
    return chosen, heights


def rank(choice: Choice, trial: Trial) -> tuple:
    """How good a fitting setting is: one that fills every text page to the goal beats one that
    does not; among those, the larger type step wins (then the fuller page), so a small edit that
    still fits keeps its step rather than trading it for a taller photo; below the goal, the
    fuller page wins."""
    fill = trial.lowest_text_fill()
    return (True, choice.step, fill) if fill >= GOAL else (False, fill, choice.step)


def scale(ranges, steps: int, step: int) -> float:
    """How tall the same text sets at `step`, up to a constant: the first length range is the type
    size (lines get longer and taller: squared); unitless ranges that grow with the steps multiply
    (the leading). Only a prediction: the layout that follows it decides."""
    factor = 1.0
    sized = False
    for value_range in ranges:
        value = value_range.number(step, steps) or 1e-6
        growing = value_range.number(steps - 1, steps) >= value_range.number(0, steps)
        if value_range.unit in ("pt", "px", "em", "mm") and not sized:
            factor *= value * value
            sized = True
        elif not value_range.unit and growing:
            factor *= value
    return factor


def layout_digest(root: Path, edition: Edition) -> str:
    """Hash of everything besides the section's words that decides its layout and its choice:
    the layouts' files (CSS, templates), the fonts and the pipeline's own code (the search too:
    a fresh build must choose what a cached one recalls)."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(file_digest(path))
    folders = {root / edition.settings.layouts, root / "layouts", root / "fonts"}
    for folder in sorted(folders):
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(file_digest(path))
    return digest.hexdigest()


Sibling = tuple[Edition, Callable[[Run, str], object], str]  # an edition, how to lay out its runs, its messages' context


@dataclass
class Part:
    """A part of an edition's pages as lay_out_parts leaves it: a fitted run, or the sections
    between two; the HTML of its chosen setting, and its layout, or None where it was not laid
    out (`kept` said its pages are known)."""

    sections: tuple[Section, ...]
    html: str
    document: object | None


def lay_out_fitted(root: Path, edition: Edition, html_of: Callable[[tuple[Section, ...], str], str],
                   layout: Callable[[str], object], context: str,
                   siblings: Sequence[Sibling] = (), searches: str = "plan") -> tuple[dict[str, Choice], object]:
    """lay_out_parts, the parts joined into one document, page after page."""
    choices, parts = lay_out_parts(root, edition, html_of, layout, context, siblings, searches)
    if len(parts) == 1:
        return choices, parts[0].document
    return choices, parts[0].document.copy([page for part in parts for page in part.document.pages])


def lay_out_parts(root: Path, edition: Edition, html_of: Callable[[tuple[Section, ...], str], str],
                  layout: Callable[[str], object], context: str,
                  siblings: Sequence[Sibling] = (), searches: str = "plan",
                  kept: Callable[[str], bool] = lambda html: False) -> tuple[dict[str, Choice], list[Part]]:
    """Choose the setting of every run the fitter sets, and lay out the edition's pages with them
    (`html_of` gives the HTML of the variant to lay out).

    Returns the choices (by section id) and the parts in plan order: the fitted runs and the
    other sections (laid out in runs between them), each laid out on its own, except a part
    whose HTML `kept` knows (units.py keeps its pages) and whose setting was recalled rather
    than searched. Nothing is laid out twice. `siblings`: the editions written in the same
    script, whose runs of a kind shared by script decide its step here too (share.py).

    `searches`: when the runs whose setting must be searched are laid out (of a kind that shares
    its step: each run whose group has a member to search): in plan order, `first` (in plan
    order) or `last` (in reverse). The two jobs of a split build (build.build_jobs) take opposite
    ends: each finds in the fit cache the trials and choices the other searched meanwhile, rather
    than searching them beside it; the press job, whose files take less to write, searches first."""
    from brochure_build.render.share import choose_shared, recall_shared, shared_step

    runs = {run[0].spec.id: run for run in fittable(edition)}
    digest = layout_digest(root, edition)
    fitter = Fitter(root, edition, lambda run, css: layout(html_of(run, css)), digest, context)
    others = [Fitter(root, other, lay_out, digest, where) for other, lay_out, where in siblings]
    groups: list[tuple[Section, ...]] = []  # in plan order: a fitted run, or the sections between two
    pending: list[Section] = []
    fitted: set[str] = set()
    for section in edition.sections:
        if section.spec.id in fitted:
            continue
        run = runs.get(section.spec.id)
        if run is None:
            pending.append(section)
            continue
        if pending:
            groups.append(tuple(pending))
        pending = []
        fitted.update(member.spec.id for member in run)
        groups.append(run)
    if pending:
        groups.append(tuple(pending))

    def searched(index: int) -> bool:
        """Whether the group is a run whose setting the cache does not hold (share.choose_shared's
        choice, asked of the cache alone)."""
        run = groups[index]
        if run[0].spec.id not in runs:
            return False
        if not edition.settings.kinds[run[0].spec.kind].fit.share:
            return fitter.recall(run) is None
        shared = shared_step(fitter, others, run, search=False)
        return shared is None or recall_shared(fitter, run, shared) is None

    order = list(range(len(groups)))
    if searches != "plan":
        to_search = [index for index in order if searched(index)]
        rest = [index for index in order if index not in to_search]
        order = to_search + rest if searches == "first" else rest + to_search[::-1]
    choices: dict[str, Choice] = {}
    parts: dict[int, Part] = {}
    for index in order:
        group = groups[index]
        if group[0].spec.id not in runs:
            html = html_of(group, "")
            parts[index] = Part(group, html, None if kept(html) else layout(html))
            continue
        choice, trial = choose_shared(fitter, group, shared_step(fitter, others, group), lay_out=False)
        for member in group:
            choices[member.spec.id] = choice
        html = html_of(group, choice.css())
        document = trial.document if trial is not None else None
        parts[index] = Part(group, html, document if document is not None or kept(html) else layout(html))
    choices = {section.spec.id: choices[section.spec.id] for section in edition.sections if section.spec.id in choices}
    return choices, [parts[index] for index in range(len(groups))]


def fill_report(fills: list[dict], sections: list[dict], choices: dict[str, Choice]) -> list[dict]:
    """Each page's fill (page_fills), its section, whether it is a text page of a fitted section
    (the pages the fill goal is for), for the layout report and preflight."""
    owner = {}
    for entry in sections:
        start, end = entry["pages"]
        if start is not None:
            for number in range(start, (end or start) + 1):
                owner.setdefault(number, entry["id"])
    pages = []
    for entry in fills:
        section = owner.get(entry["page"])
        pages.append({**entry, "section": section, "fitted": section in choices,
                      "text": entry["text"] and section in choices})
    return pages


def prune(directory: Path, keep: int = MAX_CACHE_ENTRIES) -> None:
    """Remove the least recently used entries of the fit cache beyond `keep`."""
    prune_least_recent(directory, keep=keep)
