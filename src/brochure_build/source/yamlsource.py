"""Reads YAML into plain values while remembering the line of every key.

PyYAML's safe loader forgets where values came from, silently keeps the last of two duplicate
keys and expands aliases without limit. Content files are edited by hand, so we compose the node
tree ourselves: every key path gets its line, duplicates and aliases are errors, and only plain
scalars, lists and mappings come out.

Bidirectional control characters (U+202A–U+202E, U+2066–U+2069) are refused wherever they are,
with their line and column: they make a file read differently from what is printed (`gnitov`
in the YAML, `voting` on the page). A value that needs them says so with the tag `!bidi`
(`heading: !bidi "…"`), which a reviewer sees in the file.

Whatever the bytes, loading ends in values or in problems, never in another exception: the
property-based test in tests/test_hostile_input.py feeds it arbitrary documents.
"""

from __future__ import annotations

import hashlib
import marshal
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from brochure_build.errors import Problem

try:
    from yaml.cyaml import CParser
except ImportError:  # PyYAML without libyaml: the pure-Python parser, same events
    CParser = None

_LIST_INDEX = re.compile(r"\[\d+\]$")
MAX_FILE_BYTES = 2 * 1024 * 1024  # content is words: a larger file is a mistake, not a brochure
MAX_DEPTH = 32  # the deepest content is four levels; PyYAML's composer recurses once per level
MAX_PROBLEMS = 50  # per file: past this, a file is broken as a whole and more lines only hide the others
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")  # embeddings, overrides, isolates
BIDI_TAG = "!bidi"  # a value that contains them on purpose
MEMO_ENTRIES = 64  # files kept loaded in a process (the preview loads a text file on every save)
# What a remembered load depends on besides the bytes: this loader and the format marshal writes.
LOADER_VERSION = hashlib.sha256(Path(__file__).read_bytes() + f"{sys.version}{marshal.version}{yaml.__version__}".encode()).digest()

# A file is loaded several times by one command (each product reads every language's text; the
# fingerprints and translation status read it again), and by each of the three commands `make`
# runs: each load after the first is a copy of the first, unmarshalled (values, lines, problems).
_memo: dict[bytes, bytes] = {}
_store: Path | None = None  # a folder where loads are kept across processes (remember_in)


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
    index = _LIST_INDEX.search(key_path)
    if index:  # a list item; a mapping key may itself end in "]" (a typo such as `].`), which is not one
        return key_path[: index.start()]
    return key_path.rpartition(".")[0]


def child_path(key_path: str, key: object) -> str:
    if isinstance(key, int):
        return f"{key_path}[{key}]"
    return f"{key_path}.{key}" if key_path else str(key)


def load_yaml(path: Path, display_path: str, problems: list[Problem], root: Path | None = None) -> YamlDocument | None:
    """Load `path`; on failure append problems and return None.

    With `root`, a file that leads out of that folder (through a link) is refused unread.
    """
    if root is not None and not path.resolve().is_relative_to(root.resolve()):
        problems.append(Problem(display_path, 0, "", f"a link to {path.resolve()}, outside the project folder: "
                                                     "put the file itself in the project"))
        return None
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        problems.append(Problem(display_path, 0, "", "file not found"))
        return None
    except OSError as error:
        problems.append(Problem(display_path, 0, "", f"cannot be read: {error.strerror}"))
        return None
    if len(raw) > MAX_FILE_BYTES:
        problems.append(Problem(display_path, 0, "", f"file is {len(raw):,} bytes, over the limit of {MAX_FILE_BYTES:,}: "
                                                     "content is words, not data: is this the right file?"))
        return None
    key = hashlib.sha256(LOADER_VERSION + display_path.encode() + b"\0" + raw).digest()
    remembered = recall(key, display_path)
    if remembered is not None:
        data, lines, found = remembered
        problems += [Problem(*problem) for problem in found]
        return YamlDocument(display_path, data, lines)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        problems.append(Problem(display_path, line, "", "not valid UTF-8: save the file as UTF-8"))
        return None
    try:
        node = yaml.compose(text, Loader=_Composer)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        # libyaml marks an error at the end of a file without a final newline one line past it.
        line = min(mark.line + 1, text.count("\n") + 1) if mark else 0
        problems.append(Problem(display_path, line, "", f"YAML syntax error: {error.problem}: "
                                                        "check the quotes, brackets and indentation of this line or the one before"))
        return None
    except yaml.reader.ReaderError as error:
        line = text[: error.position].count("\n") + 1
        problems.append(Problem(display_path, line, "", f"character U+{error.character:04X} is not allowed in YAML: remove it"))
        return None
    except (yaml.YAMLError, UnicodeError) as error:
        problems.append(Problem(display_path, 0, "", f"YAML error: {error}"))
        return None
    except RecursionError:  # PyYAML's composer recurses once per level: thousands of [ or - end here
        problems.append(Problem(display_path, 1, "", f"nested more than {MAX_DEPTH} levels deep: content is a few levels of "
                                                     "keys and lists"))
        return None
    if node is None:
        problems.append(Problem(display_path, 1, "", "file is empty: write its content, or restore it from git"))
        return None
    document = YamlDocument(display_path, None)
    found: list[Problem] = []
    constructor = _Constructor(document, found, text)
    document.data = constructor.construct(node, "", 0)
    found += bidi_problems(text, display_path, constructor.scalars_at)
    if len(found) > MAX_PROBLEMS:
        rest = len(found) - MAX_PROBLEMS
        found = found[:MAX_PROBLEMS] + [Problem(display_path, found[MAX_PROBLEMS].line, "",
                                                f"{rest} more problem{'s' if rest != 1 else ''} in this file not shown")]
    problems += found
    remember(key, display_path, document, found)
    return document


