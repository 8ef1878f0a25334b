"""The indicator catalog: `catalog.yaml` in, a validated `Catalog` (entries + dimension config) out; a bad entry fails naming its id and field."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import Enum
from pathlib import Path
from typing import Any, Literal

import yaml
from contracts import yamltext
from contracts.dimensions import DIMENSION_NAMES
from contracts.units import UNITS, unit_spec
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

CATALOG_PATH = Path(__file__).with_name("catalog.yaml")

# Units the catalog knows, with the scale a forecast starts from and the bounds of a bounded unit
# (derived from contracts.units, the one definition of each unit's range).
UNIT_SCALES: dict[str, tuple[str, tuple[float, float] | None]] = {
    name: (spec.default_scale, spec.bounds) for name, spec in UNITS.items()
}


class CatalogError(ValueError):
    """The catalog file is malformed; the message names the entry id and the field."""

    def __init__(self, message: str, *, entry: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.entry = entry
        self.field = field


class Category(str, Enum):
    research = "research"
    patents = "patents"
    rd = "rd"
    talent = "talent"
    financing = "financing"
    compute = "compute"
    economy = "economy"
    legitimacy = "legitimacy"
    values = "values"
    influence = "influence"
    other = "other"  # user-imported series whose theme the importer did not say


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceRef(_Strict):
    # A source id of fetchers.registry; `check_sources` checks it where both are known (indicators import no fetcher).
    source: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    series: str = Field(min_length=1)


class IndicatorEntry(_Strict):
    """One indicator: what it measures, where it comes from, which dimensions it feeds."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    unit: str
    category: Category
    direction: Literal["higher_is_better", "lower_is_better"]
    comparison: Literal["pair", "single_country", "bilateral", "evidence_only"]
    forecast_scale: Literal["log", "logit", "level"] | None = None
    bounds: tuple[float | None, float | None] | None = None  # hard limits; either side may be open (None)
    scale_fixed: bool = False  # an imported series that states its scale: the backtest does not choose
    sources: tuple[SourceRef, ...] = ()
    dimensions: dict[Literal[DIMENSION_NAMES], float] = Field(default_factory=dict)  # type: ignore[valid-type]
    cadence_days: int = Field(gt=0)
    caveats: tuple[str, ...] = ()
    derived_from: tuple[str, ...] | None = None

    @field_validator("dimensions")
    @classmethod
    def _positive_weights(cls, weights: dict[str, float]) -> dict[str, float]:
        for name, weight in weights.items():
            if not weight > 0:
                raise ValueError(f"weight for {name} must be > 0, got {weight}")
        return weights

    @field_validator("caveats")
    @classmethod
    def _non_empty_caveats(cls, caveats: tuple[str, ...]) -> tuple[str, ...]:
        if any(not c.strip() for c in caveats):
            raise ValueError("a caveat is empty")
        return caveats

    @model_validator(mode="after")
    def _consistent(self) -> "IndicatorEntry":
        # The packaged catalog uses known units only; an analyst's imported series may bring any unit.
        if self.unit not in UNIT_SCALES and not (self.sources and all(s.source == "user" for s in self.sources)):
            raise ValueError(f"unit: unknown unit {self.unit!r}; known: {', '.join(UNIT_SCALES)}")
        if self.comparison == "evidence_only":
            if self.sources:
                raise ValueError("sources: an evidence_only indicator has no data series")
            if self.dimensions:
                raise ValueError("dimensions: an evidence_only indicator cannot carry a weight")
        else:
            if not self.sources:
                raise ValueError("sources: at least one source is required")
            if self.forecast_scale is None:
                raise ValueError("forecast_scale: required for an indicator with a data series")
        if self.dimensions and self.comparison != "pair":
            # Only a series that both countries have yields a pair share to aggregate.
            raise ValueError(f"dimensions: a {self.comparison} indicator has no pair share to weight")
        if self.forecast_scale == "logit":
            if self.bounds is None:
                raise ValueError("bounds: a logit forecast_scale needs [low, high]")
            if None in self.bounds or not self.bounds[0] < self.bounds[1]:
                raise ValueError("bounds: low must be below high")
        elif self.bounds is not None and None not in self.bounds and not self.bounds[0] < self.bounds[1]:
            raise ValueError("bounds: low must be below high")
        derived_source = any(s.source == "aitrack" for s in self.sources)
        if self.derived_from is not None and not derived_source:
            raise ValueError("sources: a derived indicator's source is aitrack")
        if derived_source and not self.derived_from:
            raise ValueError("derived_from: an aitrack-derived indicator lists its inputs")
        return self

    @property
    def evidence_only(self) -> bool:
        return self.comparison == "evidence_only"

    @property
    def is_derived(self) -> bool:
        return self.derived_from is not None


