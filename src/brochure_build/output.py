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

    flock is released by the kernel when the process ends, however it ends, so a killed build
    never leaves a stale lock. Once the lock is held, temporary files of a build that was killed
    outright (SIGKILL, power loss) are removed: no other build can be writing them.
    """
    lock_path = build_dir / LOCK_NAME
    try:
        handle = open(lock_path, "a+")  # noqa: SIM115 - held for the whole build
    except OSError as error:
        raise OutputError(describe_os_error(lock_path, error)) from error
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid = handle.read().strip()
            holder = f"pid {pid}" if pid.isdigit() else "another process"
            print(f"Waiting for another build of this project to finish ({build_dir.name}/{LOCK_NAME} is held by "
                  f"{holder})...", file=sys.stderr, flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        remove_stale_temporaries(build_dir)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def remove_stale_temporaries(build_dir: Path) -> None:
    for stale in build_dir.glob(f"*/.*{TEMPORARY_SUFFIX}"):
        stale.unlink(missing_ok=True)
