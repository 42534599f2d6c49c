"""Checks a rendered edition against the page plan: page count, each section on its pages, no text
running past a frame's bottom, and no text running past the live area (the page's content box,
inside the margins) sideways: a word too long for its line runs through trim and bleed otherwise;
and no heading ending on a word alone (heading_runts, a warning in preflight).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from brochure_build.source.model import Edition, SectionSpec

# U+2060 WORD JOINER: the layouts' no_runt and hold_ranges filters (templating.py) hold words and
# ranges of numbers together with it; it is not text to read, match or count.
WORD_JOINER = "\u2060"


def section_start_pages(document) -> dict[str, int]:
    """First page (1-based) of every element id, from WeasyPrint's public `page.anchors`."""
    starts: dict[str, int] = {}
    for number, page in enumerate(document.pages, 1):
        for anchor in page.anchors:
            starts.setdefault(anchor, number)
    return starts


def planned_pages(first: int, last: int) -> str:
    return f"page {first}" if first == last else f"pages {first}-{last}"


def plan_problems(edition: Edition, report: dict, context: str) -> list[str]:
    """Every way the laid-out pages (`report`, from copy_fit) differ from the plan, as messages
    that name the section, its planned pages, where it ended and what to do.

    The cause is named, not its consequences: a section that runs past its last planned page,
    or ends before it, moves every later section; those are not reported again.
    """
    problems = []
    # The declaration to name comes from the plan (a further product's kinds live in its own layouts folder).
    declarations = {spec.id: kind.declaration for spec in edition.settings.sections
                    if (kind := edition.settings.kinds.get(spec.kind)) is not None}
    for entry in report["sections"]:
        start, end = entry["pages"]
        first, last = entry["planned"]
        planned = planned_pages(first, last)
        if start is None:
            problems.append(f"{context}: section {entry['id']!r} is missing from the pages")
        elif entry.get("flows"):
            continue
        elif entry["overflow"]:
            overflow = entry["overflow"]
            onto = page_ranges(overflow["pages"])
            problems.append(f"{context}: section {entry['id']!r} does not fit {planned}: {overflow['lines']} lines "
                            f"({overflow['mm']} mm) run onto {onto}; shorten the text, or give its kind a fit: "
                            f"with smaller steps ({declarations.get(entry['id'], 'its kind')}; the sections after it move with it)")
        elif end is not None and end - start < last - first:
            taken = end - start + 1
            problems.append(f"{context}: section {entry['id']!r} is planned on {planned} but ends on page {end}, "
                            f"{last - first + 1 - taken} page{'s' if last - first + 1 - taken > 1 else ''} early, so "
                            f"every section after it starts early; give it {planned_pages(first, first + taken - 1)} "
                            "in the plan, fill its pages, or let it flow (pages: auto)")
    grouped: dict[tuple, list[dict]] = {}
    for frame in report["frames"]:  # one line per frame, however many pages it overflows on
        grouped.setdefault((frame["section"], frame["frame"]), []).append(frame)
    for (section, name), frames in grouped.items():
        lines = sum(frame["lines"] for frame in frames)
        problems.append(f"{context}: section {section!r}: text overflows {name} on {page_ranges([f['page'] for f in frames])} "
                        f"by {max(frame['mm'] for frame in frames)} mm ({lines} lines)")
    problems += sideways_problems(edition, report.get("sideways", []), context)
    settings = edition.settings
    if not problems and settings.flows:
        if report["pages"] % 4:
            flowing = ", ".join(f"{e['id']!r} ({planned_pages(*e['pages'])})"
                                for e in report["sections"] if e.get("flows"))
            short = 4 - report["pages"] % 4
            problems.append(f"{context}: the pages come to {report['pages']}: saddle stitching needs a multiple of 4; "
                            f"the flowing sections {flowing} decide the count: add {short} page{'s' if short > 1 else ''} "
                            f"of content or remove {4 - short}, or plan fixed pages")
    elif not problems:
        for entry in report["sections"]:
            if entry["pages"][0] != entry["planned"][0]:
                problems.append(f"{context}: section {entry['id']!r} starts on page {entry['pages'][0]}, "
                                f"the plan says {entry['planned'][0]}")
        if report["pages"] != settings.page_count:
            problems.append(f"{context}: {report['pages']} pages, the plan has {settings.page_count}")
    return problems


def page_ranges(pages: Sequence[int]) -> str:
    """'page 9', 'pages 9-11', 'pages 9, 11-907': consecutive pages as a range, so a runaway text stays one short line."""
    runs: list[list[int]] = []
    for page in sorted(set(pages)):
        if runs and page == runs[-1][1] + 1:
            runs[-1][1] = page
        else:
            runs.append([page, page])
    text = ", ".join(str(first) if first == last else f"{first}-{last}" for first, last in runs)
    return f"page {text}" if len(pages) == 1 else f"pages {text}"


def edition_texts(edition: Edition) -> list[tuple[str, str]]:
    """(key path, text) of every value of an edition's text file, in file order: whatever the
    layouts' kinds declare, read from the file itself."""
    from brochure_build.render.budgets import text_blocks  # budgets reads this module's line boxes

    return [(key, text) for key, text in text_blocks(edition) if text]


