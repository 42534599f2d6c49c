"""Join stage (pikepdf): an edition's parts, each written as a PDF of its own (render/units.py),
made into one file as WeasyPrint would have written the whole.

- the pages, in order;
- the structure tree (screen): each part's Document element's kids under the first part's, the
  parent tree's keys (pages' /StructParents, annotations' /StructParent) moved past those of the
  parts before;
- the named destinations of every part in one name tree, sorted, without the stand-ins a part
  made for targets in other parts;
- the bookmarks, nested across the parts by their levels (a part's second-level bookmark may
  belong under the last part's first-level one);
- a link to another part's destination described, as tagging.repair_links describes any link,
  by the heading it leads to.

- one font program per face: the parts' subsets united into the subset WeasyPrint embeds when
  it writes the whole (unite_subsets).

The first part's catalogue (language, metadata, output intent, viewer preferences) is the
file's; the postprocess stage finishes it as it finishes a file written whole. Each part keeps
its own font dictionaries (widths, ToUnicode), which makes a joined file 1-7 % larger than one
written whole.
"""

from __future__ import annotations

import hashlib
import shutil
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf

from brochure_build.press.tagging import named_destinations
from brochure_build.render.fontsubsets import FONT_PROGRAMS


@dataclass(frozen=True)
class JoinedPart:
    pdf: Path
    foreign: tuple[str, ...] = ()  # stand-in destinations for targets in other parts
    bookmarks: tuple[tuple[int, str], ...] = ()  # (level, "open" or "closed") of each bookmark, in order
    descriptions: dict[str, str] = field(default_factory=dict)  # own destination -> how a link to it is described
    subsets: dict[str, list] = field(default_factory=dict)  # sha256 of a font program -> [face, index, glyphs, hinting, missing]


# fontsubsets.SubsetCache.united, the face given by its hash; None when that font file is not found
Unite = Callable[[str, int, list[int], bool, bool], "bytes | None"]


def join(parts: Sequence[JoinedPart], target: Path, unite: Unite | None = None) -> None:
    """Write the parts' PDFs, in order, as one file at `target`; with `unite`, the parts' subsets
    of each font made one (unite_subsets)."""
    if len(parts) == 1 and not parts[0].foreign:
        shutil.copyfile(parts[0].pdf, target)
        return
    whole = pikepdf.open(parts[0].pdf)
    sources = [whole]
    try:
        destinations: dict[str, object] = {}
        outline: list[tuple[object, object]] = []  # (title, destination) of every bookmark, in order
        links: list[tuple[object, str]] = []  # annotations leading to another part's destination
        tree = Structure(whole)
        for number, part in enumerate(parts):
            pdf = whole if number == 0 else pikepdf.open(part.pdf)
            if number:
                sources.append(pdf)
            copy = (lambda value: value) if pdf is whole else (lambda value, pdf=pdf: foreign_copy(whole, value))
            first_page = len(whole.pages) if number else 0
            if number:
                with warnings.catch_warnings():  # that named destinations are not copied: they are, below
                    warnings.simplefilter("ignore", getattr(pikepdf, "PageCopyWarning", Warning))
                    whole.pages.extend(pdf.pages)
            pages = list(whole.pages)[first_page:]
            if number:
                tree.add(pdf, pages, copy)
            for name, value in named_destinations(pdf).items():
                if name not in part.foreign:
                    destinations.setdefault(name, copy(value))
            outline += [(title, copy(destination)) for title, destination in outline_items(pdf)]
            for page in pages:
                for annotation in page.obj.get("/Annots", ()):
                    name = annotation.get("/Dest")
                    if isinstance(name, pikepdf.String) and str(name) in part.foreign:
                        links.append((annotation, str(name)))
        descriptions = {name: text for part in parts for name, text in part.descriptions.items() if name not in part.foreign}
        for annotation, name in links:
            if descriptions.get(name):
                annotation.Contents = pikepdf.String(descriptions[name])
        set_destinations(whole, destinations)
        set_outline(whole, outline, [bookmark for part in parts for bookmark in part.bookmarks])
        if unite is not None:
            unite_subsets(whole, {key: made for part in parts for key, made in part.subsets.items()}, unite)
        whole.save(target, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.preserve,
                   deterministic_id=True)
    finally:
        for pdf in sources:
            pdf.close()


