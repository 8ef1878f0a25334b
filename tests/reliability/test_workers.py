"""Issue 14, failure 6: kill -9 of `forecast --all` or `run` left its worker processes (~320 MB each) alive for
minutes, holding the parent's stdout. Workers now die with their parent (aitrack.processes), whatever kills it.

The parent here starts workers the way the forecast job does (forecasts/pair.py: a ProcessPoolExecutor on the `spawn`
context) from a script that, like the `aitrack` console script, imports the CLI at module level; the `fork` context is
what statsforecast's n_jobs uses on Linux; the initializer covers any other way of starting workers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

PARENT = """
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from aitrack.cli import app  # noqa: F401 - what the console script does first

from aitrack.processes import die_with_parent


def main(method: str, with_initializer: bool) -> None:
    context = multiprocessing.get_context(method)
    extra = {"initializer": die_with_parent} if with_initializer else {}
    with ProcessPoolExecutor(max_workers=2, mp_context=context, **extra) as pool:
        futures = [pool.submit(time.sleep, 120) for _ in range(2)]
        while len(multiprocessing.active_children()) < 2:
            time.sleep(0.05)
        time.sleep(1.0)  # the workers are inside their tasks
        print(" ".join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
        for future in futures:
            future.result()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] == "initializer")
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")  # a zombie is dead; only its parent (now init) has yet to reap it


@pytest.mark.parametrize(("method", "initializer"), [("spawn", False), ("fork", False), ("forkserver", True)])
def test_workers_die_when_their_parent_is_killed_with_sigkill(tmp_path, method, initializer):
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    parent = subprocess.Popen([sys.executable, str(script), method, "initializer" if initializer else "plain"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[2])  # fmt: skip
    try:
        line = parent.stdout.readline()
        workers = [int(p) for p in line.split()]
        assert len(workers) == 2, parent.stderr.read() if not line else line
        assert all(_alive(p) for p in workers)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
    deadline = time.monotonic() + 20.0  # a worker still importing when its parent died exits once it is up
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.05)
    survivors = [p for p in workers if _alive(p)]
    for pid in survivors:  # do not leave them behind if the test fails
        os.kill(pid, signal.SIGKILL)
    assert survivors == []
    # Nobody holds the parent's stdout any more: reading it ends.
    assert parent.stdout.read() == ""


POOL_PARENT = """
import multiprocessing
import signal

from aitrack.cli import app  # noqa: F401 - what the console script does first

from aitrack.processes import install_sigterm_handler

install_sigterm_handler()  # as every CLI command does
assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
for _ in range(20):
    # statsforecast's cross-validation pool: Pool.__exit__ ends idle workers with SIGTERM and joins them.
    with multiprocessing.get_context("fork").Pool(2) as pool:
        handler = pool.apply(signal.getsignal, (signal.SIGTERM,))
print("default" if handler == signal.SIG_DFL else f"inherited {handler!r}", flush=True)
"""


def test_forked_workers_do_not_inherit_the_clis_sigterm_handler(tmp_path):
    """A pool worker that ran the CLI's handler on the SIGTERM of Pool.terminate() could outlive it, and the pool's
    join (after every statsforecast cross-validation) then waited for ever."""
    script = tmp_path / "pool_parent.py"
    script.write_text(POOL_PARENT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "default"