def block_of(edition: Edition, fragment: str) -> str:
    """`file:line: key` of the content value a laid-out `fragment` of text comes from ('' if none does)."""
    words = " ".join(fragment.replace("\u00ad", "").replace(WORD_JOINER, "").split()).rstrip("-\u2010")  # no_runt's joiners
    key = next((key for key, text in edition_texts(edition) if words and words in " ".join(text.split())), "")
    if not key or edition.text_file is None:
        return key
    display = f"brochure/text/{edition.language.code}.yaml"
    try:
        lines = edition.text_file.read_text(encoding="utf-8").splitlines()
    except OSError:
        return f"{display}: {key}"
    number = next((number for number, line in enumerate(lines, 1) if words[:40] in line), 0)
    return f"{display}:{number}: {key}" if number else f"{display}: {key}"


def sideways_problems(edition: Edition, found: list[dict], context: str) -> list[str]:
    problems = []
    for entry in found:
        block = block_of(edition, entry["text"]) or f"section {entry['section']!r}"
        problems.append(f"{context}: {block}: text runs {entry['mm']} mm past the {entry['side']} edge of the live area "
                        f"on page {entry['page']} ({entry['element']} of section {entry['section']!r}): break the long word "
                        "(a space, a hyphen), or shorten it")
    return problems


# --- Copy-fit measures, read from WeasyPrint's box tree. `page._page_box` is private API: the
# version is pinned in pyproject.toml (weasyprint 70.x), and tests cover these measures.
PX_TO_MM = 25.4 / 96
TOLERANCE_PX = 0.5


def line_boxes(box) -> list:
    from weasyprint.formatting_structure.boxes import LineBox

    return [child for child in box.descendants() if isinstance(child, LineBox)]


def lines_by_section(page_box, section_ids: set[str]) -> dict[str, list]:
    """The line boxes of a page grouped by the section (element id) they belong to."""
    grouped: dict[str, list] = {}
    for box in page_box.children[0].descendants():
        element = getattr(box, "element", None)
        if element is not None and element.get("id") in section_ids and hasattr(box, "children"):
            grouped.setdefault(element.get("id"), []).extend(line_boxes(box))
    return grouped


def section_of(box, page_box, section_ids: set[str]) -> str | None:
    for section_id, lines in lines_by_section(page_box, section_ids).items():
        if any(line in lines for line in line_boxes(box)) or box.element is not None and box.element.get("id") == section_id:
            return section_id
    return None


def section_containing(target, page_box, section_ids: set[str]) -> str | None:
    """The section (element id) whose box holds `target` on this page."""
    for box in page_box.children[0].descendants():
        element = getattr(box, "element", None)
        if element is not None and element.get("id") in section_ids and hasattr(box, "children") and \
                any(child is target for child in box.descendants()):
            return element.get("id")
    return None


def describe_element(element) -> str:
    if element is None:
        return "?"
    classes = element.get("class", "").split()
    return f"{element.tag}.{classes[0]}" if classes else element.tag


def copy_fit(edition: Edition, document) -> dict:
    """Where each section sits and how much overflows: extra pages (lines and mm of text on them)
    and fixed-height frames whose text runs past their bottom edge."""
    return part_copy_fit(tuple(section.spec for section in edition.sections), document)


def part_copy_fit(specs: Sequence[SectionSpec], document, first_page: int = 1) -> dict:
    """copy_fit of a document that holds the sections `specs` only, its first page numbered
    `first_page` (the preview lays an edition out in parts); pages are given by that number."""
    offset = first_page - 1
    section_ids = {spec.id for spec in specs}
    starts = {anchor: number + offset for anchor, number in section_start_pages(document).items()}
    total = len(document.pages) + offset
    sections = []
    for index, spec in enumerate(specs):
        start = starts.get(spec.id)
        end = None
        if start is not None:
            end = total
            if index + 1 < len(specs):
                following = specs[index + 1]
                # A section sharing a page starts on the page this one ends on.
                end = starts.get(following.id, total + 1) - (0 if following.shares_page else 1)
        entry = {"id": spec.id, "kind": spec.kind, "planned": [spec.first_page, spec.last_page], "pages": [start, end],
                 "overflow": None, "flows": spec.flows}
        if start is not None and not spec.flows and end - start + 1 > spec.page_count:
            extra_pages = list(range(start + spec.page_count, end + 1))
            lines = 0
            height = 0.0
            for number in extra_pages:
                page_box = document.pages[number - 1 - offset]._page_box
                boxes = lines_by_section(page_box, section_ids).get(spec.id, [])
                lines += len(boxes)
                if boxes:
                    height += max(b.position_y + b.height for b in boxes) - page_box.content_box_y()
            entry["overflow"] = {"pages": extra_pages, "lines": lines, "mm": round(height * PX_TO_MM, 1)}
        sections.append(entry)
    return {"pages": total, "sections": sections, "frames": frame_overflows(document, section_ids, offset),
            "sideways": sideways_overflows(document, section_ids, offset)}


