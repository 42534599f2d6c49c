"""Hyphenation dictionaries parsed once per project, not once per process.

WeasyPrint hyphenates with Pyphen, which parses a language's `hyph_*.dic` the first time a
process sets a hyphenated text in that language: 0.1–0.25 s for English (9,000 patterns), 0.05 s
for French or Russian. Every process pays it again: each worker of a build and each preview
process, in every language it sets. Measured on an edit's build, the first layout of each
worker took 0.43 s against 0.04 s for the next ones, 0.18 s of it in the English dictionary.

`kept_dictionaries()` puts a cache in Pyphen's own (`pyphen.hdcache`, which Pyphen consults
before parsing): a dictionary parsed once is written to build/.cache/hyphenation/ as JSON, under
a hash of the dictionary file and of Pyphen's version, and later processes read it back (10 ms).
A dictionary with nonstandard hyphenation (`ff=f`, whose pattern values carry data) is not
kept: Pyphen parses it as before. Pyphen's version is pinned (pyproject.toml): the dictionary's
attributes (`patterns`, `cache`, `maxlen`) are those of its HyphDict.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyphen

from brochure_build.output import touch, write_text_atomic

CACHE_DIR = Path("build") / ".cache" / "hyphenation"


class KeptDictionaries(dict):
    """Pyphen's dictionary cache (path of a .dic → HyphDict), backed by `folder`."""

    def __init__(self, folder: Path, parsed: dict | None = None):
        super().__init__(parsed or {})
        self.folder = folder
        self.names: dict[Path, str] = {}  # a dictionary file's entry name, read and hashed once

    def entry(self, path) -> Path:
        path = Path(path)
        if path not in self.names:
            digest = hashlib.sha256(f"{pyphen.__version__}\0".encode())
            digest.update(path.read_bytes())
            self.names[path] = f"{path.stem}-{digest.hexdigest()[:24]}.json"
        return self.folder / self.names[path]

    def __contains__(self, path) -> bool:
        if super().__contains__(path):
            return True
        try:
            entry = self.entry(path)
            data = json.loads(entry.read_text(encoding="utf-8"))
            dictionary = pyphen.HyphDict.__new__(pyphen.HyphDict)
            dictionary.patterns = {pattern: (offset, tuple(values)) for pattern, (offset, values) in data["patterns"].items()}
            dictionary.cache = {}
            dictionary.maxlen = int(data["maxlen"])
        except (OSError, ValueError, KeyError, TypeError):
            return False  # Pyphen parses the file, and __setitem__ keeps it
        touch(entry)
        super().__setitem__(path, dictionary)
        return True

    def __setitem__(self, path, dictionary) -> None:
        super().__setitem__(path, dictionary)
        values = [value for _, found in dictionary.patterns.values() for value in found]
        if any(type(value) is not int for value in values):  # nonstandard hyphenation: not kept
            return
        data = {"maxlen": dictionary.maxlen,
                "patterns": {pattern: [offset, list(found)] for pattern, (offset, found) in dictionary.patterns.items()}}
        try:
            write_text_atomic(self.entry(path), json.dumps(data, ensure_ascii=False))
        except OSError:
            pass  # a cache: the next process parses the file again


def kept_dictionaries(root: Path) -> None:
    """From now on, this process (and those it forks) reads the hyphenation dictionaries Pyphen
    parsed before from `root`'s build/.cache/hyphenation/."""
    if isinstance(pyphen.hdcache, KeptDictionaries):
        pyphen.hdcache.folder = root / CACHE_DIR
    else:
        pyphen.hdcache = KeptDictionaries(root / CACHE_DIR, pyphen.hdcache)