def remember_in(folder: Path) -> None:
    """Keep loaded files in `folder` too (build/.cache/yaml), for the next command: one file
    per content file, holding its last load. Only a folder whose parent exists is written to."""
    global _store
    _store = folder


def store_file(display_path: str) -> Path | None:
    if _store is None:
        return None
    return _store / f"{hashlib.sha256(display_path.encode()).hexdigest()[:24]}.marshal"


def recall(key: bytes, display_path: str) -> tuple | None:
    payload = _memo.get(key)
    if payload is None:
        stored = store_file(display_path)
        try:
            held = stored.read_bytes() if stored is not None else b""
        except OSError:
            held = b""
        if held[:len(key)] != key:
            return None
        payload = held[len(key):]
    try:
        return marshal.loads(payload)  # fresh values: a caller may change what it is given
    except (ValueError, EOFError, TypeError):
        return None


def remember(key: bytes, display_path: str, document: YamlDocument, found: list[Problem]) -> None:
    try:  # plain values; a timestamp or a set is not marshalled, and such a file is read again
        found_fields = [(problem.file, problem.line, problem.key, problem.message) for problem in found]
        payload = marshal.dumps((document.data, document.lines, found_fields))
    except ValueError:
        return
    while len(_memo) >= MEMO_ENTRIES:
        del _memo[next(iter(_memo))]
    _memo[key] = payload
    stored = store_file(display_path)
    if stored is not None and stored.parent.parent.is_dir():
        from brochure_build.output import OutputError, atomic_path

        try:
            with atomic_path(stored) as temporary:
                temporary.write_bytes(key + payload)
        except (OSError, OutputError):
            pass  # a cache: the next command loads the file again


def bidi_problems(text: str, display_path: str, scalars: list[tuple[int, int, str, bool]]) -> list[Problem]:
    """A problem for every bidi control character of `text` outside a value tagged !bidi.

    `scalars`: (start, end, key path, declared) of every value, by character index, in file order."""
    problems = []
    for match in BIDI_CONTROLS.finditer(text):
        where = next((scalar for scalar in scalars if scalar[0] <= match.start() < scalar[1]), None)
        if where is not None and where[3]:
            continue
        line = text.count("\n", 0, match.start()) + 1
        column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
        problems.append(Problem(display_path, line, where[2] if where else "", bidi_message(match.group(), f" at column {column}")))
    return problems


def bidi_message(character: str, where: str) -> str:
    return (f"character U+{ord(character):04X} ({unicodedata.name(character)}){where} changes the order in which the text "
            f"is shown, so the file reads differently from the page: remove it, or tag the value {BIDI_TAG} "
            "if it is deliberate")


class _AliasNode(yaml.ScalarNode):
    """Where an alias (*name) was written: PyYAML's composer would hand back the node it names instead."""


