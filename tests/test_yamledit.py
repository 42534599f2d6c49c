"""yamledit: values written in place, everything else kept byte for byte."""

from __future__ import annotations

import pytest
import yaml

from brochure_build.source.yamledit import EditError, apply_changes

TEXT = """\
# A comment that stays.
labels:
  pledges: Pledges   # and a trailing comment
  quoted: "Say \\"hi\\""
  single: 'It''s'
keywords: [a, b]
sections:
  one:
    body:
      - First.
      - Second.
    note: |
      Block text.

  two:
    heading: Two
"""


def test_each_value_keeps_its_quoting_and_every_other_byte_stays():
    changed = apply_changes(TEXT, {"labels.pledges": "Promises: kept", "labels.quoted": "New \"one\"",
                                   "labels.single": "Luxembourg's", "sections.one.body[1]": "#2, [x]"})
    data = yaml.safe_load(changed)
    assert data["labels"] == {"pledges": "Promises: kept", "quoted": 'New "one"', "single": "Luxembourg's"}
    assert data["sections"]["one"]["body"] == ["First.", "#2, [x]"]
    lines = changed.splitlines()
    assert lines[0] == "# A comment that stays." and lines[2].endswith("   # and a trailing comment")
    assert lines[3] == '  quoted: "New \\"one\\""' and lines[4] == "  single: 'Luxembourg''s'"
    assert [a for a, b in zip(TEXT.splitlines(), lines, strict=True) if a != b] == [
        "  pledges: Pledges   # and a trailing comment", '  quoted: "Say \\"hi\\""', "  single: 'It''s'", "      - Second."]


def test_flow_and_block_scalars():
    changed = apply_changes(TEXT, {"keywords[1]": "c, d", "sections.one.note": "One line."})
    data = yaml.safe_load(changed)
    assert data["keywords"] == ["a", "c, d"] and data["sections"]["one"]["note"] == "One line."
    assert data["sections"]["two"] == {"heading": "Two"}


def test_missing_blocks_are_added_after_their_siblings():
    changed = apply_changes(TEXT, {"sections.one.body[2]": "Third.", "sections.one.body[3]": "Fourth.",
                                   "sections.two.body": "Body."})
    data = yaml.safe_load(changed)
    assert data["sections"]["one"]["body"] == ["First.", "Second.", "Third.", "Fourth."]
    assert data["sections"]["two"] == {"heading": "Two", "body": "Body."}


@pytest.mark.parametrize(("changes", "message"), [
    ({"sections.three.heading": "x"}, "sections.three.heading: sections.three is missing from the file: add it by hand first"),
    ({"sections.one.body[5]": "x"}, "sections.one.body[5]: the list has 2 items: items are added in order, without gaps"),
    ({"keywords[2]": "x"}, "keywords[2]: keywords is written in [ ] or { }: add the value there by hand"),
    ({"sections.one.body": "x"}, "sections.one.body: the file has a list or mapping here, not a text"),
])
def test_what_cannot_be_done_in_place_is_refused(changes, message):
    with pytest.raises(EditError) as caught:
        apply_changes(TEXT, changes)
    assert str(caught.value) == message


def test_a_key_that_ends_in_a_bracket_is_not_a_list_item():
    """Found by the property-based test: a typo such as `].` makes a mapping key ending in ']'."""
    from brochure_build.source.yamlsource import parent_path

    assert [parent_path(key) for key in ("sections.]", "a.b[3]", "a[1][2]", "a.b")] == ["sections", "a.b", "a[1]", "a"]
