"""The four critical elements of the competition (seed 004 L1497-1498) and the parity point of a pair score."""

from __future__ import annotations

DIMENSION_NAMES: tuple[str, ...] = ("values", "cohesion", "influence", "legitimacy")
# A dimension score is the challenger's share of the pair: 0.5 is parity.
PARITY = 0.5