def foreign_copy(whole: pikepdf.Pdf, value):
    """`value` of another file, for `whole`: indirect objects copied (once: qpdf remembers what it
    copied from each file, pages included), direct arrays and dictionaries rebuilt around them."""
    if isinstance(value, pikepdf.Object) and value.is_indirect:
        return whole.copy_foreign(value)
    if isinstance(value, pikepdf.Array):
        return pikepdf.Array([foreign_copy(whole, item) for item in value])
    if isinstance(value, pikepdf.Dictionary):
        return pikepdf.Dictionary({key: foreign_copy(whole, item) for key, item in value.items()})
    return value


class Structure:
    """The first part's structure tree, to which the others' are added."""

    def __init__(self, whole: pikepdf.Pdf):
        self.root = whole.Root.get("/StructTreeRoot")
        if self.root is None:
            return
        self.document = self.root.K[0] if isinstance(self.root.K, pikepdf.Array) else self.root.K
        self.numbers = list(self.root.ParentTree.Nums)
        self.next_key = int(self.root.get("/ParentTreeNextKey", 0))

    def add(self, pdf: pikepdf.Pdf, pages: list, copy) -> None:
        """Add the structure of `pdf`, whose pages are `pages` of the whole now."""
        source = pdf.Root.get("/StructTreeRoot")
        if self.root is None or source is None:
            return
        offset = self.next_key
        for page in pages:
            if "/StructParents" in page.obj:
                page.obj.StructParents = int(page.obj.StructParents) + offset
            for annotation in page.obj.get("/Annots", ()):
                if "/StructParent" in annotation:
                    annotation.StructParent = int(annotation.StructParent) + offset
        document = source.K[0] if isinstance(source.K, pikepdf.Array) else source.K
        kids = document.K if isinstance(document.K, pikepdf.Array) else [document.K]
        for kid in kids:
            kid = copy(kid)
            if isinstance(kid, pikepdf.Dictionary):
                kid.P = self.document
            self.document.K.append(kid)
        numbers = source.ParentTree.Nums
        for index in range(0, len(numbers), 2):
            self.numbers += [int(numbers[index]) + offset, copy(numbers[index + 1])]
        self.next_key = offset + int(source.get("/ParentTreeNextKey", 0))
        for key in ("/RoleMap", "/ClassMap"):
            if key in source:
                mapping = self.root.get(key)
                if mapping is None:
                    self.root[key] = mapping = pikepdf.Dictionary()
                for name, value in source[key].items():
                    if name not in mapping:
                        mapping[name] = copy(value)
        self.root.ParentTree.Nums = pikepdf.Array(self.numbers)
        self.root.ParentTreeNextKey = self.next_key


def set_destinations(whole: pikepdf.Pdf, destinations: dict[str, object]) -> None:
    """The named destinations as one flat name tree, sorted by name (as PDF requires)."""
    if not destinations:
        return
    names = pikepdf.Array()
    for name in sorted(destinations, key=lambda name: name.encode("utf-8")):
        names.append(pikepdf.String(name))
        names.append(destinations[name])
    if "/Names" not in whole.Root:
        whole.Root.Names = pikepdf.Dictionary()
    whole.Root.Names.Dests = whole.make_indirect(pikepdf.Dictionary(Names=names))


def outline_items(pdf: pikepdf.Pdf) -> list[tuple[object, object]]:
    """(title, destination) of every bookmark of `pdf`, in reading order (depth first)."""
    found: list[tuple[object, object]] = []

    def visit(item) -> None:
        while item is not None:
            found.append((item.get("/Title"), item.get("/Dest")))
            visit(item.get("/First"))
            item = item.get("/Next")

    outlines = pdf.Root.get("/Outlines")
    if outlines is not None:
        visit(outlines.get("/First"))
    return found


