"""Writing outputs: atomically, so a failed or interrupted build never leaves a broken file or
replaces the last good one; one build of a project at a time; a full disk or a build/ that
cannot be written is a message, not a traceback."""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from brochure_build.errors import BuildError

LOCK_NAME = ".lock"
TEMPORARY_SUFFIX = ".tmp"
# Blocked while a temporary file is created, renamed or removed: an interrupt arrives just before
# or just after, never between creating a temporary file and the code that cleans it up.
INTERRUPTS = {signal.SIGINT, signal.SIGTERM}


class OutputError(BuildError):
    """An output could not be written: the disk is full, or build/ is not a writable folder."""


def shown_path(path: Path) -> str:
    """`path` as the user typed it: relative to the current folder when inside it (build/en/…), else absolute."""
    here = Path.cwd()
    return path.relative_to(here).as_posix() if path.is_absolute() and path.is_relative_to(here) else str(path)


def describe_os_error(path: Path, error: OSError) -> str:
    """`build/en/x.pdf: cannot write: No space left on device: the disk is full …`, from an OSError."""
    shown = shown_path(path)
    reason = error.strerror or str(error)
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        hint = "the disk is full: free some space and build again"
    elif error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        hint = "the folder is read-only: make it writable, or build a copy of the project elsewhere"
    elif error.errno in (errno.ENOTDIR, errno.EEXIST, errno.EISDIR):
        hint = "a file stands where a folder is expected (or the reverse): remove or rename it"
    else:
        hint = "check the disk and the folder's permissions"
    return f"{shown}: cannot write: {reason}: {hint}; the previous outputs are unchanged"


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends (main thread; elsewhere signals never arrive anyway)."""
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPTS)
    except (ValueError, OSError):  # not available here: run unprotected
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success it replaces `target` in one step.

    On failure or interrupt the temporary file is removed and `target` is left as it was.
    """
    temporary: Path | None = None
    try:
        with interrupts_deferred():
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=TEMPORARY_SUFFIX)
            except OSError as error:
                raise OutputError(describe_os_error(target.parent, error)) from error
            os.close(handle)
            temporary = Path(name)
        yield temporary
        with interrupts_deferred():
            os.chmod(temporary, 0o644)
            os.replace(temporary, target)
    except OSError as error:
        raise OutputError(describe_os_error(target, error)) from error
    finally:
        if temporary is not None:
            with interrupts_deferred():
                temporary.unlink(missing_ok=True)


def write_text_atomic(target: Path, text: str) -> None:
    with atomic_path(target) as temporary:
        temporary.write_text(text, encoding="utf-8")


def prune_least_recent(directory: Path, keep: int | None = None, max_bytes: int | None = None) -> None:
    """Remove the least recently used files of the cache `directory` (by modification time: a
    cache marks an entry used with os.utime) beyond the `keep` most recent, or beyond `max_bytes`
    in all. Dot files (another process's entry being written) and folders are left alone."""
    entries = []
    try:
        for path in directory.iterdir():
            if not path.name.startswith(".") and path.is_file():
                stat = path.stat()
                entries.append((stat.st_mtime, stat.st_size, path))
    except OSError:
        return
    entries.sort(reverse=True)
    kept = 0
    for number, (_, size, path) in enumerate(entries, 1):
        kept += size
        if (keep is not None and number > keep) or (max_bytes is not None and kept > max_bytes):
            path.unlink(missing_ok=True)


def touch(path: Path) -> None:
    """Mark a cache entry used (prune_least_recent keeps the most recently used)."""
    try:
        os.utime(path)
    except OSError:
        pass


def prepare_build_dir(build_dir: Path, subfolders: list[str]) -> None:
    """build/ and its `subfolders` are folders we can write in, or an OutputError saying what stands in the way.

    Checked by writing, not with os.access: root may write anywhere os.access says, except on a
    read-only file system or an immutable folder.
    """
    if build_dir.exists() and not build_dir.is_dir():
        raise OutputError(f"{shown_path(build_dir)}: is a file, not a folder: remove or rename it; the PDFs are written "
                          f"to {build_dir.name}/<lang>/")
    for folder in [build_dir] + [build_dir / name for name in subfolders]:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as error:
            raise OutputError(describe_os_error(folder, error)) from error


