"""Changes the values of a YAML text file in place, keeping everything else byte for byte.

Translators' files come back through `xliff import`; the text files are edited by hand too, so
their comments, order, quoting and line layout must survive an import. Only the scalars that
change are rewritten, each where it stands; a block or list item the file lacks is added after
its last sibling, at its siblings' indentation. The result is loaded again and compared with
what was meant before anything is written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import yaml

from brochure_build.source.yamlsource import child_path, parent_path

_FLOW_INDICATORS = set(",[]{}")


class EditError(ValueError):
    """A change this module cannot make in place; the message says what to do by hand."""


@dataclass(frozen=True)
class _Node:
    node: yaml.Node
    flow: bool  # inside a [ ] or { } collection


def _index(text: str) -> dict[str, _Node]:
    """Every key path of the document and its node (the file has been validated by yamlsource)."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    found: dict[str, _Node] = {}

    def walk(node: yaml.Node, path: str, flow: bool) -> None:
        found[path] = _Node(node, flow)
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                walk(value_node, child_path(path, key_node.value), flow or bool(node.flow_style))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, child_path(path, index), flow or bool(node.flow_style))

    if root is not None:
        walk(root, "", False)
    return found


def scalar(value: str, flow: bool, style: str | None = None) -> str:
    """`value` written as a YAML scalar on one line, in the quoting the old value had (`style`:
    PyYAML's '"', "'" or None for plain) where that can hold it: plain where YAML reads it back as
    the same text, double-quoted otherwise (JSON's escapes are YAML's)."""
    if style == '"':
        return json.dumps(value, ensure_ascii=False)
    if style == "'" and "\n" not in value and value.isprintable():
        return "'" + value.replace("'", "''") + "'"
    dumped = yaml.safe_dump(value, allow_unicode=True, width=float("inf"), default_style=None)
    plain = dumped.removesuffix("\n").removesuffix("\n...").rstrip("\n")
    if "\n" not in plain and not (flow and _FLOW_INDICATORS & set(plain)) and yaml.safe_load(plain) == value:
        return plain
    return json.dumps(value, ensure_ascii=False)


def _split_key(key: str) -> str | int:
    """The last step of a key path: a mapping key or a list index."""
    index = re.search(r"\[(\d+)\]$", key)
    if index:
        return int(index[1])
    return key.rpartition(".")[2]


def apply_changes(text: str, changes: dict[str, str]) -> str:
    """`text` with the text block at each key path of `changes` set to its value.

    Existing scalars are replaced where they stand; a missing key is added to its existing
    mapping, a missing list item appended to its existing list. Raises EditError for what cannot
    be done in place (a missing parent, a gap in a list, a flow collection, a value that is not text).
    """
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), applied from the end
    nodes = _index(text)
    lines = text.splitlines(keepends=True)
    for key, value in changes.items():
        if key in nodes:
            entry = nodes[key]
            if not isinstance(entry.node, yaml.ScalarNode):
                raise EditError(f"{key}: the file has a list or mapping here, not a text")
            start, end = entry.node.start_mark.index, entry.node.end_mark.index
            replacement = scalar(value, entry.flow, entry.node.style if entry.node.style in ('"', "'") else None)
            if entry.node.style in ("|", ">"):  # a block scalar's span runs to the next line's start
                replacement += "\n"
            edits.append((start, end, replacement))
            continue
        parent = nodes.get(parent_path(key))
        if parent is None:
            raise EditError(f"{key}: {parent_path(key) or 'the document'} is missing from the file: add it by hand first")
        if parent.flow or parent.node.flow_style:
            raise EditError(f"{key}: {parent_path(key)} is written in [ ] or {{ }}: add the value there by hand")
        step = _split_key(key)
        siblings = parent.node.value
        if isinstance(parent.node, yaml.SequenceNode):
            if not isinstance(step, int) or step != len(siblings) + sum(
                    1 for other in changes if other not in nodes and parent_path(other) == parent_path(key)
                    and isinstance(_split_key(other), int) and _split_key(other) < step):
                raise EditError(f"{key}: the list has {len(siblings)} items: items are added in order, without gaps")
            if not siblings:
                raise EditError(f"{key}: {parent_path(key)} is an empty list: add the item by hand")
            last = siblings[-1]
            indent = _indent_of(lines[siblings[0].start_mark.line], "-")
            line = f"{indent}- {scalar(value, False)}\n"
        elif isinstance(parent.node, yaml.MappingNode) and isinstance(step, str) and parent.node.value:
            first_key, last = parent.node.value[0][0], parent.node.value[-1][1]
            indent = " " * first_key.start_mark.column
            line = f"{indent}{scalar(step, False)}: {scalar(value, False)}\n"
        else:
            raise EditError(f"{key}: cannot add it to {parent_path(key) or 'the document'}: add it by hand")
        at = _end_of_line(text, _last_scalar(last).end_mark.index)
        edits.append((at, at, line))
    # From the end, so earlier offsets stay valid; two additions at one place keep their order.
    for _, (start, end, replacement) in sorted(enumerate(edits), key=lambda item: (item[1][0], item[0]), reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _last_scalar(node: yaml.Node) -> yaml.Node:
    """The last scalar written inside `node`: a collection's own end mark may lie on the next key's line."""
    while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(last, tuple) else last
    return node


def _indent_of(line: str, marker: str) -> str:
    return line[: line.index(marker)] if marker in line else ""


def _end_of_line(text: str, index: int) -> int:
    """Where the line holding `index` ends (after its newline); a node's end mark may already be there."""
    if index > 0 and text[index - 1] == "\n":
        return index
    newline = text.find("\n", index)
    return len(text) if newline < 0 else newline + 1


def value_at(data, key: str):
    """The value at a key path of loaded YAML data, or None."""
    steps: list[str | int] = []
    while key:
        steps.append(_split_key(key))
        key = parent_path(key)
    for step in reversed(steps):
        try:
            data = data[step]
        except (KeyError, IndexError, TypeError):
            return None
    return data
