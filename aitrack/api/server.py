"""Serving: settings in, uvicorn running the app out (one process, or several sharing one socket)."""

from __future__ import annotations

import errno
import os
import socket
import sys
from typing import Any

from fastapi import FastAPI

from aitrack.errors import UsageError


def app_from_environment() -> FastAPI:
    """Factory for `uvicorn --factory` (several workers): settings from AITRACK_* variables."""
    from aitrack.context import AppContext
    from aitrack.settings import load_settings

    settings = load_settings()
    return create_app_from_settings(AppContext(settings).require_schema(), settings)


def create_app_from_settings(reader: Any, settings: Any) -> FastAPI:
    from aitrack.api.routes import create_app

    return create_app(reader, public_base_url=settings.public_base_url or "", cache_max_bytes=settings.api_cache_bytes)


def check_port(host: str, port: int) -> None:
    """Bind (and release) host:port first, so a busy port is one clear error before anything is announced."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UsageError(f"port {port} on {host} is already in use: stop the other server or pass --port") from None
            if exc.errno == errno.EACCES:
                raise UsageError(f"no permission to listen on {host}:{port} (ports below 1024 need privileges)") from None
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def run_server(target: str | FastAPI, *, host: str, port: int, workers: int = 1, log_level: str = "info",
               access_log: bool = True) -> None:  # fmt: skip
    """uvicorn, with TCP_NODELAY on the shared listening socket when there are several workers.

    uvicorn creates that socket with protocol 0, so asyncio does not switch Nagle off on the accepted connections;
    a small response written as headers + body then waits ~40 ms for the client's delayed ACK. Linux copies
    TCP_NODELAY from the listening socket to the connections it accepts.
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    factory = isinstance(target, str)
    config = uvicorn.Config(target, factory=factory, host=host, port=port, workers=workers, log_level=log_level,
                            access_log=access_log)  # fmt: skip
    server = uvicorn.Server(config)
    if workers <= 1:
        server.run()
        return
    sock = config.bind_socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    Multiprocess(config, target=server.run, sockets=[sock]).run()


def serve(host: str = "127.0.0.1", port: int = 8000, settings: Any | None = None, *, workers: int = 1,
          log_level: str = "info", announce: Any = None) -> None:  # fmt: skip
    """Run the API and dashboard with uvicorn. Fails first, with one clear error, if the database is not at head or
    the port is taken; `announce(url)` is called only after both checks."""
    from aitrack.context import AppContext
    from aitrack.settings import load_settings

    settings = settings or load_settings()
    reader = AppContext(settings).require_schema()
    check_port(host, port)
    if announce is not None:
        announce(f"http://{host}:{port}/")
    if workers > 1:
        # Worker processes build their own app from the environment, so hand them the resolved settings.
        os.environ["AITRACK_DATABASE_URL"] = settings.resolved_database_url
        reader.engine.dispose()
        run_server("aitrack.api.server:app_from_environment", host=host, port=port, workers=workers,
                   log_level=log_level)  # fmt: skip
    else:
        run_server(create_app_from_settings(reader, settings), host=host, port=port, log_level=log_level)


def main(argv: list[str] | None = None) -> None:
    """`python -m aitrack.api HOST PORT WORKERS`: the benchmark's server (settings from the environment)."""
    host, port, workers = (argv or sys.argv)[1:4]
    run_server("aitrack.api.server:app_from_environment", host=host, port=int(port), workers=int(workers),
               log_level="warning", access_log=False)  # fmt: skip