@contextmanager
def build_lock(build_dir: Path) -> Iterator[None]:
    """One build of a project at a time: a second one waits, saying so, for build/.lock.

    flock is released by the kernel when the last descriptor of the lock ends, however its process
    ends; forked workers let go of their copy at once (release_inherited_locks). A lock still held
    although the pid written in it no longer runs (processes that outlived a build killed outright)
    is taken over, with a message. Once the lock is held, temporary files of a build that was
    killed outright (SIGKILL, power loss) are removed: no other build can be writing them.
    """
    lock_path = build_dir / LOCK_NAME
    handle = acquire_lock(lock_path)
    with handle:
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        _held_locks.add(handle.fileno())
        remove_stale_temporaries(build_dir)
        try:
            yield
        finally:
            _held_locks.discard(handle.fileno())
            fcntl.flock(handle, fcntl.LOCK_UN)


# Descriptors of the build locks this process holds: a forked child must not keep them.
_held_locks: set[int] = set()
LOCK_POLL_SECONDS = 0.2


def release_inherited_locks() -> None:
    """In a forked child: let go of the parent's build locks, so that the lock ends with the parent
    even if this process outlives it. The descriptor is pointed at /dev/null rather than closed, so
    the number stays taken and the parent's file object in this copy of its memory never closes
    another file."""
    if not _held_locks:
        return
    null = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    try:
        for descriptor in _held_locks:
            os.dup2(null, descriptor, inheritable=False)
    finally:
        os.close(null)
    _held_locks.clear()


def open_lock(lock_path: Path):
    try:
        return open(lock_path, "a+")  # noqa: SIM115 - held for the whole build
    except OSError as error:
        raise OutputError(describe_os_error(lock_path, error)) from error


def acquire_lock(lock_path: Path):
    """The lock file at `lock_path`, open and locked by this process; waits while a running build holds it."""
    handle = open_lock(lock_path)
    said = False
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = lock_holder(handle)
            if pid is not None and not is_running(pid):
                taken = take_over(lock_path, handle, pid)
                if taken is not None:
                    handle.close()
                    return taken
                handle.close()  # another build took it over first: wait for that one
                handle = open_lock(lock_path)
                continue
            if not said:
                print(f"Waiting for another build of this project to finish ({shown_path(lock_path)} is held by "
                      f"{f'pid {pid}' if pid is not None else 'another process'})...", file=sys.stderr, flush=True)
                said = True
            time.sleep(LOCK_POLL_SECONDS)
            continue
        if same_file(handle, lock_path):
            return handle
        handle.close()  # taken over while we waited: the lock is now the file at lock_path
        handle = open_lock(lock_path)


def take_over(lock_path: Path, stale, pid: int):
    """Replace the lock file `stale`, held although its pid no longer runs, with a new one locked
    by this process; None if another build changed it first. Builds take over one at a time (a
    lock on the folder), each checking again under it, so two never both win."""
    folder = os.open(lock_path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        if not same_file(stale, lock_path) or lock_holder(stale) != pid:
            return None
        handle, name = tempfile.mkstemp(dir=lock_path.parent, prefix=f"{LOCK_NAME}.", suffix=TEMPORARY_SUFFIX)
        fresh = os.fdopen(handle, "a+")
        fcntl.flock(fresh, fcntl.LOCK_EX | fcntl.LOCK_NB)  # nobody else knows this file yet
        os.chmod(name, 0o644)  # as open() makes it: readable by whoever else builds the project
        os.replace(name, lock_path)
    except OSError as error:
        raise OutputError(describe_os_error(lock_path, error)) from error
    finally:
        os.close(folder)  # and with it the folder's lock
    print(f"{shown_path(lock_path)} was held by pid {pid}, which is no longer running (processes it started "
          "still hold the lock): taking it over", file=sys.stderr, flush=True)
    return fresh


def lock_holder(handle) -> int | None:
    """The pid written in a lock file, or None."""
    handle.seek(0)
    text = handle.read().strip()
    return int(text) if text.isdigit() else None


def is_running(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, ended but not yet reaped, does not)."""
    if os.path.isdir("/proc/self"):
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
        except FileNotFoundError:
            return False
        except OSError:
            pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def same_file(handle, path: Path) -> bool:
    """Whether the open `handle` is the file now at `path`."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(handle.fileno())
    return (stat.st_dev, stat.st_ino) == (opened.st_dev, opened.st_ino)


def remove_stale_temporaries(build_dir: Path) -> None:
    for stale in build_dir.glob(f"*/.*{TEMPORARY_SUFFIX}"):
        stale.unlink(missing_ok=True)
