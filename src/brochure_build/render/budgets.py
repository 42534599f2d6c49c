"""Copy-fit budgets: how many characters each text block may have before its section no longer fits.

Measured on a laid-out edition (WeasyPrint's box tree, as `layoutcheck` reads it), for the
translators' files (`xliff`): a block's budget is its length now, plus what the room left around
it would take at the block's own density of characters —

- the unused end of its last line, and
- the free lines of its section: below the section's lowest line on its last planned page (in
  every column of a multi-column area), or below the lowest line of the fixed-height frame the
  block sits in.

Each block is measured as if it alone grew. Blocks are found by their text, so no template has
to mark them: a text that appears on the pages exactly as it is written in the text file (spaces,
hyphens and case aside) is measured; a label that a layout decorates (`{n}.`) is not.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import yaml

from brochure_build.render.layoutcheck import PX_TO_MM, WORD_JOINER, line_boxes
from brochure_build.source.model import Edition, SectionSpec

# Spaces, hyphenation points, dashes and the word joiners of the layouts' filters (no_runt,
# hold_ranges) differ between the text file and the laid-out lines.
# A layout may set a short label beside a text ("© " before a credit): still that text's element.
DECORATION = 3
_IGNORED = re.compile(rf"[\s\u00ad\u2010\u2011\u200b{WORD_JOINER}-]+")


def normalise(text: str) -> str:
    return _IGNORED.sub("", unicodedata.normalize("NFC", text)).casefold()


def line_text(line) -> str:
    return "".join(box.text for box in line.descendants() if hasattr(box, "text"))


def line_text_width(line) -> float:
    return sum(box.width for box in line.descendants() if hasattr(box, "text"))


@dataclass
class _Element:
    """A block-level element that holds lines, gathered over every page and column it spans."""

    page: int
    section: str | None
    lines: list
    boxes: list


def _block_elements(document, section_ids: set[str], first: int = 1) -> dict[object, _Element]:
    """Every element whose box holds line boxes directly, in document order (pages numbered from `first`)."""
    found: dict[object, _Element] = {}
    for number, page in enumerate(document.pages, first):
        stack = [(page._page_box, None)]
        while stack:
            box, section = stack.pop()
            element = getattr(box, "element", None)
            if element is not None and element.get("id") in section_ids:
                section = element.get("id")
            children = list(getattr(box, "children", []))
            lines = [child for child in children if type(child).__name__ == "LineBox"]
            if lines and element is not None:
                entry = found.setdefault(element, _Element(number, section, [], []))
                entry.lines.extend(lines)
                entry.boxes.append((number, box))
            stack.extend((child, section) for child in reversed(children) if type(child).__name__ != "LineBox")
    return found


def _fixed_frame(box, page_box):
    """The nearest ancestor of `box` on its page with a fixed height (a frame), or None."""
    path = _path_to(page_box, box)
    for ancestor in reversed(path[:-1]):
        style = getattr(ancestor, "style", None)
        if style is not None and style["height"] != "auto" and ancestor is not page_box.children[0]:
            return ancestor
    return None


def _path_to(root, target) -> list:
    stack = [(root, [root])]
    while stack:
        box, path = stack.pop()
        if box is target:
            return path
        stack.extend((child, path + [child]) for child in getattr(box, "children", []))
    return []


def _positioned(box, page_box) -> bool:
    return any(getattr(ancestor, "style", None) is not None and ancestor.style["position"] in ("absolute", "fixed")
               for ancestor in _path_to(page_box, box))


def _columns(box, page_box) -> int:
    """How many columns the area holding `box` has: WeasyPrint lays a multi-column element out
    as children boxes of the same element, one per column."""
    for ancestor in reversed(_path_to(page_box, box)[:-1]):
        element = getattr(ancestor, "element", None)
        columns = [child for child in getattr(ancestor, "children", []) if getattr(child, "element", None) is element]
        if element is not None and len(columns) > 1:
            return len(columns)
    return 1


def _lowest_line(box) -> float:
    return max((line.position_y + line.height for line in line_boxes(box)), default=box.content_box_y())


def _free_height(document, spec: SectionSpec, first: int = 1) -> float:
    """Free height below the section's lowest line on its last planned page (px); the document's
    pages numbered from `first`."""
    if not 0 <= spec.last_page - first < len(document.pages):
        return 0.0
    page_box = document.pages[spec.last_page - first]._page_box
    bottom = page_box.content_box_y() + page_box.height
    lowest = None
    for box in page_box.descendants():
        element = getattr(box, "element", None)
        if element is not None and element.get("id") == spec.id:
            lowest = max(lowest or 0.0, _lowest_line(box))
    return max(0.0, bottom - lowest) if lowest is not None else 0.0


def text_blocks(edition: Edition) -> list[tuple[str, str]]:
    """(key, text) of every text block of the edition's text file (its fingerprints aside)."""
    from brochure_build.source.translations import leaves

    data = yaml.safe_load(edition.text_file.read_text(encoding="utf-8")) if edition.text_file else None
    return [(key, str(text)) for key, text in leaves(data or {})]


