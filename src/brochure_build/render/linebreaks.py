"""Line-breaking memo for the preview's warm WeasyPrint: a line is broken once, not on every render
and not on every try of column balancing.

Column balancing (`column-fill: balance`) lays the text of a `.text-columns` block out again for
every column height it tries, and WeasyPrint breaks each line anew with Pango each time: three in
four calls of its `split_first_line` repeat an earlier one exactly. And a save in the designer's
loop mostly changes colours, so the next render breaks the same lines again. The answer depends
only on the text, the width, and the computed properties that line breaking and Pango read
(TEXT_PROPERTIES: font, size, language, spacing, hyphenation, wrapping, direction) with the font
faces the document declares; `LineBreaks` answers repeats from a dictionary keyed on exactly
those. A change of any of those properties makes new keys; a change of the @font-face rules
empties the dictionary (the font configuration is then not the one the answers were made with).

What is remembered is the answer as WeasyPrint returned it, the Pango layout as a copy of its
plain attributes (it comes back deactivated: text, direction, spacing, no Pango object); every
call gets a layout of its own made from that copy. Drawing changes a layout it draws (its text
and direction: an Arabic space drawn keeps direction 0), so handing out the object itself would
let one render's drawing leak into the next one's layout. tests/test_serve.py compares the
preview's pages with the screen PDF of `brochure build`, pixel for pixel, on a first and a
repeated render of every edition.

Patches WeasyPrint 70 (pinned in pyproject.toml) during `render()` only: `split_first_line` as
imported by weasyprint.layout.inline (inline layout) and weasyprint.layout.preferred (min- and
max-content widths). One renderer thread uses it at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

# Every computed property WeasyPrint 70's text/line_break.py and text/fonts.py read when breaking
# a line (split_first_line, Layout, get_font_description, font_features).
TEXT_PROPERTIES = (
    "white_space", "font_size", "hyphens", "lang", "hyphenate_limit_chars", "hyphenate_limit_zone",
    "hyphenate_character", "overflow_wrap", "word_break", "letter_spacing", "word_spacing", "tab_size",
    "direction", "font_language_override", "font_family", "font_style", "font_stretch", "font_weight",
    "font_variation_settings", "text_decoration_line", "font_kerning", "font_variant_ligatures",
    "font_variant_position", "font_variant_caps", "font_variant_numeric", "font_variant_alternates",
    "font_variant_east_asian", "font_feature_settings",
)
MAX_ANSWERS = 50_000  # a dozen editions' worth of lines; beyond that, start again


class LineBreaks:
    """Line breaks remembered for the life of one font configuration (one warm renderer)."""

    def __init__(self, font_config) -> None:
        self.font_config = font_config
        self.answers: dict[tuple, tuple] = {}
        self.faces: set[str] = set()       # the @font-face rules the answers were made with
        self.calls = 0                     # split_first_line calls during the last render
        self.broken = 0                    # of which WeasyPrint had to break anew

    @contextmanager
    def render(self) -> Iterator[None]:
        """Within the block, WeasyPrint's line breaking goes through the memo."""
        from weasyprint.layout import inline, preferred
        from weasyprint.text.line_break import Layout

        original = inline.split_first_line
        font_config = self.font_config
        add_font_face = font_config.add_font_face
        faces: set[str] = set()
        styles: dict[int, tuple] = {}  # id(style) → (style, key); the style kept so its id is not reused
        checked = False
        self.calls = self.broken = 0

        def record_font_face(rule_descriptors, url_fetcher):
            faces.add(str(rule_descriptors))  # WeasyPrint's own key for a face (FontConfiguration.add_font_face)
            return add_font_face(rule_descriptors, url_fetcher)

        def split_first_line(text, style, context, max_width, justification_spacing, is_line_start=True, minimum=False):
            nonlocal checked
            if not checked:  # the stylesheets, @font-face included, are read before layout starts
                checked = True
                if faces != self.faces or len(self.answers) > MAX_ANSWERS:
                    self.answers.clear()
                    self.faces = set(faces)
            known = styles.get(id(style))
            if known is None:
                known = styles[id(style)] = (style, repr([style[name] for name in TEXT_PROPERTIES]))
            key = (text, known[1], max_width, justification_spacing, is_line_start, minimum)
            self.calls += 1
            answer = self.answers.get(key)
            if answer is None:
                self.broken += 1
                layout, *measures = original(text, style, context, max_width, justification_spacing, is_line_start, minimum)
                answer = self.answers[key] = (dict(vars(layout)), *measures)
            layout = Layout.__new__(Layout)
            vars(layout).update(answer[0])
            return (layout, *answer[1:])

        font_config.add_font_face = record_font_face
        inline.split_first_line = preferred.split_first_line = split_first_line
        try:
            yield
        finally:
            inline.split_first_line = preferred.split_first_line = original
            del font_config.add_font_face  # back to the class's method