class DimensionSpec(_Strict):
    """A dimension's configuration: what it means, where the seed says so, how much data it needs."""

    name: str
    description: str = Field(min_length=1)
    seed_citations: tuple[str, ...] = Field(min_length=1)
    coverage_threshold: float = Field(gt=0, le=1)  # weight share that must be present for a score
    min_indicators: int = Field(ge=1)
    # Computed from the member count by `concentration_for` when the catalog is parsed, never typed in the YAML.
    dirichlet_concentration: float = 0.0
    gaps: tuple[str, ...] = ()  # the seed's proxies that have no pair series (documented, never scored)


# Dirichlet concentration per member beyond the first: 4(k-1) gives an average weight a coefficient of variation of
# about 0.5 (docs/methodology.md, "Weight uncertainty"), whatever the number of members k.
CONCENTRATION_PER_MEMBER = 4.0


def concentration_for(n_members: int) -> float:
    """The weight-draw concentration of a dimension with `n_members` weighted indicators (≥ 1 for a single member,
    whose weight is 1 in every draw anyway)."""
    return max(CONCENTRATION_PER_MEMBER * (n_members - 1), 1.0)


class Catalog:
    """Validated indicator entries and dimension specs, looked up by id."""

    def __init__(self, entries: Mapping[str, IndicatorEntry], dimensions: Mapping[str, DimensionSpec]) -> None:
        self._entries = dict(entries)
        self.dimensions: dict[str, DimensionSpec] = dict(dimensions)

    def __iter__(self) -> Iterator[IndicatorEntry]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, indicator: object) -> bool:
        return indicator in self._entries

    @property
    def entries(self) -> dict[str, IndicatorEntry]:
        return dict(self._entries)

    def ids(self) -> list[str]:
        return list(self._entries)

    def get(self, indicator: str) -> IndicatorEntry:
        try:
            return self._entries[indicator]
        except KeyError:
            raise KeyError(f"indicator {indicator!r} is not in the catalog") from None

    def source_priority(self, indicator: str) -> list[str]:
        """Source ids in the order a repeated (indicator, country, year) is resolved: first wins."""
        seen: list[str] = []
        for ref in self.get(indicator).sources:
            if ref.source not in seen:
                seen.append(ref.source)
        return seen

    def series_map(self, source: str) -> dict[str, tuple[str, str]]:
        """The provider's series code → (indicator id, unit) for one source: the one map a fetcher or snapshot parser
        uses to name what it parsed (a code claimed by two indicators is a catalog error)."""
        found: dict[str, tuple[str, str]] = {}
        for entry in self:
            for ref in entry.sources:
                if ref.source != source:
                    continue
                if ref.series in found and found[ref.series][0] != entry.id:
                    raise CatalogError(f"{entry.id}: sources: {source} series {ref.series!r} already names "
                                       f"{found[ref.series][0]}", entry=entry.id, field="sources")  # fmt: skip
                found[ref.series] = (entry.id, entry.unit)
        return found

    def dimension_weights(self, dimension: str) -> dict[str, float]:
        """Nominal weights of the dimension's member indicators, in catalog order."""
        if dimension not in self.dimensions:
            raise KeyError(f"dimension {dimension!r} is not configured")
        return {e.id: e.dimensions[dimension] for e in self if dimension in e.dimensions}

    def register_user_indicator(
        self, indicator: str, unit: str, *, name: str | None = None, category: str = "other",
        scale: str | None = None, bounds: tuple[float | None, float | None] | None = None,
    ) -> IndicatorEntry:
        """Add an analyst's series (`aitrack import`) and return its entry. Any unit is accepted: a known one
        brings its scale and range, another has none. A stated `scale` is fixed; stated `bounds` are hard limits."""
        if indicator in self._entries:
            existing = self._entries[indicator]
            if existing.unit != unit:
                raise CatalogError(
                    f"{indicator}: unit: already catalogued in {existing.unit!r}, import says {unit!r}",
                    entry=indicator, field="unit",
                )
            return existing
        spec = unit_spec(unit)
        stated_bounds = bounds is not None and tuple(bounds) != (None, None)
        bounds = tuple(bounds) if stated_bounds else ((spec.lower, spec.upper) if spec.lower is not None else None)
        raw = {
            "id": indicator,
            "name": name or indicator.replace("_", " "),
            "unit": unit,
            "category": category,
            "direction": "higher_is_better",
            "comparison": "pair",
            "forecast_scale": scale or spec.default_scale,
            "bounds": bounds,
            "scale_fixed": scale is not None,
            "sources": [{"source": "user", "series": indicator}],
            "cadence_days": 365,
            "caveats": ["Imported by an analyst: provenance is the imported file's, not a catalogued source."],
        }
        entry = _validate_entry(raw, position=len(self._entries))
        self._entries[indicator] = entry
        return entry


