"""Typed fetch errors: what went wrong with a source, in words a user can act on."""

from __future__ import annotations


class FetchError(Exception):
    """Base class: a source could not deliver usable data."""


class SourceQueryError(FetchError):
    """The provider rejected the request (4xx, or an error body sent with HTTP 200); carries its message."""

    def __init__(self, message: str, *, status: int | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.url = url


class SourceUnavailableError(FetchError):
    """Retries exhausted on connection errors, 429 or 5xx."""


class EmptyDataError(FetchError):
    """The request succeeded but returned no observations."""


class SchemaDriftError(FetchError):
    """The payload does not have the shape the parser expects (a field missing or renamed, a body that does not parse)."""
