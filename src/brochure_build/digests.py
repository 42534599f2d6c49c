"""File digests remembered by size, times and inode: the fingerprints of twelve editions, the
font pins, the copy-fit cache's keys and the preview's saves all hash the same layouts, fonts
(84 MB), photos and code. Within a process each file is read once; across the commands `make`
runs, a store in build/.cache keeps what the last one learned, as git's index does."""

from __future__ import annotations

import atexit
import hashlib
import json
import time
from pathlib import Path

RACY_SECONDS = 2  # a file younger than this is hashed again on every call
MAX_STORED = 20_000  # a store larger than this is not the one we write: ignored

Signature = tuple[int, int, int, int]  # size, mtime, inode, ctime (no tool sets a ctime back)

_file_digests: dict[Path, tuple[Signature, bytes]] = {}
_store: Path | None = None
_learned = False


def file_digest(path: Path) -> bytes:
    """sha256 of a file, read again only when its size, times or inode changed."""
    global _learned
    stat = path.stat()
    signature = (stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns)
    known = _file_digests.get(path)
    if known is not None and known[0] == signature:
        return known[1]
    value = hashlib.sha256(path.read_bytes()).digest()
    # A file written in the last seconds may be written again within the clock's tick, same size,
    # same times: only older files are remembered (as git does with its index).
    if time.time_ns() - max(stat.st_mtime_ns, stat.st_ctime_ns) > RACY_SECONDS * 1_000_000_000:
        _file_digests[path] = (signature, value)
        _learned = True
    return value


def remember_in(store: Path) -> None:
    """Read the digests `store` holds, and write what this process learned back to it as the
    process ends (only where the folder exists: a project never built gets no build/ from this)."""
    global _store
    try:
        data = json.loads(store.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    if isinstance(data, dict) and len(data) <= MAX_STORED:
        for name, entry in data.items():
            try:
                size, mtime, inode, ctime, digest = entry
                _file_digests.setdefault(Path(name), ((int(size), int(mtime), int(inode), int(ctime)), bytes.fromhex(digest)))
            except (TypeError, ValueError):
                continue
    if _store is None:
        atexit.register(save)
    _store = store


def save() -> None:
    """Write the digests to the store, when this process learned any."""
    from brochure_build.output import write_text_atomic

    if not _learned or _store is None or not _store.parent.is_dir():
        return
    data = {str(path): [*signature, digest.hex()] for path, (signature, digest) in _file_digests.items()}
    try:
        write_text_atomic(_store, json.dumps(data))
    except OSError:
        pass  # a cache: the next command hashes again
