"""What a build and a preview leave behind, however they end: the caller's environment as it was,
nothing in the temporary directory (WeasyPrint writes the project's fonts there, ~84 MB per
process), no worker outliving its build, no lock that stops the next build.

Builds and previews run as a user runs them, in processes of their own, with TMPDIR pointed at a
folder of the test's: what is left there is exactly what they left.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from brochure_build import output
from brochure_build.build import build
from brochure_build.preview.serve import wait_until
from helpers import ctrl_c_as_in_a_terminal

WAIT = 240  # seconds: a build of two editions takes 20–40 s, more while other work shares the machine


@pytest.fixture()
def tmpdir_of_ours(tmp_path) -> Path:
    folder = tmp_path / "tmp"
    folder.mkdir()
    return folder


@pytest.fixture()
def start(tmpdir_of_ours):
    """Starts `brochure <args> --root root`, each in a session of its own (so the test can Ctrl-C
    it as a terminal does); whatever of those sessions still runs when the test ends is killed."""
    sessions = []

    def start(root: Path, *args: str) -> subprocess.Popen:
        process = subprocess.Popen([sys.executable, "-m", "brochure_build", *args, "--root", str(root)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env=os.environ | {"TMPDIR": str(tmpdir_of_ours)}, start_new_session=True,
                                   preexec_fn=ctrl_c_as_in_a_terminal)
        sessions.append(process.pid)
        return process

    yield start
    for session in sessions:
        for pid in session_processes(session):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def left_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def wait_for_font_folders(folder: Path, count: int, process: subprocess.Popen) -> None:
    """Until `count` processes have written their fonts (WeasyPrint's weasyprint-* folders): they are rendering."""
    deadline = time.monotonic() + WAIT
    while len([name for name in left_in(folder) if name.startswith("weasyprint-")]) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"no {count} weasyprint-* folders in {WAIT} s: {left_in(folder)}"
        time.sleep(0.05)


def session_processes(session: int) -> list[int]:
    """The processes of `session` still running (a build and its workers, a server and its helper)."""
    running = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and os.getsid(int(entry.name)) == session and \
                    (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()[0] != b"Z":
                running.append(int(entry.name))
        except OSError:
            pass
    return running


def session_ended(session: int, timeout: float = 30) -> bool:
    """Whether every process of `session` has ended, waiting up to `timeout`."""
    deadline = time.monotonic() + timeout
    while session_processes(session):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def wait_until_empty(folder: Path, timeout: float = 30) -> list[str]:
    """What is left in `folder` once it is empty, or after `timeout` (processes end a little after their parent)."""
    deadline = time.monotonic() + timeout
    while left_in(folder) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left_in(folder)


def temporaries(root: Path) -> list[Path]:
    return sorted((root / "build").glob("**/*.tmp"))


# -- the environment ------------------------------------------------------------------------------


def test_an_in_process_build_leaves_the_environment_and_the_temporary_directory_as_they_were(project, tmp_path, monkeypatch):
    """The isolated font configuration is WeasyPrint's only: a program that calls the library and
    starts another program after (a browser) must not pass it on."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    environment = dict(os.environ)
    build(project, ["en"], jobs=1)
    assert dict(os.environ) == environment
    assert left_in(tmp_path / "tmp") == []


# -- the temporary directory ------------------------------------------------------------------------


def test_a_parallel_build_leaves_no_temporary_folder(project, tmpdir_of_ours, start):
    process = start(project, "build", "--lang", "en", "--lang", "fr", "--jobs", "2")
    out, err = process.communicate(timeout=WAIT)
    assert (process.returncode, err) == (0, "")
    assert len(out.splitlines()) == 12  # two languages × three files × two products (brochure and leaflet)
    assert left_in(tmpdir_of_ours) == []


@pytest.mark.parametrize("how, status", [("ctrl-c", 130), ("sigterm", 143)])
def test_an_interrupted_parallel_build_leaves_no_temporary_folder_nor_worker(project, tmpdir_of_ours, start, how, status):
    """Ctrl-C reaches the build and its workers (the terminal's process group); SIGTERM the build only."""
    process = start(project, "build", "--lang", "en", "--lang", "fr", "--jobs", "2")
    wait_for_font_folders(tmpdir_of_ours, 2, process)  # both workers are rendering
    if how == "ctrl-c":
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=WAIT)
    assert process.returncode == status, err
    assert err.endswith(": the last good PDFs are unchanged.\n"), err
    assert session_ended(process.pid)
    assert left_in(tmpdir_of_ours) == []
    assert temporaries(project) == []


def test_a_build_killed_outright_leaves_no_worker_and_no_lock(project, tmpdir_of_ours, start):
    """`kill -9` (or the OOM killer) of a two-worker build: the workers end with it, removing their
    fonts, and the next build starts at once rather than wait for the lock forever."""
    process = start(project, "build", "--lang", "en", "--lang", "fr", "--jobs", "2", "--force")
    wait_for_font_folders(tmpdir_of_ours, 2, process)
    process.kill()
    process.wait()  # not communicate(): a worker that outlived it would hold its pipes open
    assert session_ended(process.pid), "a worker outlived its build"
    assert wait_until_empty(tmpdir_of_ours) == []
    again = start(project, "build", "--lang", "en")
    out, err = again.communicate(timeout=WAIT)  # before the fix: waits for the lock forever
    assert (again.returncode, err) == (0, "")
    # screen first: its layout chooses the copy-fit settings the print file is set in
    assert [line.split()[:2] for line in out.splitlines()] == [["en", "screen"], ["en", "print"], ["en", "imposed"]] * 2
    assert temporaries(project) == [] and left_in(tmpdir_of_ours) == []


@pytest.mark.parametrize("whom", ["server", "session"])
def test_a_stopped_preview_leaves_no_temporary_folder(project, tmpdir_of_ours, start, whom):
    """The server and its helper process (the other part of each render) both remove their fonts,
    when SIGTERM stops the server (which stops its helper), or every process of the session (a
    supervisor stopping a process group)."""
    process = start(project, "serve", "--port", "0", "--lang", "en")
    url = None
    deadline = time.monotonic() + WAIT
    while url is None:
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        match = re.search(r"at (http://127\.0\.0\.1:\d+/)", process.stdout.readline())
        url = match and match[1]
    threading.Thread(target=process.stdout.read, daemon=True).start()  # the render log, so the pipe never fills
    # No build has chosen the copy-fit settings yet: the first pages are laid out with provisional
    # ones, off the plan, in one piece; the render that follows with the searched settings is split.
    status = wait_until(url, "en", lambda status: status["state"] == "error" or
                        status["state"] == "ready" and "part 2 total" in status["steps"], WAIT)
    assert status["state"] == "ready" and status["problems"] == "", status  # the helper laid out a part, to plan
    assert len([name for name in left_in(tmpdir_of_ours) if name.startswith("weasyprint-")]) == 2
    if whom == "server":
        process.send_signal(signal.SIGTERM)
    else:
        os.killpg(process.pid, signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    assert session_ended(process.pid)
    assert left_in(tmpdir_of_ours) == []


# -- the lock -------------------------------------------------------------------------------------


def hold_lock(lock_path: Path, pid: int) -> subprocess.Popen:
    """A process that holds `lock_path` with `pid` written in it, as a worker forked from a build
    would have held it after its build was killed (pid: the dead build's)."""
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time\n"
        f"lock = open({str(lock_path)!r}, 'a+')\n"
        "fcntl.flock(lock, fcntl.LOCK_EX)\n"
        f"lock.truncate(0); lock.write('{pid}\\n'); lock.flush()\n"
        "print('held', flush=True)\n"
        "time.sleep(600)\n")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    return holder


def test_a_lock_held_although_its_build_has_ended_is_taken_over(project, monkeypatch, capsys):
    """A lock from an earlier version (or any process that kept it) whose build no longer runs."""
    (project / "build").mkdir()
    ended = subprocess.Popen(["true"])
    ended.wait()
    holder = hold_lock(project / "build/.lock", ended.pid)
    monkeypatch.chdir(project.parent)
    try:
        acquired = threading.Event()

        def take() -> None:
            with output.build_lock(project / "build"):
                acquired.set()

        thread = threading.Thread(target=take)
        thread.start()
        thread.join(timeout=30)
        assert acquired.is_set()
    finally:
        holder.kill()
        holder.wait()
    assert capsys.readouterr().err == (f"project/build/.lock was held by pid {ended.pid}, which is no longer running "
                                       "(processes it started still hold the lock): taking it over\n")
    assert (project / "build/.lock").read_text() == f"{os.getpid()}\n"


def test_a_lock_held_by_a_running_build_is_waited_for_and_named_from_the_current_folder(project, monkeypatch, capsys):
    """`--root DIR`: the message names DIR/build/.lock, as every other message names its paths."""
    (project / "build").mkdir()
    holder = hold_lock(project / "build/.lock", os.getpid())  # a build that runs: this process
    monkeypatch.chdir(project.parent)
    acquired = threading.Event()

    def take() -> None:
        with output.build_lock(project / "build"):
            acquired.set()

    thread = threading.Thread(target=take)
    thread.start()
    try:
        time.sleep(1)  # not a timing assertion: a build that ignored the lock would have it by now
        assert not acquired.is_set()
    finally:
        holder.kill()
        holder.wait()
    thread.join(timeout=30)
    assert acquired.is_set()
    assert capsys.readouterr().err == ("Waiting for another build of this project to finish (project/build/.lock is held by "
                                       f"pid {os.getpid()})...\n")


def test_a_forked_child_does_not_keep_the_lock(project):
    """What a worker does first (workers.start): its copy of the lock's descriptor no longer holds
    the lock, so the lock ends with the build however the build ends (here os._exit: no unlock)."""
    (project / "build").mkdir()
    build_process = os.fork()
    if build_process == 0:  # never returns to pytest, whatever happens
        try:
            with output.build_lock(project / "build"):
                worker = os.fork()
                if worker == 0:
                    try:
                        output.release_inherited_locks()
                        time.sleep(10)
                    finally:
                        os._exit(0)
                with open(project / "worker.pid", "w") as file:
                    file.write(str(worker))
                os._exit(0)  # the build ends, killed: its lock is never unlocked
        finally:
            os._exit(1)
    assert os.waitpid(build_process, 0)[1] == 0
    worker = int((project / "worker.pid").read_text())
    try:
        with open(project / "build/.lock") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError if the worker held it still
    finally:
        os.kill(worker, signal.SIGKILL)


@pytest.mark.parametrize("swallowed", ["once", "always"])
def test_a_worker_whose_stop_was_swallowed_ends_all_the_same(project, tmpdir_of_ours, swallowed):
    """The stop signal arrives once and is raised in the job as an exception. Where that lands in
    code that swallows exceptions (a __del__, a garbage-collector callback), the job goes on: the
    worker raises it again until the job unwinds, rather than outlive its build (it would then
    wait for its next job forever, holding its own end of the job queue). A job that swallows it
    every time is ended after workers.STOP_GRACE_SECONDS, its fonts removed all the same."""
    from brochure_build import workers

    code = "\n".join([
        "import os, sys, time",
        "from pathlib import Path",
        "from brochure_build import workers",
        f"workers.start(Path({str(project)!r}), os.getppid())",
        "with workers.job() as renderer:",
        f"    renderer.get().stylesheets.get([Path({str(project / 'layouts/css/fonts.css')!r})])  # fonts written out",
        f"    for attempt in range({1 if swallowed == 'once' else 1000}):",
        "        try:",
        "            print('in the job', flush=True)",
        "            time.sleep(60)",
        "        except KeyboardInterrupt:",
        "            print('swallowed', flush=True)",
        "    time.sleep(60)  # the job goes on",
        "print('the job ended', flush=True)",
    ])
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                               env=os.environ | {"TMPDIR": str(tmpdir_of_ours)})
    assert process.stdout.readline() == "in the job\n"
    assert [name for name in left_in(tmpdir_of_ours) if name.startswith("weasyprint-")]
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM
    if swallowed == "once":
        assert out == "swallowed\n"
    else:  # raised again each second, then ended
        assert out.startswith("swallowed\nin the job\nswallowed\n") and "the job ended" not in out
        assert time.monotonic() - started >= workers.STOP_GRACE_SECONDS
    assert left_in(tmpdir_of_ours) == []
