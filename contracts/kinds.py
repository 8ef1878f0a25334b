"""Value kinds of an observation (DESIGN §3) and the named subsets each layer uses; one definition each."""

from __future__ import annotations

VALUE_KINDS: tuple[str, ...] = ("measured", "estimate", "provisional", "projection", "target", "pledge", "claim")

# What happened and is complete: the only kinds that enter a forecast or a dimension score as history.
HISTORY_KINDS: tuple[str, ...] = ("measured", "estimate")
# A partial year (a value published before the year ended): shown as history, flagged, never modelled.
PROVISIONAL = "provisional"
# Kinds drawn as history on a chart or listed as latest values (flagged when provisional).
OBSERVED_KINDS: tuple[str, ...] = (*HISTORY_KINDS, PROVISIONAL)
# Statements about the future or intentions: shown beside a forecast, never inside it.
SHOWN_BESIDE_KINDS: tuple[str, ...] = ("projection", "target", "pledge", "claim")

# The seed-evidence vocabulary (indicators/evidence): the documents say "forecast" where data say "projection".
EVIDENCE_KINDS: tuple[str, ...] = ("measured", "estimate", "target", "pledge", "forecast", "claim")

assert set(OBSERVED_KINDS) | set(SHOWN_BESIDE_KINDS) == set(VALUE_KINDS)
assert not set(OBSERVED_KINDS) & set(SHOWN_BESIDE_KINDS)


def sql_list(kinds: tuple[str, ...]) -> str:
    """`('measured', 'estimate')` for SQL view text generated from these constants."""
    return "(" + ", ".join(f"'{k}'" for k in kinds) + ")"
