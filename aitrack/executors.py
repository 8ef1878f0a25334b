"""`AITRACK_EXECUTOR` → where a forecast batch's statsforecast fits run (`forecasts.executors`), for one job.

`local` (the default) runs them on this machine, on a pool of the job's `workers` processes forked once for the job
(`forecasts.executors.LocalPool`); `dask://host:port` connects a `distributed.Client` to that Dask
scheduler for the length of the job and closes it afterwards. The workers need this package installed (the same
version: they import `forecasts.engine` by name).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from aitrack.errors import SettingsError

LOCAL = "local"
DASK_SCHEME = "dask://"
RAY_SCHEME = "ray://"
# How long connecting to the scheduler may take before the job fails with one line.
CONNECT_TIMEOUT_S = 30
RAY_UNSUPPORTED = (
    "Ray is not supported in this version: the forecast batch runs in-process (local) or on Dask "
    "(dask://host:8786); a Ray executor would need its own partition mapping and a Ray cluster in CI to prove "
    "results identical to the local run, which this version does not ship"
)


def check_executor(value: str) -> str:
    """The setting as given, or ValueError with one line saying what is accepted (settings validation)."""
    if value == LOCAL:
        return value
    if value.startswith(RAY_SCHEME):
        raise ValueError(RAY_UNSUPPORTED)
    if value.startswith(DASK_SCHEME):
        host, _, port = value[len(DASK_SCHEME):].rstrip("/").rpartition(":")
        if host and port.isdigit():
            return value
    raise ValueError(f"expected 'local' or 'dask://host:port' (e.g. dask://127.0.0.1:8786), got {value!r}")


def configured_executor(value: str | None) -> str:
    """`value`, or the `AITRACK_EXECUTOR` setting when a job's caller passed none."""
    if value is not None:
        return value
    from aitrack.settings import load_settings

    return load_settings().executor


@contextmanager
def forecast_executor(value: str, workers: int = 1) -> Iterator[object]:
    """The executor for `value` (checked by `check_executor`): `local` a pool of `workers` processes (this process
    alone for 1), ended with the block; a Dask client is closed when the block ends."""
    from forecasts.engine import warm_up
    from forecasts.executors import Dask, LocalPool

    check_executor(value)
    if value == LOCAL:
        with LocalPool(workers, initializer=warm_up) as pool:
            yield pool
        return
    from distributed import Client

    address = "tcp://" + value[len(DASK_SCHEME):].rstrip("/")
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        raise SettingsError(f"AITRACK_EXECUTOR={value}: cannot reach the Dask scheduler ({exc})") from None
    with client:
        yield Dask(client)
