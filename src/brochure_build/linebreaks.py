"""Line-breaking memo for the preview's warm WeasyPrint: the same line is broken once per render.

Column balancing (`column-fill: balance`) lays the text of a `.text-columns` block out again for
every column height it tries, and WeasyPrint breaks each line anew with Pango each time: three
in four calls of its `split_first_line` repeat an earlier one exactly (same text, same computed
style, same width). Within one render the answer is a pure function of those arguments, so
`memo()` answers repeats from a dictionary; en, fr, es, ru, ar lay out about twice as fast.

The dictionary lives for one render only: the computed styles (keyed by identity, and kept alive
so no identity is reused) belong to that document. The Pango layout handed back is shared by the
boxes of the repeats; WeasyPrint only reads it after layout (drawing re-activates it, draws,
deactivates it), so sharing does not change what is drawn: tests/test_serve.py compares the
preview's pages with the screen PDF of `brochure build`, pixel for pixel.

Patches WeasyPrint 70 (pinned in pyproject.toml): `split_first_line` as imported by
weasyprint.layout.inline (inline layout) and weasyprint.layout.preferred (min/max-content widths).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def memo() -> Iterator[dict]:
    """Within the block, repeated line breaks are answered from memory; yields the memo (for counting)."""
    from weasyprint.layout import inline, preferred

    original = inline.split_first_line
    answers: dict = {}

    def split_first_line(text, style, context, max_width, justification_spacing, is_line_start=True, minimum=False):
        key = (text, id(style), max_width, justification_spacing, is_line_start, minimum)
        answer = answers.get(key)
        if answer is None:
            answer = answers[key] = (style, original(text, style, context, max_width, justification_spacing,
                                                     is_line_start, minimum))
        return answer[1]

    inline.split_first_line = preferred.split_first_line = split_first_line
    try:
        yield answers
    finally:
        inline.split_first_line = preferred.split_first_line = original
