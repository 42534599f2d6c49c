"""Worker processes of a parallel build (forked by build.py): each dies with its parent, never
keeps the build lock, and removes what it wrote to the temporary directory however it ends.

A forked worker starts with a copy of the parent's file descriptors, the build lock's among them:
a worker that outlived its parent (`kill -9` of the build, the OOM killer) would keep the lock,
and every later build would wait for it forever. So a worker lets go of the lock at once, and asks
Linux to send it SIGTERM when the parent ends (PR_SET_PDEATHSIG). SIGTERM rather than SIGKILL: the
worker then removes its temporary PDF and WeasyPrint's font folder (`weasyprint-*`, about 84 MB)
before it ends. A pool worker ends through os._exit, where nothing is garbage-collected: the
folder is removed by a multiprocessing finalizer on a normal end, and by the signal handler on
Ctrl-C, SIGTERM from the parent (terminate) or the parent's death.

The signal arrives once, and the handler raises it in the job as an exception. Where that lands
in code that swallows exceptions (a `__del__`, a garbage-collector callback), the job would go on
and the worker would then wait for its next job forever (it holds its own end of the job queue),
so a thread sends the signal again every second until the worker has ended, and ends it outright
after STOP_GRACE_SECONDS.
"""

from __future__ import annotations

import ctypes
import multiprocessing.util
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from brochure_build.output import release_inherited_locks
from brochure_build.render.pdf import LazyRenderer

PR_SET_PDEATHSIG = 1  # linux/prctl.h
RAISE_AGAIN_SECONDS = 1.0  # a job unwinds in milliseconds: a second raise seldom cuts a clean-up short
STOP_GRACE_SECONDS = 10.0

_renderer: LazyRenderer | None = None  # this worker's, warm across the editions it is given
_in_job = False
_stopping = False
_ending: int | None = None  # the thread that is ending the worker


class WorkerStopped(KeyboardInterrupt):
    """A signal to stop arrived during a job: raised like Ctrl-C so the job's temporary files are removed."""


def start(root: Path, parent: int, families: tuple[str, ...] = ()) -> None:
    """The pool's initializer, run first in every worker; `families`: the fonts of every edition
    of the build (pdf.declared_families), none for every font."""
    global _renderer
    release_inherited_locks()
    _renderer = LazyRenderer(root)
    _renderer.use_families(families)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
    die_with_parent(parent)
    # Run by multiprocessing as the worker ends normally (the pool shut down), before os._exit.
    multiprocessing.util.Finalize(None, _renderer.close, (), None, 0)  # args, kwargs, then the exit order: 0, run at exit


def die_with_parent(parent: int) -> None:
    """Have the kernel send SIGTERM to this process when its parent ends (Linux; elsewhere the lock
    is still let go of, so a surviving worker holds up no later build)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent ended before the request was made
        end(signal.SIGTERM)


@contextmanager
def job() -> Iterator[LazyRenderer]:
    """Run one job with the worker's renderer. A stop signal during the job unwinds it (its
    temporary files are removed on the way), then ends the worker: no next job will come."""
    global _in_job
    _in_job = True
    try:
        yield _renderer
    except WorkerStopped as stopped:
        _in_job = False
        end(stopped.args[0] if stopped.args else signal.SIGTERM)
    finally:
        _in_job = False


def stop(signum: int, frame) -> None:
    """SIGINT or SIGTERM: unwind the job in progress, or end at once when idle."""
    if _in_job:
        insist(signum)
        raise WorkerStopped(signum)
    end(signum)


def insist(signum: int) -> None:
    """Send `signum` to this worker again until it has ended (see the module's docstring): the
    stop raised in the job may have been swallowed. Started once per worker."""
    global _stopping
    if _stopping:
        return
    _stopping = True

    def again() -> None:
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while time.monotonic() < deadline:
            time.sleep(RAISE_AGAIN_SECONDS)
            os.kill(os.getpid(), signum)  # handled in the main thread: raised in the job, or the idle worker ends
        end(signum)  # the main thread is stuck where no handler runs: end without unwinding

    threading.Thread(target=again, name="worker-stop", daemon=True).start()


def end(signum: int) -> None:
    """Remove the fonts and end the worker; a further signal (Ctrl-C and the parent's terminate
    often both arrive, and `insist` sends its own) does not cut the removal short."""
    global _ending
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    # A signal delivered to another thread still runs its handler here, blocked or not: the
    # handler's end() returns, and the first one goes on.
    if _ending is not None:
        if _ending == threading.get_ident():
            return
        while True:  # the other thread is ending the worker
            time.sleep(1)
    _ending = threading.get_ident()
    if _renderer is not None:
        _renderer.close()
    os._exit(128 + signum)
