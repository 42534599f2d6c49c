"""Checks a rendered edition against the page plan: page count, and each section on its pages."""

from __future__ import annotations

from collections.abc import Sequence

from brochure_build.model import Edition, SectionSpec


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
            onto = ", ".join(map(str, overflow["pages"]))
            problems.append(f"{context}: section {entry['id']!r} does not fit {planned}: {overflow['lines']} lines "
                            f"({overflow['mm']} mm) run onto page {onto}; shorten the text or set a smaller type "
                            "step in layouts/css/languages.css (the sections after it move with it)")
        elif end is not None and end - start < last - first:
            taken = end - start + 1
            problems.append(f"{context}: section {entry['id']!r} is planned on {planned} but ends on page {end}, "
                            f"{last - first + 1 - taken} page{'s' if last - first + 1 - taken > 1 else ''} early, so "
                            f"every section after it starts early; give it {planned_pages(first, first + taken - 1)} "
                            "in the plan, fill its pages, or let it flow (pages: auto)")
    for frame in report["frames"]:
        problems.append(f"{context}: section {frame['section']!r}: text overflows {frame['frame']} on page {frame['page']} "
                        f"by {frame['mm']} mm ({frame['lines']} lines)")
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
        entry = {"id": spec.id, "planned": [spec.first_page, spec.last_page], "pages": [start, end], "overflow": None,
                 "flows": spec.flows}
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
    return {"pages": total, "sections": sections, "frames": frame_overflows(document, section_ids, offset)}


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