def joined_copy_fit(reports: Sequence[dict]) -> dict:
    """The copy-fit report of a whole edition, from those of its parts in order (part_copy_fit,
    each numbered from the page the part starts on)."""
    return {"pages": reports[-1]["pages"], "sections": [entry for report in reports for entry in report["sections"]],
            "frames": [entry for report in reports for entry in report["frames"]],
            "sideways": [entry for report in reports for entry in report["sideways"]]}


def sideways_overflows(document, section_ids: set[str], offset: int = 0) -> list[dict]:
    """Text that runs past the left or right edge of the live area (the page's content box), per page
    and block: the worst of each block, with the start of its text to name it by."""
    from weasyprint.formatting_structure.boxes import TextBox

    found: dict[tuple[int, int], dict] = {}
    for number, page in enumerate(document.pages, 1 + offset):
        page_box = page._page_box
        left = page_box.content_box_x()
        right = left + page_box.width
        for box in page_box.children[0].descendants():
            if not isinstance(box, TextBox) or not box.text.strip():
                continue
            past = {"right": box.position_x + box.width - right, "left": left - box.position_x}
            side = max(past, key=past.get)
            if past[side] <= TOLERANCE_PX:
                continue
            key = (number, id(box.element))
            mm = round(past[side] * PX_TO_MM, 1)
            if key not in found:
                found[key] = {"page": number, "side": side, "mm": mm, "text": box.text.strip()[:80],
                              "element": describe_element(box.element), "section": section_containing(box, page_box, section_ids)}
            elif found[key]["mm"] < mm:
                found[key].update(side=side, mm=mm)
    return list(found.values())


def frame_overflows(document, section_ids: set[str], offset: int = 0) -> list[dict]:
    """Boxes of fixed height (or the page's own content area) whose lines run past the bottom."""
    found = []
    for number, page in enumerate(document.pages, 1 + offset):
        page_box = page._page_box
        frames = [(page_box.children[0], page_box.content_box_y() + page_box.height, "the page area")]
        for box in page_box.children[0].descendants():
            if getattr(box, "style", None) is not None and box.style["height"] != "auto" and hasattr(box, "children"):
                frames.append((box, box.content_box_y() + box.height, describe_element(box.element)))
        for box, bottom, name in frames:
            lines = [line for line in line_boxes(box) if line.position_y + line.height > bottom + TOLERANCE_PX]
            # A page-filling frame (a cover, a divider) reaches into the bleed on purpose; only text counts.
            lines = [line for line in lines if line.children and any(getattr(c, "text", "").strip() or c.children
                                                                     for c in line.children)]
            if lines:
                overflow = max(line.position_y + line.height for line in lines) - bottom
                found.append({"page": number, "frame": name, "section": section_of(box, page_box, section_ids),
                              "lines": len(lines), "mm": round(overflow * PX_TO_MM, 1)})
    return found


HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def heading_runts(document, section_ids: set[str], first: int = 1) -> list[dict]:
    """Headings set on two lines or more whose last line holds a single word (where words are not
    spaced, as in Chinese: a single character): a runt under a heading looks like a slip. Per
    heading: its page (the document's pages numbered from `first`), section, text and last line."""
    from weasyprint.formatting_structure.boxes import TextBox

    found = []
    for number, page in enumerate(document.pages, first):
        page_box = page._page_box
        seen = set()
        for box in page_box.children[0].descendants():  # a heading's own box before the boxes inside it
            element = getattr(box, "element", None)
            if element is None or element.tag not in HEADINGS or id(element) in seen or not hasattr(box, "children"):
                continue
            seen.add(id(element))
            lines = ["".join(child.text for child in line.descendants() if isinstance(child, TextBox)).replace(WORD_JOINER, "").strip()
                     for line in own_line_boxes(box)]  # without no_runt's invisible joiners
            lines = [line for line in lines if line]
            spaced = any(" " in line or "\u00a0" in line for line in lines)
            if len(lines) < 2 or not is_runt(lines[-1], spaced):
                continue
            found.append({"page": number, "section": section_containing(box, page_box, section_ids),
                          "heading": (" " if spaced else "").join(lines), "last_line": lines[-1]})
    return found


def own_line_boxes(box) -> list:
    """The lines `box` sets, not those inside an inline-block on them (a heading's number set in
    a box of its own is part of the heading's first line, not a line after it)."""
    from weasyprint.formatting_structure.boxes import InlineBlockBox, LineBox

    found = []
    for child in getattr(box, "children", ()):
        if isinstance(child, LineBox):
            found.append(child)
        elif not isinstance(child, InlineBlockBox):
            found.extend(own_line_boxes(child))
    return found


def is_runt(line: str, spaced: bool) -> bool:
    """Whether `line`, the last of a heading, is a runt: one word, or, in a heading whose words are
    not spaced, one character besides punctuation."""
    if spaced:
        return len(line.replace("\u00a0", " ").split()) == 1
    return sum(1 for char in line if not unicodedata.category(char).startswith("P")) <= 1
