"""The catalog of one database: the packaged catalog plus the indicators `aitrack import` registered in it."""

from __future__ import annotations

from db.read import Reader
from db.write import IndicatorRecord, Writer
from fetchers.registry import OBSERVATION_SOURCE_IDS
from indicators.catalog import Catalog, check_sources, load_catalog


def indicator_records(catalog: Catalog, *, origin: str = "catalog") -> list[IndicatorRecord]:
    return [
        IndicatorRecord(
            id=e.id,
            name=e.name,
            unit=e.unit,
            category=e.category.value,
            direction=e.direction,
            comparison=e.comparison,
            forecast_scale=e.forecast_scale or "level",
            cadence_days=e.cadence_days,
            origin="user" if any(s.source == "user" for s in e.sources) else origin,
            caveats=tuple(e.caveats),
            sources=tuple((s.source, s.series) for s in e.sources),
            spec=e.model_dump(mode="json"),
        )
        for e in catalog
    ]


def current_catalog(reader: Reader | None = None) -> Catalog:
    """The packaged catalog (its sources checked against the registry) plus this database's user indicators."""
    catalog = load_catalog()
    check_sources(catalog, OBSERVATION_SOURCE_IDS)
    if reader is not None:
        for spec in reader.user_indicator_specs():
            if spec["id"] not in catalog:
                stored = spec.get("spec") or {}
                # An import may have stated its scale and bounds: they are kept in the stored spec.
                catalog.register_user_indicator(
                    spec["id"], spec["unit"], name=spec["name"], bounds=stored.get("bounds"),
                    scale=stored.get("forecast_scale") if stored.get("scale_fixed") else None,
                )  # fmt: skip
    return catalog


def sync_catalog(writer: Writer, catalog: Catalog) -> None:
    writer.sync_indicators(indicator_records(catalog))