def measure_blocks(document, specs: Iterable[SectionSpec], blocks: Iterable[tuple[str, str]]) -> dict[str, dict]:
    """The budget of every block of `blocks` ((key, text) pairs) found on the pages of `document`.

    Returns {key: {page, pages, section, chars, lines, budget, free_mm}} (`page`, `section`: where the
    budget is tightest; `pages`: every page showing the text); blocks not found are absent.
    """
    return block_budgets(element_rooms(document, specs), blocks)


def element_rooms(document, specs: Iterable[SectionSpec], first: int = 1) -> list[dict]:
    """What decides the budget of each text element on the pages of `document` (numbered from
    `first`), whatever text it is matched with: its laid-out text (normalised), where it is, the
    width its lines' text takes and the room around it (px of line, at its measure). JSON: the
    build keeps it with each part of an edition laid out on its own (units.py) and measures the
    budgets of the whole edition from the parts' rooms (block_budgets)."""
    specs = {spec.id: spec for spec in specs}
    elements = _block_elements(document, set(specs), first)
    free_cache: dict[str, float] = {}
    rooms = []
    for element in elements.values():
        text = normalise("".join(line_text(line) for line in element.lines))
        if text:
            rooms.append({"text": text, **_room(document, element, specs, first, free_cache)})
    return rooms


def block_budgets(rooms: Iterable[dict], blocks: Iterable[tuple[str, str]]) -> dict[str, dict]:
    """measure_blocks, from the elements' rooms (element_rooms) of every page."""
    by_text: dict[str, list[dict]] = {}
    for room in rooms:
        by_text.setdefault(room["text"], []).append(room)
    measured: dict[str, dict] = {}
    for key, text in blocks:
        wanted = normalise(str(text))
        matches = by_text.get(wanted) or [room for shown, found in by_text.items() for room in found
                                          if wanted and wanted in shown and len(shown) - len(wanted) <= DECORATION]
        if not matches:
            continue
        budgets = [_budget(room, len(str(text))) for room in matches]
        tightest = min(budgets, key=lambda entry: entry["budget"])  # a text shown twice must fit in both places
        measured[key] = {**tightest, "pages": sorted({entry["page"] for entry in budgets})}
    return measured


def _budget(room: dict, chars: int) -> dict:
    """The budget of a text of `chars` characters set in the element `room` describes: its length,
    plus what the room around it takes at the element's density of characters."""
    density = chars / room["written"]  # characters per px of line, as this block is set
    budget = int(chars + density * room["room"])
    return {"page": room["page"], "section": room["section"], "chars": chars, "lines": room["lines"],
            "budget": max(budget, chars), "free_mm": room["free_mm"]}


def _room(document, element: _Element, specs: dict[str, SectionSpec], first: int, free_cache: dict[str, float]) -> dict:
    page_number, box = element.boxes[-1]
    page_box = document.pages[page_number - first]._page_box
    lines = element.lines
    written = sum(line_text_width(line) for line in lines) or 1.0
    measure = max(line.width for line in lines)
    positioned = _positioned(box, page_box)
    if positioned:  # its lines are as wide as its text (shrink-to-fit): it may widen up to the page's measure
        measure = max(measure, page_box.width)
    slack = max(0.0, measure - line_text_width(lines[-1]))
    line_height = max(line.height for line in lines) or 1.0
    frame = _fixed_frame(box, page_box)
    if positioned:  # laid over the page: growing pushes nothing, so it has no room to grow into
        free, columns = 0.0, 1
    elif frame is not None:
        free = max(0.0, frame.content_box_y() + frame.height - _lowest_line(frame))
        columns = 1
    elif element.section in specs:
        spec = specs[element.section]
        if spec.id not in free_cache:
            free_cache[spec.id] = _free_height(document, spec, first)
        free = free_cache[spec.id]
        columns = _columns(box, page_box)
    else:
        free, columns = 0.0, 1
    free_lines = int(free // line_height) * columns
    return {"page": element.page, "section": element.section, "lines": len(lines), "written": written,
            "room": slack + free_lines * measure, "free_mm": round(free * PX_TO_MM, 1)}
