"""Checks a rendered edition against the page plan: page count, and each section on its pages."""

from __future__ import annotations

from brochure_build.model import Edition


def section_start_pages(document) -> dict[str, int]:
    """First page (1-based) of every element id, from WeasyPrint's public `page.anchors`."""
    starts: dict[str, int] = {}
    for number, page in enumerate(document.pages, 1):
        for anchor in page.anchors:
            starts.setdefault(anchor, number)
    return starts


def plan_problems(edition: Edition, document, context: str) -> list[str]:
    """Every way the laid-out pages differ from the plan, as messages that name the section.

    A section that runs longer than its planned pages is named as the cause; the sections it
    pushes later are not reported again.
    """
    problems = []
    starts = section_start_pages(document)
    specs = [section.spec for section in edition.sections]
    total = len(document.pages)
    for index, spec in enumerate(specs):
        start = starts.get(spec.id)
        if start is None:
            problems.append(f"{context}: section {spec.id!r} is missing from the pages")
            continue
        end = (starts.get(specs[index + 1].id, total + 1) - 1) if index + 1 < len(specs) else total
        taken = end - start + 1
        if taken > spec.page_count:
            planned = f"page {spec.first_page}" if spec.page_count == 1 else f"pages {spec.first_page}-{spec.last_page}"
            problems.append(f"{context}: section {spec.id!r} does not fit: it takes {taken} pages, the plan gives it "
                            f"{spec.page_count} ({planned}); shorten the text or set a smaller type step in layouts/css/languages.css")
    if not problems:
        for spec in specs:
            if starts.get(spec.id, spec.first_page) != spec.first_page:
                problems.append(f"{context}: section {spec.id!r} starts on page {starts[spec.id]}, the plan says {spec.first_page}")
        if total != edition.settings.page_count:
            problems.append(f"{context}: {total} pages, the plan has {edition.settings.page_count}")
    return problems
