"""Kept parts: an edition's variant written part by part, each part's PDF and measures kept
between builds, so a rebuild after an edit lays out and writes only the parts whose HTML changed.

The parts are fit.lay_out_parts's: a fitted run, or the sections between two. Each starts a page
of its own on a page the plan fixes, and the build lays each out on its own already, so its
pages depend on its own HTML alone (the words, the fitter's setting for it, the photos' files,
which are named by their content). A part is kept in build/.cache/units/ under a hash of that
HTML, the variant, the layouts', fonts' and code's digest (fit.layout_digest) and the product's
settings files, as two files: its PDF, written as the variant's standard (tags and all), and
its measures (JSON): the copy-fit report, each page's fill, the room around each text block
for the translators' budgets, the headings ending on a runt, the levels of its bookmarks, and
how links to each of its destinations are described.

A link to a section of another part has no target in its part's document: before the part is
written, its first page gets a stand-in anchor of that name, so that WeasyPrint keeps the link
(its destination named); press/join.py resolves it to the real one and describes it by the
heading it leads to.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from brochure_build.output import prune_least_recent, touch, write_text_atomic
from brochure_build.press.join import JoinedPart
from brochure_build.render.budgets import block_budgets, element_rooms
from brochure_build.render.fit import Choice, Part, fill_report, page_fills
from brochure_build.render.layoutcheck import heading_runts, joined_copy_fit, part_copy_fit
from brochure_build.render.pdf import Written
from brochure_build.source.model import Edition

CACHE_DIR = Path("build") / ".cache" / "units"
LIBRARIES = ("weasyprint", "pydyf", "pikepdf", "pyphen")  # what lays out and writes a part, besides our code
FORMAT = "2"  # of the measures kept: a change makes every kept part stale
MAX_CACHE_ENTRIES = 4000  # two files per part; a build of every edition and variant keeps 156 parts (43 MB)
MAX_CACHE_BYTES = 400 * 1024 * 1024  # a print part embeds its photos at 300 ppi


@dataclass
class SettledPart:
    """A part of an edition's variant: its HTML, its measures (measure(); once written, with the
    stand-ins and link descriptions of write_part), and its PDF in the cache, or the document
    to write it from (write())."""

    html: str
    measures: dict
    pdf: Path | None = None
    document: object = None

    def joined(self) -> JoinedPart:
        return JoinedPart(self.pdf, tuple(self.measures["foreign"]),
                          tuple((level, state) for level, state in self.measures["bookmarks"]),
                          dict(self.measures["descriptions"]), dict(self.measures["subsets"]))


class PartStore:
    """The kept parts of one variant of the editions of a product, by their HTML."""

    def __init__(self, root: Path, variant: str, salt: str, fresh: bool = False):
        self.directory = root / CACHE_DIR
        self.variant = variant
        self.salt = salt  # what decides a part's pages besides its HTML: layouts, fonts, code, settings
        self.fresh = fresh  # recall nothing (`brochure build --force`): every part laid out and written anew

    def key(self, html: str) -> str:
        return hashlib.sha256(f"{FORMAT}\0{self.salt}\0{self.variant}\0{html}".encode()).hexdigest()[:32]

    def paths(self, html: str) -> tuple[Path, Path]:
        key = self.key(html)
        return self.directory / f"{key}.pdf", self.directory / f"{key}.json"

    def has(self, html: str) -> bool:
        pdf, measures = self.paths(html)
        return not self.fresh and measures.is_file() and complete(pdf)

    def recall(self, html: str) -> SettledPart | None:
        if self.fresh:
            return None
        pdf, measures = self.paths(html)
        try:
            data = json.loads(measures.read_text())
        except (OSError, ValueError):
            return None
        if not complete(pdf):
            return None  # laid out and written again: a damaged cache costs time, never the file
        touch(pdf)  # recently used: kept by prune()
        touch(measures)
        return SettledPart(html, data, pdf)

    def keep(self, part: SettledPart, write: Callable[[object, Path, tuple[str, ...]], Written]) -> SettledPart:
        """Write the part's PDF with `write(document, path, foreign)` (write_part) and keep it with its
        measures. An OSError (a full disk) is left to the caller, which names the file it was
        writing the part for."""
        pdf, measures = self.paths(part.html)
        pdf.parent.mkdir(parents=True, exist_ok=True)
        temporary = pdf.with_name(f".{pdf.name}.{os.getpid()}.tmp")  # a dot file: prune() leaves it alone
        try:
            foreign, written = write_part(write, part.document, temporary)
            os.replace(temporary, pdf)
        finally:
            temporary.unlink(missing_ok=True)
        data = {**part.measures, "foreign": list(foreign), "descriptions": written.descriptions, "subsets": written.subsets}
        write_text_atomic(measures, json.dumps(data))
        return SettledPart(part.html, data, pdf)


def complete(pdf: Path) -> bool:
    """Whether `pdf` is there and ends as a PDF does (a file cut short by a full disk or a crash
    of another tool does not)."""
    try:
        with pdf.open("rb") as handle:
            handle.seek(max(0, pdf.stat().st_size - 32))
            return b"%%EOF" in handle.read()
    except OSError:
        return False


def store_salt(root: Path, edition: Edition, digest: str) -> str:
    """What decides every part's pages besides its HTML: the layout digest (fit.layout_digest),
    the product's settings file (bleed, sizes, the output profile's name and condition), and the
    libraries that lay out and write a part."""
    settings = hashlib.sha256((root / edition.settings.file).read_bytes()).hexdigest()
    libraries = " ".join(f"{name} {version(name)}" for name in LIBRARIES)
    return f"{digest}\0{settings}\0{libraries}"


def measure(part: Part, document) -> dict:
    """What the build needs of a part's layout once its document is gone (module docstring);
    its pages numbered as in the edition's plan."""
    specs = [section.spec for section in part.sections]
    first = specs[0].first_page
    ids = {spec.id for spec in specs}
    return {"pages": len(document.pages), "first": first,
            "copy_fit": part_copy_fit(specs, document, first),
            "fills": page_fills(document, first),
            "rooms": element_rooms(document, specs, first),
            "runts": heading_runts(document, ids, first),
            "bookmarks": [[level, state] for page in document.pages for level, _, _, state in page.bookmarks],
            "anchors": sorted({name for page in document.pages for name in page.anchors})}


