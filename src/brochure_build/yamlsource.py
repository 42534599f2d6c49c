"""Reads YAML into plain values while remembering the line of every key.

PyYAML's safe loader forgets where values came from, silently keeps the last of two duplicate
keys and expands aliases without limit. Content files are edited by hand, so we compose the node
tree ourselves: every key path gets its line, duplicates and aliases are errors, and only plain
scalars, lists and mappings come out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from brochure_build.errors import Problem

MAX_FILE_BYTES = 2 * 1024 * 1024  # content is words: a larger file is a mistake, not a brochure


@dataclass
class YamlDocument:
    """A loaded file: its values and, for every key path, the line it starts on."""

    display_path: str
    data: Any
    lines: dict[str, int] = field(default_factory=dict)

    def line(self, key_path: str) -> int:
        """Line of `key_path`, or of its nearest ancestor that exists."""
        while key_path:
            if key_path in self.lines:
                return self.lines[key_path]
            key_path = parent_path(key_path)
        return self.lines.get("", 1)

    def problem(self, key_path: str, message: str) -> Problem:
        return Problem(self.display_path, self.line(key_path), key_path, message)


def parent_path(key_path: str) -> str:
    if key_path.endswith("]"):
        return key_path[: key_path.rindex("[")]
    return key_path.rpartition(".")[0]


def child_path(key_path: str, key: object) -> str:
    if isinstance(key, int):
        return f"{key_path}[{key}]"
    return f"{key_path}.{key}" if key_path else str(key)


_SCALARS = yaml.SafeLoader(  # only used for its scalar constructors
    ""
)


def load_yaml(path: Path, display_path: str, problems: list[Problem]) -> YamlDocument | None:
    """Load `path`; on failure append problems and return None."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        problems.append(Problem(display_path, 0, "", "file not found"))
        return None
    except OSError as error:
        problems.append(Problem(display_path, 0, "", f"cannot be read: {error.strerror}"))
        return None
    if len(raw) > MAX_FILE_BYTES:
        problems.append(Problem(display_path, 0, "", f"file is {len(raw):,} bytes, over the limit of {MAX_FILE_BYTES:,}"))
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        problems.append(Problem(display_path, line, "", "not valid UTF-8: save the file as UTF-8"))
        return None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 0
        problems.append(Problem(display_path, line, "", f"YAML syntax error: {error.problem}"))
        return None
    except yaml.YAMLError as error:
        problems.append(Problem(display_path, 0, "", f"YAML error: {error}"))
        return None
    if node is None:
        problems.append(Problem(display_path, 1, "", "file is empty"))
        return None
    document = YamlDocument(display_path, None)
    document.data = _construct(node, "", document, problems, set())
    return document


def _construct(node: yaml.Node, key_path: str, document: YamlDocument, problems: list[Problem], seen: set[int]) -> Any:
    document.lines.setdefault(key_path, node.start_mark.line + 1)
    if id(node) in seen:
        # compose() resolves an alias to the node it names: meeting a node twice means an alias.
        problems.append(document.problem(key_path, "anchors and aliases (&, *) are not allowed: write the value out"))
        return None
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(Problem(document.display_path, key_node.start_mark.line + 1, key_path, "a key must be plain text"))
                continue
            key = _SCALARS.construct_object(key_node)
            if key == "<<" and key_node.tag == "tag:yaml.org,2002:merge":
                problems.append(Problem(document.display_path, key_node.start_mark.line + 1, key_path, "merge keys (<<) are not allowed"))
                continue
            path = child_path(key_path, key)
            if key in result:
                problems.append(Problem(
                    document.display_path, key_node.start_mark.line + 1, path,
                    f"duplicate key (first on line {document.lines[path]}): remove one",
                ))
                continue
            document.lines[path] = key_node.start_mark.line + 1
            result[key] = _construct(value_node, path, document, problems, seen)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, child_path(key_path, i), document, problems, seen) for i, item in enumerate(node.value)]
    try:
        return _SCALARS.construct_object(node)
    except yaml.YAMLError as error:
        problems.append(document.problem(key_path, f"unreadable value: {getattr(error, 'problem', error)}"))
        return None