def _located(error: dict[str, Any]) -> tuple[str, str]:
    """(field, message) of a pydantic error; a whole-entry check names its field at the start of its message."""
    message = str(error["msg"]).removeprefix("Value error, ")
    field = ".".join(str(part) for part in error["loc"] if part != "[key]")
    if not field:
        head, sep, rest = message.partition(": ")
        if sep and head.isidentifier():
            return head, rest
        return "(entry)", message
    return field, message


def _validate_entry(raw: Any, *, position: int) -> IndicatorEntry:
    if not isinstance(raw, dict):
        raise CatalogError(f"indicators[{position}]: (entry): expected a mapping, got {type(raw).__name__}")
    label = str(raw.get("id") or f"indicators[{position}]")
    try:
        return IndicatorEntry.model_validate(raw)
    except ValidationError as exc:
        field, message = _located(exc.errors()[0])
        raise CatalogError(f"{label}: {field}: {message}", entry=label, field=field) from exc


def _validate_dimension(name: str, raw: Any) -> DimensionSpec:
    if not isinstance(raw, dict):
        raise CatalogError(f"dimension {name}: (entry): expected a mapping", entry=name)
    if "dirichlet_concentration" in raw:
        raise CatalogError(
            f"dimension {name}: dirichlet_concentration: computed from the member count (4(k-1)); remove it",
            entry=name, field="dirichlet_concentration",
        )
    try:
        return DimensionSpec.model_validate({"name": name, **raw})
    except ValidationError as exc:
        field, message = _located(exc.errors()[0])
        raise CatalogError(f"dimension {name}: {field}: {message}", entry=name, field=field) from exc


def parse_catalog(document: Any) -> Catalog:
    """Validate a parsed catalog document (the YAML's top-level mapping) into a Catalog."""
    if not isinstance(document, dict):
        raise CatalogError("catalog: (document): expected a mapping with 'dimensions' and 'indicators'")
    unknown = set(document) - {"dimensions", "indicators"}
    if unknown:
        raise CatalogError(f"catalog: {sorted(unknown)[0]}: unknown top-level key")
    raw_dims = document.get("dimensions")
    if not isinstance(raw_dims, dict) or set(raw_dims) != set(DIMENSION_NAMES):
        raise CatalogError(f"catalog: dimensions: must configure exactly {', '.join(DIMENSION_NAMES)}", field="dimensions")
    dimensions = {name: _validate_dimension(name, raw_dims[name]) for name in DIMENSION_NAMES}

    raw_entries = document.get("indicators")
    if not isinstance(raw_entries, list) or not raw_entries:
        raise CatalogError("catalog: indicators: expected a non-empty list", field="indicators")
    entries: dict[str, IndicatorEntry] = {}
    for position, raw in enumerate(raw_entries):
        entry = _validate_entry(raw, position=position)
        if entry.id in entries:
            raise CatalogError(f"{entry.id}: id: duplicate entry", entry=entry.id, field="id")
        entries[entry.id] = entry

    for entry in entries.values():
        for parent in entry.derived_from or ():
            if parent not in entries:
                raise CatalogError(
                    f"{entry.id}: derived_from: {parent!r} is not in the catalog", entry=entry.id, field="derived_from"
                )
    for name, spec in dimensions.items():
        for gap in spec.gaps:
            if gap not in entries:
                raise CatalogError(f"dimension {name}: gaps: {gap!r} is not in the catalog", entry=name, field="gaps")
            if entries[gap].comparison == "pair" and name in entries[gap].dimensions:
                raise CatalogError(
                    f"dimension {name}: gaps: {gap!r} is weighted in this dimension, so it is no gap",
                    entry=name, field="gaps",
                )
        members = sum(name in e.dimensions for e in entries.values())
        if not members:
            raise CatalogError(f"dimension {name}: (entry): no indicator carries a weight for it", entry=name)
        dimensions[name] = spec.model_copy(update={"dirichlet_concentration": concentration_for(members)})
    return Catalog(entries, dimensions)


def check_sources(catalog: Catalog, known: "set[str] | frozenset[str] | tuple[str, ...]") -> None:
    """CatalogError naming the first entry whose source is not a registered source id."""
    for entry in catalog:
        for ref in entry.sources:
            if ref.source not in known:
                raise CatalogError(
                    f"{entry.id}: sources: unknown source {ref.source!r}; registered: {', '.join(sorted(known))}",
                    entry=entry.id, field="sources",
                )


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Read and validate the catalog (default: the packaged `catalog.yaml`); raise CatalogError on any defect."""
    source = Path(path) if path is not None else CATALOG_PATH
    try:
        document = yamltext.safe_load(source.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CatalogError(f"catalog: (document): {source} is not valid YAML: {exc}") from exc
    return parse_catalog(document)
