"""Where the statsforecast fits of a forecast batch run: in this process, on a local pool of forked workers, or on a
Dask cluster.

An executor maps a module-level function over partitions (chunks of series) and returns the results in partition
order; it neither schedules nor queues anything itself. `InProcess` runs each partition here, with statsforecast's
own `n_jobs` processes; `LocalPool` (the application's `local` executor) on a pool of processes kept for the batch;
`Dask` hands the partitions to an existing `distributed.Client` (one task per partition,
one statsforecast process per task) and gathers the results. Every statsforecast series (one training window) is
fitted on its own, so how the series are split into partitions changes nothing in the output: a batch gives the
same bytes whichever executor ran it. The executor is chosen by the application (`AITRACK_EXECUTOR`, read in
`aitrack/settings.py`); this module connects to nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# A partition smaller than this is not worth a task of its own (a statsforecast call costs ~10 ms to set up).
MIN_PARTITION_SERIES = 32


class Executor(Protocol):
    """`imap(fn, partitions)` → `fn(p) for p in partitions`, wherever it runs, one by one in order, each as soon as
    it (and those before it) is done; `fn` must be importable by name."""

    def imap(self, fn: Callable[[Any], Any], partitions: Sequence[Any]) -> Iterator[Any]: ...

    def partitions_for(self, n_series: int) -> int:
        """How many partitions to split `n_series` series into."""
        ...

    def jobs_per_partition(self, workers: int) -> int:
        """statsforecast's `n_jobs` inside one partition, given the batch's configured `workers`."""
        ...


@dataclass(frozen=True)
class InProcess:
    """The default: one partition per fit, run here, statsforecast parallel over `workers` processes."""

    def imap(self, fn: Callable[[Any], Any], partitions: Sequence[Any]) -> Iterator[Any]:
        return (fn(p) for p in partitions)

    def partitions_for(self, n_series: int) -> int:
        return 1

    def jobs_per_partition(self, workers: int) -> int:
        return workers


class LocalPool:
    """Partitions on a pool of `workers` processes forked once for a whole batch (a context manager: the pool
    lives from `with` to its end), each partition fitting its series in its worker.

    statsforecast's own `n_jobs` starts and ends a pool of processes for every call, and runs a call of few series
    in one process while the other cores wait; a forecast batch makes a dozen such calls (one per model and number
    of backtest origins, then the final fits). Here every call's partitions go to the same workers at once, so the
    calls overlap and the pool is started once (docs/performance.md). `initializer` runs in each worker as it starts
    (`forecasts.engine.warm_up` loads statsforecast there while the caller is still reading its data). Outside a
    `with` block, or with one worker, it runs like `InProcess`.
    """

    def __init__(self, workers: int, initializer: Callable[[], Any] | None = None) -> None:
        self.workers = max(1, int(workers))
        self.initializer = initializer
        self._pool = None

    def __enter__(self) -> "LocalPool":
        if self.workers > 1:
            import multiprocessing

            self._pool = multiprocessing.get_context("fork").Pool(self.workers, initializer=self.initializer)
        return self

    def __exit__(self, *exc) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.terminate() if exc[0] is not None else pool.close()
            pool.join()

    def imap(self, fn: Callable[[Any], Any], partitions: Sequence[Any]) -> Iterator[Any]:
        """Every partition is queued at once; the workers take them in order."""
        if self._pool is None:
            return (fn(p) for p in partitions)
        return self._pool.imap(fn, list(partitions), chunksize=1)

    def partitions_for(self, n_series: int) -> int:
        if self._pool is None:
            return 1
        return max(1, min(2 * self.workers, n_series // MIN_PARTITION_SERIES))

    def jobs_per_partition(self, workers: int) -> int:
        return 1 if self._pool is not None else workers


class Dask:
    """Partitions as tasks on a Dask cluster through an existing `distributed.Client` (the caller owns it).

    Two partitions per worker thread, so that a slow partition does not leave the others idle; each task fits its
    series sequentially (the worker is the unit of parallelism).
    """

    def __init__(self, client: Any) -> None:
        self.client = client

    def _threads(self) -> int:
        return max(1, sum(self.client.nthreads().values()))

    def imap(self, fn: Callable[[Any], Any], partitions: Sequence[Any]) -> Iterator[Any]:
        # pure=False: two equal partitions of different runs are still two tasks (no cached result is reused).
        futures = self.client.map(fn, list(partitions), pure=False)
        return (future.result() for future in futures)

    def partitions_for(self, n_series: int) -> int:
        return max(1, min(2 * self._threads(), n_series // MIN_PARTITION_SERIES))

    def jobs_per_partition(self, workers: int) -> int:
        return 1


def split(n: int, parts: int) -> list[range]:
    """`range(n)` in `parts` contiguous, nearly equal chunks (none empty)."""
    parts = max(1, min(parts, n))
    size, extra = divmod(n, parts)
    bounds, start = [], 0
    for k in range(parts):
        stop = start + size + (1 if k < extra else 0)
        bounds.append(range(start, stop))
        start = stop
    return bounds
