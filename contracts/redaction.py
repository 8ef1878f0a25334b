"""Configured secrets in, a scrubber out: every text the application stores, logs or prints passes through one, so a
key a provider echoes back (in an error body, a redirect, a URL) never leaves the process."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
# Shorter strings are not treated as secrets: masking them would mangle ordinary text (and no real key is that short).
MIN_SECRET_LENGTH = 6


class Scrubber:
    """Replaces each configured secret, raw or URL-encoded, with `***` in text, bytes and JSON-like values."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= MIN_SECRET_LENGTH:
                forms.update({secret, quote(secret, safe=""), quote_plus(secret)})
        # Longest first, so that an encoded form containing the raw one is masked whole.
        self.forms: tuple[str, ...] = tuple(sorted(forms, key=len, reverse=True))
        self._bytes = tuple(f.encode() for f in self.forms)

    def __bool__(self) -> bool:
        return bool(self.forms)

    def text(self, value: str | None) -> str | None:
        if not value or not self.forms:
            return value
        for form in self.forms:
            if form in value:
                value = value.replace(form, MASK)
        return value

    def bytes(self, value: bytes) -> bytes:
        if not value or not self._bytes:
            return value
        for form in self._bytes:
            if form in value:
                value = value.replace(form, MASK.encode())
        return value

    def contains(self, value: str | bytes) -> bool:
        if isinstance(value, bytes):
            return any(form in value for form in self._bytes)
        return any(form in value for form in self.forms)

    def value(self, value: Any) -> Any:
        """A JSON-like structure (dicts, lists, strings) with every string scrubbed."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)) if isinstance(k, str) else k: self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(v) for v in value]
        return value


NO_SECRETS = Scrubber()
