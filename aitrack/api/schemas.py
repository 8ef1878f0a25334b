"""The API's documented shapes: response models generated from the frames' schemas and the contract records (never
re-declared by hand), and the query parameter models (the shared filters of `aitrack.queries` plus format and paging).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_type_hints

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, create_model

from aitrack.present import crossovers as crossover_presentation
from aitrack.present import evidence as evidence_presentation
from aitrack.queries import (
    CrossoverFilter, DimensionFilter, EvidenceFilter, Filter, ForecastFilter, ObservationFilter, ProvenanceQuery,
    WholeNumber, public_names,
)  # fmt: skip
from contracts.observations import OBSERVATION_SCHEMA
from db.read import DIMENSION_SCHEMA, FORECAST_SCHEMA, INDICATOR_SCHEMA, PROVENANCE_SCHEMA

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
MAX_OFFSET = 2**31 - 1
FETCH_COMMAND = "fetch_command"


# ---------------------------------------------------------------------------------------------- response models
def _python_type(dtype: pl.DataType) -> Any:
    if isinstance(dtype, pl.List):
        return list[_python_type(dtype.inner)]  # type: ignore[misc]
    if isinstance(dtype, pl.Datetime):
        return datetime
    for polars_type, python_type in ((pl.String, str), (pl.Int64, int), (pl.Float64, float), (pl.Boolean, bool)):
        if isinstance(dtype, polars_type):
            return python_type
    raise TypeError(f"no JSON type for {dtype}")


def model_of_schema(name: str, schema: dict[str, pl.DataType], *, nullable: set[str] = frozenset(),  # type: ignore[assignment]
                    descriptions: dict[str, str] | None = None) -> type[BaseModel]:  # fmt: skip
    """A response model whose fields are the frame schema's columns, in order; `nullable` columns may be null."""
    unknown = (set(nullable) | set(descriptions or {})) - set(schema)
    assert not unknown, f"{name}: {sorted(unknown)} are not columns of its schema"
    fields: dict[str, Any] = {}
    for column, dtype in schema.items():
        python_type = _python_type(dtype)
        fields[column] = (python_type | None if column in nullable else python_type,
                          Field(description=(descriptions or {}).get(column, "")))  # fmt: skip
    return create_model(name, **fields)


def model_of_record(name: str, record: type) -> type[BaseModel]:
    """A response model whose fields are a dataclass's, with their annotated types."""
    hints = get_type_hints(record)
    return create_model(name, **{field: (hints[field], ...) for field in crossover_presentation.COLUMNS})


IndicatorOut = model_of_schema("IndicatorOut", INDICATOR_SCHEMA,
                               descriptions={"n_values": "stored observation rows (every vintage)"})  # fmt: skip
ObservationOut = model_of_schema(
    "ObservationOut", OBSERVATION_SCHEMA,
    descriptions={"year_start": "== year for an annual value; earlier for a multi-year total"},
)  # fmt: skip
ForecastOut = model_of_schema(
    "ForecastOut", FORECAST_SCHEMA, nullable={"mean", "lo_80", "hi_80", "lo_95", "hi_95"},
    descriptions={"mean": "median of the sample paths", "nowcast": "a year already past whose data are not yet published"},
)  # fmt: skip
CrossoverOut = model_of_record("CrossoverOut", crossover_presentation.CrossoverView)
DimensionOut = model_of_schema(
    "DimensionOut", DIMENSION_SCHEMA,
    nullable={"score", "lo_80", "hi_80", "lo_95", "hi_95", "weight_present", "weight_nowcast", "leader"},
)  # fmt: skip
EvidenceOut = model_of_schema(
    "EvidenceOut", evidence_presentation.SCHEMA,
    nullable={"country", "period_start", "period_end", "value", "source_named", "notes", "seed_author", "seed_title",
              "seed_year", "seed_url", "locator"},
    descriptions={"document": "the seed's file name (see seed_* for the citation)", "locator": "line in the seed"},
)  # fmt: skip
PROVENANCE_OUT_SCHEMA = {**PROVENANCE_SCHEMA, FETCH_COMMAND: pl.String()}
ProvenanceOut = model_of_schema(
    "ProvenanceOut", PROVENANCE_OUT_SCHEMA, nullable={"published"},
    descriptions={"current": "the vintage the latest view shows", "sha256": "the raw payload the value was parsed from",
                  FETCH_COMMAND: "the command that writes the raw payload's bytes to a file"},
)  # fmt: skip

# The documented columns of every list route, in order (CSV header and JSON keys): taken from the models above.
COLUMNS: dict[str, tuple[str, ...]] = {
    name: tuple(model.model_fields)
    for name, model in {"indicators": IndicatorOut, "observations": ObservationOut, "forecasts": ForecastOut,
                        "crossovers": CrossoverOut, "dimensions": DimensionOut, "evidence": EvidenceOut,
                        "provenance": ProvenanceOut}.items()  # fmt: skip
}


class HealthOut(BaseModel):
    status: Literal["ok"]
    database: str
    schema_revision: str | None
    data_version: str
    latest_forecast_run: str | None
    api_version: str


class NotFoundOut(BaseModel):
    detail: str
    valid: list[str]


class ValidationErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationProblemOut(BaseModel):
    detail: str
    errors: list[ValidationErrorItem]


# ---------------------------------------------------------------------------------------------- query parameters
class Formatted(Filter):
    format: Literal["json", "csv"] = Field("json", description="json (default) or csv: the same rows and columns")


class Paged(Formatted):
    limit: WholeNumber = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"rows per page (1–{MAX_LIMIT})")
    offset: WholeNumber = Field(0, ge=0, le=MAX_OFFSET, description="rows to skip; see the Link and X-Total-Count headers")


class ObservationsQuery(ObservationFilter, Paged):
    pass


class ForecastsQuery(ForecastFilter, Paged):
    pass


class CrossoversQuery(CrossoverFilter, Paged):
    pass


class DimensionsQuery(DimensionFilter, Paged):
    pass


class EvidenceQuery(EvidenceFilter, Paged):
    pass


class ProvenanceParams(ProvenanceQuery, Formatted):
    pass


class FormatQuery(Formatted):
    pass


class NoQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")


QUERY_MODELS = (ObservationsQuery, ForecastsQuery, CrossoversQuery, DimensionsQuery, EvidenceQuery, ProvenanceParams)
# Query fields whose URL name differs from the Python name (`from` is a keyword): errors name the URL parameter.
PARAMETER_NAMES: dict[str, str] = {k: v for model in QUERY_MODELS for k, v in public_names(model).items()}

