"""User-facing errors: each becomes one line on stderr and a non-zero exit code in the CLI."""

from __future__ import annotations


class AitrackError(Exception):
    """An error the user can act on; `exit_code` is what the CLI returns."""

    exit_code = 2


class SettingsError(AitrackError):
    pass


class DatabaseError(AitrackError):
    pass


class UsageError(AitrackError):
    exit_code = 2