def write_part(write: Callable[[object, Path, tuple[str, ...]], Written], document,
               target: Path) -> tuple[tuple[str, ...], Written]:
    """Write `document` to `target` with `write(document, target, foreign)`, its links to targets
    outside it kept by stand-in anchors on its first page (module docstring); returns the
    stand-ins' names and what `write` returns (Renderer.write)."""
    own = {name for page in document.pages for name in page.anchors}
    foreign = tuple(sorted({target for page in document.pages for kind, target, _, _ in page.links
                            if kind == "internal" and target not in own}))
    anchors = document.pages[0].anchors
    for name in foreign:
        anchors[name] = (0, 0, 0, 0)
    try:
        written = write(document, target, foreign)
    finally:
        for name in foreign:
            del anchors[name]
    return foreign, written


def settle(store: PartStore, part: Part, lay_out: Callable[[str], object]) -> SettledPart:
    """The part's measures and kept PDF, recalled from `store`; or its document (laid out with
    `lay_out(html)` where lay_out_parts did not) and measures, its PDF to write (write())."""
    if part.document is None:
        kept = store.recall(part.html)
        if kept is not None:
            return kept
    document = part.document if part.document is not None else lay_out(part.html)
    return SettledPart(part.html, measure(part, document), None, document)


def write(store: PartStore, parts: list[SettledPart], write_pdf: Callable[[object, Path, tuple[str, ...]], Written]
          ) -> list[SettledPart]:
    """`parts`, each written (write_pdf(document, path, foreign): Renderer.write) and kept where
    it was laid out now."""
    return [part if part.pdf is not None else store.keep(part, write_pdf) for part in parts]


def unresolved_links(parts: list[SettledPart]) -> list[str]:
    """The targets of links that no part of the edition has an element for: each part's links to
    other parts are written with stand-ins (write_part), which would hide from WeasyPrint a
    target the whole edition lacks."""
    anchors = {name for part in parts for name in part.measures["anchors"]}
    return sorted({name for part in parts for name in part.measures["foreign"]} - anchors)


def layout_report(kept: list[SettledPart], choices: dict[str, Choice], blocks: list[tuple[str, str]]) -> dict:
    """The edition's layout report (copy-fit, budgets, fill, runts) from its parts' measures, in
    plan order; a part that starts where the plan does not (one before it ran long or short)
    has its pages numbered where it starts."""
    copy_fits, fills, rooms, runts = [], [], [], []
    start = 1
    for part in kept:
        measures = shifted(part.measures, start - part.measures["first"])
        copy_fits.append(measures["copy_fit"])
        fills += measures["fills"]
        rooms += measures["rooms"]
        runts += measures["runts"]
        start += part.measures["pages"]
    report = joined_copy_fit(copy_fits)
    report["blocks"] = block_budgets(rooms, blocks)
    report["fit"] = {section_id: choice.report() for section_id, choice in choices.items()}
    report["fill"] = fill_report(fills, report["sections"], choices)
    report["runts"] = runts
    return report


def shifted(measures: dict, by: int) -> dict:
    """`measures` with every page number moved `by` pages (the plan's numbers stay)."""
    if not by:
        return measures

    def moved(entries: list[dict]) -> list[dict]:
        return [{**entry, "page": entry["page"] + by} for entry in entries]

    copy_fit = measures["copy_fit"]
    sections = []
    for entry in copy_fit["sections"]:
        start, end = entry["pages"]
        overflow = entry["overflow"]
        sections.append({**entry, "pages": [None if start is None else start + by, None if end is None else end + by],
                         "overflow": overflow and {**overflow, "pages": [page + by for page in overflow["pages"]]}})
    return {**measures, "copy_fit": {**copy_fit, "pages": copy_fit["pages"] + by, "sections": sections,
                                     "frames": moved(copy_fit["frames"]), "sideways": moved(copy_fit["sideways"])},
            "fills": moved(measures["fills"]), "rooms": moved(measures["rooms"]), "runts": moved(measures["runts"])}


def prune(directory: Path) -> None:
    """Remove the least recently used kept parts beyond the cache's limits."""
    prune_least_recent(directory, keep=MAX_CACHE_ENTRIES, max_bytes=MAX_CACHE_BYTES)


def page_total(kept: list[SettledPart]) -> int:
    return sum(part.measures["pages"] for part in kept)

