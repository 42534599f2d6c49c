"""Column-balancing memo: the tries WeasyPrint makes to balance a `.text-columns` block, answered
from earlier tries where the answer is known to be the same.

WeasyPrint 70 balances columns (`column-fill: balance`, layout/column.py) by laying the columns
out at one height after another, from the mean of the column heights upwards, by the least height
one more block needed so far or by 1 px, until everything fits; after each column it also lays
the rest out at an unlimited height to measure the next block. A page of two columns can take
10–20 tries, each laying every column out again, although from one try to the next most columns come
out the same: in a profile of a CSS save in the preview, balancing was 1.1 s of 1.5 s of layout.

A column's layout depends on the height it may take through where it breaks, and sometimes
beyond (a block's height can follow the room left). The break is monotonic in the height: more
room never holds less. So when a column, from the same place, came out the same box for box at
a lower height and at a higher one, it comes out so at every height between, and the try is
answered with the lower one's layout. The measure at an unlimited height is answered the same way.
When a column has been laid out below the height asked only, the memo probes PROBE_PX higher:
one layout that, if it comes out the same, answers the tries up to it; a column whose probe
missed is not probed again. Which heights WeasyPrint tries, and when it stops, stays WeasyPrint's,
so the pages are those it makes without the memo: tests/test_renders.py compares them, and with
`CHECK = True` every answer is laid out again and compared (debugging).

Not answered from the memo: a column whose layout left a trace in the layout context (a float, a
footnote, a running element, a string set, a forced break: `context_state`), and the final layout
at the chosen height. A probe leaves the context as it found it (`restored`). The memo lives for
one columns_layout call: the boxes it holds are that call's.

Patches WeasyPrint 70 (pinned in pyproject.toml) during `active()` only, which Renderer.render
wraps around every layout: `block_box_layout` and `columns_layout` as looked up in
weasyprint.layout.block (column.py imports them from there at each call).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

PROBE_PX = 12.0  # about a line of body text: a break that holds this much higher saves the tries up to there
CHECK = False    # lay out every answer from the memo again and compare: for debugging the memo
# Since the process started, what tests and profiles read: tries at a height (tries) and how many
# of them the memo answered (answered), probes made, and measures at an unlimited height answered.
counts = {"tries": 0, "answered": 0, "probes": 0, "measures answered": 0}


@dataclass
class Try:
    """A column laid out at a height: the bottom it was allowed to reach, what came out, the layout."""

    limit: float                # the y the column could reach (page_bottom − bottom_space)
    page_is_empty: bool         # WeasyPrint's flag: the first try places content even where it does not fit
    shape: int                  # a digest of where it broke and of every box it placed (geometry)
    result: tuple


class Trials:
    """The tries of one columns_layout call, by column box and where the column starts."""

    def __init__(self) -> None:
        self.tries: dict[tuple, list[Try]] = {}
        self.traced: set[tuple] = set()    # columns a layout of which left a trace in the context (context_state)
        self.unprobed: set[tuple] = set()  # columns a probe did not answer for: their layout follows the height

    def known(self, key: tuple, limit: float, page_is_empty: bool) -> Try | None:
        """The try that answers `limit`: one at or below it with the same flag, and one at or
        above it (the same flag, or the first try's, which places at least as much) that came out
        the same, box for box."""
        below = above = None
        for found in self.tries.get(key, ()):
            if found.limit <= limit and found.page_is_empty == page_is_empty and (below is None or found.limit > below.limit):
                below = found
            if found.limit >= limit and (found.page_is_empty == page_is_empty or found.page_is_empty) and (
                    above is None or found.limit < above.limit):
                above = found
        if below is not None and above is not None and below.shape == above.shape:
            return below
        return None

    def lower(self, key: tuple, limit: float, page_is_empty: bool) -> Try | None:
        """The highest try below `limit` with the same flag, if any."""
        tries = [found for found in self.tries.get(key, ()) if found.limit < limit and found.page_is_empty == page_is_empty]
        return max(tries, key=lambda found: found.limit, default=None)


def context_state(context) -> tuple:
    """What a layout may leave in WeasyPrint's layout context besides the boxes it returns."""
    return (len(context.excluded_shapes), len(context.current_page_footnotes), len(context.reported_footnotes),
            len(context.broken_out_of_flow), context.forced_break,
            sum(len(values) for names in context.string_set.values() for values in names.values()),
            sum(len(values) for names in context.running_elements.values() for values in names.values()))


@contextmanager
def restored(context) -> Iterator[None]:
    """Leave WeasyPrint's layout context as it was before the block (context_state): for a probe,
    a layout WeasyPrint would not have made."""
    shapes = len(context.excluded_shapes)
    footnotes, reported = list(context.current_page_footnotes), list(context.reported_footnotes)
    broken, forced = dict(context.broken_out_of_flow), context.forced_break
    strings = {(name, key): len(values) for name, names in context.string_set.items() for key, values in names.items()}
    running = {(name, key): len(values) for name, names in context.running_elements.items() for key, values in names.items()}
    try:
        yield
    finally:
        del context.excluded_shapes[shapes:]
        context.current_page_footnotes[:] = footnotes
        context.reported_footnotes[:] = reported
        context.broken_out_of_flow.clear()
        context.broken_out_of_flow.update(broken)
        context.forced_break = forced
        for table, lengths in ((context.string_set, strings), (context.running_elements, running)):
            for name, names in table.items():
                for key, values in names.items():
                    del values[lengths.get((name, key), 0):]


def geometry(result: tuple) -> list:
    """Where a column broke and every box of its layout, placed and sized."""
    found = [repr(result[1]), result[2]]

    def walk(box) -> None:
        found.append((type(box).__name__, box.position_x, box.position_y, box.width, box.height,
                      getattr(box, "text", None)))
        for child in getattr(box, "children", ()):
            walk(child)

    walk(result[0])
    return found


@contextmanager
def active() -> Iterator[None]:
    """Within the block, WeasyPrint's column balancing goes through the memo."""
    from weasyprint.layout import block

    original_block = block.block_box_layout
    original_columns = block.columns_layout
    state = {"trials": None, "inside": False}

    def lay_out(context, box, bottom_space, skip_stack, containing_block, page_is_empty, *rest, **options):
        state["inside"] = True
        try:
            return original_block(context, box, bottom_space, skip_stack, containing_block, page_is_empty, *rest, **options)
        finally:
            state["inside"] = False

    def block_box_layout(context, box, bottom_space, skip_stack, containing_block, page_is_empty, absolute_boxes,
                         fixed_boxes, adjoining_margins, *rest, **options):
        trials = state["trials"]
        # A try of columns_layout's loop: called on its column box with fresh lists; the final
        # layout passes the real lists and no margins, and nested blocks are called from within.
        if trials is None or state["inside"] or adjoining_margins != [] or absolute_boxes != [] or fixed_boxes != []:
            return original_block(context, box, bottom_space, skip_stack, containing_block, page_is_empty,
                                  absolute_boxes, fixed_boxes, adjoining_margins, *rest, **options)
        key = (id(box), repr(skip_stack), id(containing_block))
        limit = math.inf if bottom_space == math.inf else context.page_bottom - bottom_space

        def fresh(at: float, flag: bool) -> tuple:
            before = context_state(context)
            space = math.inf if at == math.inf else context.page_bottom - at
            result = lay_out(context, box, space, skip_stack, containing_block, flag, [], [], [], *rest, **options)
            if result[0] is None or context_state(context) != before:
                trials.traced.add(key)  # never answered from the memo, never probed
            elif key not in trials.traced:
                trials.tries.setdefault(key, []).append(Try(at, flag, hash(repr(geometry(result))), result))
            return result

        counts["tries"] += limit != math.inf
        answer = None if key in trials.traced else trials.known(key, limit, page_is_empty)
        if answer is None and limit != math.inf and key not in trials.traced | trials.unprobed:
            if trials.lower(key, limit, page_is_empty) is not None:
                counts["probes"] += 1
                with restored(context):
                    fresh(limit + PROBE_PX, page_is_empty)  # one layout that may answer this try and the next ones
                answer = None if key in trials.traced else trials.known(key, limit, page_is_empty)
                if answer is None:
                    trials.unprobed.add(key)
        if answer is None:
            return fresh(limit, page_is_empty)
        counts["answered" if limit != math.inf else "measures answered"] += 1
        if CHECK:
            again = lay_out(context, box, bottom_space, skip_stack, containing_block, page_is_empty, [], [], [], *rest, **options)
            if geometry(again) != geometry(answer.result):
                raise AssertionError(f"column memo: the try at y = {limit} differs from the one at {answer.limit} it was answered with")
        return answer.result

    def columns_layout(*arguments, **options):
        saved = state["trials"], state["inside"]
        state["trials"], state["inside"] = Trials(), False
        try:
            return original_columns(*arguments, **options)
        finally:
            state["trials"], state["inside"] = saved

    block.block_box_layout = block_box_layout
    block.columns_layout = columns_layout
    try:
        yield
    finally:
        block.block_box_layout = original_block
        block.columns_layout = original_columns
