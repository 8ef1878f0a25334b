"""Process exit codes: one meaning each, for every command, the cron wrapper and the systemd unit (DESIGN §11)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    PARTIAL = 1  # a handled partial failure: some sources failed, the rest were stored; a failed check
    FAILED = 2  # everything failed, or bad input / a usage error
    LOCKED = 3  # another refresh, build or forecast holds the lock
    INTERNAL = 4  # an unexpected error: one line on stderr, the traceback in the log file


EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 partial failure (some sources failed, the rest stored) or a failed check; "
    "2 failed or bad input; 3 locked by another run; 4 internal error (traceback in the log file)."
)
