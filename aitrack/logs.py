"""Logging to stderr: human lines by default, JSON lines (one object per event) for log collectors; every line scrubbed
of configured secrets; an internal error's traceback appended to a log file (the terminal gets one line)."""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import traceback
from datetime import datetime, timezone
from pathlib import Path

from contracts.redaction import NO_SECRETS, Scrubber

# Loggers of the project's packages: each gets the handler (so warnings of fetchers reach the operator, formatted and
# scrubbed) at the configured level. `aitrack` stops there; the others also propagate (to nothing in the CLI, to the
# handlers a host application or a test harness put on the root logger).
PROJECT_LOGGERS = ("aitrack", "fetchers", "db", "indicators", "forecasts")
# Third-party loggers that write request URLs (with any key in them) at INFO: kept at WARNING whatever the level.
QUIET_LOGGERS = ("httpx", "httpcore")
ERROR_LOG_NAME = "aitrack-errors.log"


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        event.update(getattr(record, "fields", {}))
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, ensure_ascii=False, default=str)


class ScrubbingFormatter(logging.Formatter):
    """Formats with `inner`, then masks every configured secret in the whole line (message, fields, traceback)."""

    def __init__(self, inner: logging.Formatter, scrubber: Scrubber) -> None:
        super().__init__()
        self.inner = inner
        self.scrubber = scrubber

    def format(self, record: logging.LogRecord) -> str:
        return self.scrubber.text(self.inner.format(record)) or ""


def configure_logging(fmt: str = "text", level: str = "INFO", *, scrubber: Scrubber = NO_SECRETS) -> None:
    handler = logging.StreamHandler(sys.stderr)
    inner = JsonLineFormatter() if fmt == "json" else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler.setFormatter(ScrubbingFormatter(inner, scrubber))
    for name in PROJECT_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = name != "aitrack"
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))


def write_error_log(exc: BaseException, *, log_dir: Path | None, command: list[str],
                    scrubber: Scrubber = NO_SECRETS) -> Path:  # fmt: skip
    """Append the traceback of an unexpected error (scrubbed) to `<log_dir>/aitrack-errors.log`; the file's path.

    Falls back to the system's temporary directory when `log_dir` cannot be written.
    """
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    entry = f"=== {stamp} pid {os.getpid()}: {' '.join(command)}\n{text}\n"
    entry = scrubber.text(entry) or entry
    for directory in ([log_dir] if log_dir is not None else []) + [Path(tempfile.gettempdir())]:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / ERROR_LOG_NAME
            with path.open("a", encoding="utf-8") as fh:
                fh.write(entry)
            return path
        except OSError:
            continue
    raise OSError("no writable directory for the error log")