class _AliasComposer(Composer):
    """Composes nodes as PyYAML does, except that an alias stays an alias: nothing is shared or expanded,
    and the alias keeps its own line for the error message."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.get_event()
            return _AliasNode("alias", event.anchor, event.start_mark, event.end_mark)
        return super().compose_node(parent, index)


if CParser is not None:
    class _Composer(_AliasComposer, CParser, SafeConstructor, Resolver):
        """libyaml scans and parses (the same events as PyYAML's, ten times faster); Python composes."""

        def __init__(self, stream: str):
            CParser.__init__(self, stream)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            self.anchors = {}
else:  # PyYAML built without libyaml
    class _Composer(Reader, Scanner, Parser, _AliasComposer, SafeConstructor, Resolver):  # type: ignore[no-redef]
        def __init__(self, stream: str):
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            _AliasComposer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)


class _Constructor:
    """Turns a composed node tree into plain values, recording lines and problems."""

    def __init__(self, document: YamlDocument, problems: list[Problem], text: str = ""):
        self.document = document
        self.problems = problems
        self.text = text  # the file, which the marks index by character
        self.seen: set[int] = set()
        self.scalars = yaml.SafeLoader("")  # only used for its scalar constructors; one per file, so no cache is shared
        self.scalars_at: list[tuple[int, int, str, bool]] = []  # (start, end, key path, tagged !bidi) of every value

    def scalar(self, node: yaml.Node, key_path: str) -> tuple[bool, Any]:
        """(True, value) or (False, None) with a problem: a bad tag or value (`!!int x`, `2020-02-31`)."""
        declared = node.tag == BIDI_TAG and isinstance(node, yaml.ScalarNode)
        self.scalars_at.append((node.start_mark.index, node.end_mark.index, key_path, declared))
        if declared:
            return True, node.value  # text, as written
        if isinstance(node.value, str) and node.style == '"':
            # An escape (\u202E) in a double-quoted value puts the character in without showing it.
            written = BIDI_CONTROLS.search(node.value)
            if written and not BIDI_CONTROLS.search(self.text[node.start_mark.index:node.end_mark.index]):
                self.problems.append(Problem(self.document.display_path, node.start_mark.line + 1, key_path,
                                             bidi_message(written.group(), " (written as an escape)")))
        try:
            return True, self.scalars.construct_object(node)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as error:
            reason = getattr(error, "problem", None) or str(error)
            self.problems.append(Problem(self.document.display_path, node.start_mark.line + 1, key_path,
                                         f"unreadable value {node.value!r}: {reason}: correct it, or put it in quotes to keep it as text"))
            return False, None

    def construct(self, node: yaml.Node, key_path: str, depth: int) -> Any:
        document = self.document
        document.lines.setdefault(key_path, node.start_mark.line + 1)
        if isinstance(node, _AliasNode) or id(node) in self.seen:  # the second test is a guard: no node is met twice
            self.problems.append(Problem(document.display_path, node.start_mark.line + 1, key_path,
                                         "anchors and aliases (&, *) are not allowed: write the value out"))
            return None
        self.seen.add(id(node))
        if depth > MAX_DEPTH:
            self.problems.append(document.problem(key_path, f"nested more than {MAX_DEPTH} levels deep"))
            return None
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            key_lines: dict[Any, int] = {}
            for key_node, value_node in node.value:
                line = key_node.start_mark.line + 1
                if isinstance(key_node, _AliasNode):
                    self.problems.append(Problem(document.display_path, line, key_path,
                                                 "anchors and aliases (&, *) are not allowed: write the key out"))
                    continue
                if not isinstance(key_node, yaml.ScalarNode):
                    self.problems.append(Problem(document.display_path, line, key_path, "a key must be plain text"))
                    continue
                ok, key = self.scalar(key_node, key_path)
                if not ok:
                    continue
                if key == "<<" and key_node.tag == "tag:yaml.org,2002:merge":
                    self.problems.append(Problem(document.display_path, line, key_path, "merge keys (<<) are not allowed"))
                    continue
                path = child_path(key_path, key)
                if key in key_lines:  # 1, 1.0 and true are one key to Python: compare keys, not paths
                    self.problems.append(Problem(document.display_path, line, path,
                                                 f"duplicate key (first on line {key_lines[key]}): remove one"))
                    continue
                key_lines[key] = line
                document.lines[path] = line
                result[key] = self.construct(value_node, path, depth + 1)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.construct(item, child_path(key_path, i), depth + 1) for i, item in enumerate(node.value)]
        return self.scalar(node, key_path)[1]