def bookmark_depths(levels: Sequence[int]) -> list[int]:
    """The depth of each bookmark in the outline from its level (bookmark-level: h1 1, h2 2, …):
    under the last one of a lower level, however many levels lie between (an h3 after an h1 is
    the h1's child)."""
    open_levels: list[int] = []
    depths = []
    for level in levels:
        while open_levels and open_levels[-1] >= level:
            open_levels.pop()
        open_levels.append(level)
        depths.append(len(open_levels))
    return depths


def set_outline(whole: pikepdf.Pdf, items: list[tuple[object, object]], bookmarks: list[tuple[int, str]]) -> None:
    """The bookmarks (`items`: title and destination; `bookmarks`: level and state of each) as the
    outline WeasyPrint writes: nested by depth, /Count the open descendants (negative for a
    closed bookmark)."""
    if "/Outlines" in whole.Root:
        del whole.Root["/Outlines"]
    if not items:
        return
    roots: list = []
    stack: list[list] = [roots]
    depths = bookmark_depths([level for level, _ in bookmarks])
    for (title, destination), depth, (_, state) in zip(items, depths, bookmarks, strict=True):
        node = (whole.make_indirect(pikepdf.Dictionary(Title=title, Dest=destination)), [], state)
        del stack[depth:]
        stack[-1].append(node)
        stack.append(node[1])
    top = whole.make_indirect(pikepdf.Dictionary())
    top.Count = link_outline(top, roots)
    whole.Root.Outlines = top


def link_outline(parent, children: list) -> int:
    """Link `children` (each (dictionary, its children, state)) under `parent`; returns how many
    of them and their open descendants show."""
    count = len(children)
    for index, (item, grandchildren, state) in enumerate(children):
        item.Parent = parent
        shown = link_outline(item, grandchildren)
        item.Count = -shown if state == "closed" else shown
        if state != "closed":
            count += shown
        if index:
            item.Prev = children[index - 1][0]
            children[index - 1][0].Next = item
    if children:
        parent.First = children[0][0]
        parent.Last = children[-1][0]
    return count


def unite_subsets(whole: pikepdf.Pdf, made: dict[str, list], unite: Unite) -> None:
    """One font program per face for all the parts: WeasyPrint subsets each font it embeds to the
    glyphs a document uses, keeping their ids (HarfBuzz's retain-gids), so each part has its own
    subset of a face, some 90 KB of a CJK face's empty glyph slots each. The subsets of one face
    (`made`: what each program was made from, by its hash) become the one subset of the glyphs of
    all: the program WeasyPrint writes into the whole edition. A program not in `made` stays."""
    descriptors: dict[tuple, list] = {}
    seen: set[tuple[int, int]] = set()
    for page in whole.pages:
        fonts = page.obj.get("/Resources", {}).get("/Font", {})
        for font in fonts.values():
            if font.objgen in seen:
                continue
            seen.add(font.objgen)
            descendant = font.DescendantFonts[0] if "/DescendantFonts" in font else font
            descriptor = descendant.get("/FontDescriptor")
            key = next((key for key in FONT_PROGRAMS if descriptor is not None and key in descriptor), None)
            if key is None:
                continue
            origin = made.get(hashlib.sha256(descriptor[key].read_bytes()).hexdigest())
            if origin is not None:
                face, index, _, hinting, missing = origin
                descriptors.setdefault((face, index, hinting, missing), []).append((descriptor, key, origin[2]))
    for (face, index, hinting, missing), found in descriptors.items():
        if len({descriptor[key].objgen for descriptor, key, _ in found}) < 2:
            continue
        glyphs = sorted({glyph for _, _, used in found for glyph in used})
        program = unite(face, index, glyphs, hinting, missing)
        if program is None:
            continue  # each part keeps its own subset
        first, key, _ = found[0]
        stream = whole.make_stream(program)
        if "/Subtype" in first[key]:
            stream.Subtype = first[key].Subtype
        if "/Length1" in first[key]:
            stream.Length1 = len(program)
        for descriptor, key, _ in found:
            descriptor[key] = stream
