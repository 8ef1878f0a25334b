"""Child processes that die with their parent, however the parent dies (even SIGKILL, which no handler sees).

Each worker process watches its parent: a daemon thread polls `os.getppid()` and, once the parent is gone (the child
was re-parented), ends the worker at once. Nothing has to be cleaned up after a worker — its results only ever reach
the database through the parent.

How workers get the watch:
- `bind_children()` (called when the CLI loads) registers it for every child this process forks (multiprocessing's
  `fork` start method, which statsforecast's `n_jobs` uses on Linux) and starts it in a process that is itself a
  `spawn`/`forkserver` worker of the CLI (such a worker re-imports the `aitrack` console script, hence the CLI);
- `die_with_parent` is also a picklable executor initializer, for workers started any other way:
  `ProcessPoolExecutor(initializer=die_with_parent)`, `multiprocessing.Pool(initializer=die_with_parent)`.

`terminate_children()` ends this process's multiprocessing children; the CLI's SIGTERM handler calls it before it
exits, so a stopped job never leaves workers behind even for the poll interval.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time

POLL_S = 0.2
# Exit status of a worker whose parent died (EX_SOFTWARE-like; nobody waits for it).
ORPHAN_EXIT = 70

_watched_pid: int | None = None
_hook_registered = False
_guard = threading.Lock()


def _parent_gone(parent: int) -> bool:
    # A multiprocessing worker knows its parent through a sentinel pipe that ends when the parent dies (for forkserver
    # workers the parent is the process that asked for them, not the fork server). Until the worker has bootstrapped,
    # and for any other child, the parent is the one it had when the watch began.
    mp_parent = multiprocessing.parent_process()
    if mp_parent is not None:
        return not mp_parent.is_alive()
    return os.getppid() != parent


def _watch(parent: int, poll_s: float) -> None:
    while True:
        if _parent_gone(parent):
            os._exit(ORPHAN_EXIT)
        time.sleep(poll_s)


def die_with_parent(poll_s: float = POLL_S) -> None:
    """Make the calling process exit as soon as its parent is gone. Idempotent; safe as an executor initializer.

    A spawned worker may get here after its parent already died (it was killed while the worker was still importing):
    the worker then exits as soon as multiprocessing has told it who its parent was.
    """
    global _watched_pid
    with _guard:
        if _watched_pid == os.getpid():
            return
        _watched_pid = os.getpid()
    threading.Thread(target=_watch, args=(os.getppid(), poll_s), name="aitrack-parent-watch", daemon=True).start()


def _after_fork_in_child() -> None:
    global _watched_pid
    _watched_pid = None  # the parent's watch (if any) did not survive the fork: threads are not copied
    # The CLI's SIGTERM handler (unwind the job, end its children) is the parent's: a forked worker is ended by
    # SIGTERM as usual. multiprocessing.Pool.terminate() — statsforecast's cross-validation pool, on every exit —
    # relies on it; with the handler inherited, a worker waiting for a task could outlive the SIGTERM and the pool's
    # join would wait for ever.
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except ValueError:  # not the child's main thread (cannot happen after fork; kept safe)
        pass
    die_with_parent()


def _is_spawned_worker() -> bool:
    """True in a process started by multiprocessing's spawn or forkserver method (before or after its bootstrap)."""
    if multiprocessing.parent_process() is not None:
        return True
    return "--multiprocessing-fork" in sys.argv or getattr(multiprocessing.current_process(), "_inheriting", False)


def bind_children() -> None:
    """Children of this process die with it: forked ones through an at-fork hook, and this process itself when it is a
    spawned worker. Idempotent."""
    global _hook_registered
    with _guard:
        register = not _hook_registered
        _hook_registered = True
    if register and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)
    if _is_spawned_worker():
        die_with_parent()


def terminate_children(timeout_s: float = 2.0) -> None:
    """End this process's multiprocessing children (SIGTERM, then SIGKILL for those still alive after `timeout_s`)."""
    children = multiprocessing.active_children()
    for child in children:
        child.terminate()
    deadline = time.monotonic() + timeout_s
    for child in children:
        child.join(max(0.0, deadline - time.monotonic()))
        if child.is_alive():
            child.kill()


class Terminated(BaseException):
    """SIGTERM arrived: unwinds like KeyboardInterrupt (transactions roll back, locks are released)."""

    exit_code = 128 + signal.SIGTERM


def _on_sigterm(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
    terminate_children()
    raise Terminated()


def install_sigterm_handler() -> None:
    """In the main thread: SIGTERM ends child workers, then unwinds the job (exit 143)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
