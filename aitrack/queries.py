"""Filter parameters in, validated filters and filtered frames out: one definition of every filter's allowed values,
its messages and its semantics, shared by the CLI, the HTTP API and the notebook `Tracker`.

A malformed value is a `QueryError` (HTTP 422, exit 2); an id the database does not know is an `UnknownIdError` (HTTP
404 with the valid ids, exit 2). Both carry the same one-line message on every surface. Filtering is done here, in
polars, over a whole relation (one view read through `db.read.Reader`): the API keeps that relation in memory per data
version, the CLI and the Tracker read it per call; `tests/api` checks the result against the SQL WHERE of the Reader.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, Literal, Protocol, TypeVar

import polars as pl
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from aitrack.errors import UsageError
from contracts.kinds import EVIDENCE_KINDS, VALUE_KINDS
from contracts.pair import DEFAULT_PAIR, pair_label

YEAR_MIN, YEAR_MAX = 1800, 2200


# ---------------------------------------------------------------------------------------------- errors
class QueryError(UsageError):
    """A malformed parameter: `items` are (parameter, message, type) triples; str() is the one-line message."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        super().__init__(problem_message(items))


class UnknownIdError(UsageError):
    """An id the database does not know; `valid` lists the known ones (sorted)."""

    def __init__(self, what: str, value: str, valid: Iterable[str], *, detail: str | None = None) -> None:
        self.valid = sorted(valid)
        if detail is None:
            close = difflib.get_close_matches(value, self.valid, n=3)
            detail = f"unknown {what} {value!r}" + (f" (closest: {', '.join(close)})" if close else "")
        self.detail = detail
        super().__init__(detail)

    @classmethod
    def not_stored(cls, detail: str, valid: Iterable[str]) -> "UnknownIdError":
        """A known id without the value asked for (provenance of a year never stored)."""
        return cls("", "", valid, detail=detail)


def problem_message(items: Iterable[dict[str, Any]]) -> str:
    """'from: Input should be greater than or equal to 1800; kind: …': parameter and message per problem."""
    parts = [f"{'.'.join(str(p) for p in item['loc']) or 'query'}: {item['msg']}" for item in items]
    return "; ".join(parts) or "invalid request"


def error_items(errors: Iterable[Mapping[str, Any]], aliases: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """pydantic errors → (loc, msg, type) with parameters under their public names (`from`, not `year_from`)."""
    aliases = aliases or {}
    items = []
    for err in errors:
        renamed = aliases if err.get("type") != "extra_forbidden" else {}
        loc = [renamed.get(p, p) if isinstance(p, str) else p for p in err.get("loc", ()) if p != "query"]
        items.append({"loc": [p if isinstance(p, (str, int)) else str(p) for p in loc],
                      "msg": str(err.get("msg")).removeprefix("Value error, "), "type": str(err.get("type"))})  # fmt: skip
    return items


# ---------------------------------------------------------------------------------------------- field types
def _whole_number(value: Any) -> Any:
    """Plain digits only: pydantic's lax parsing would take "1.0", " 5" or "1_000" for an integer."""
    if isinstance(value, str) and not re.fullmatch(r"-?[0-9]{1,12}", value):
        raise ValueError(f"must be a whole number written with digits only, got {value!r}")
    return value


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _pair(value: Any) -> Any:
    """'IND,CHN' or 'ind-chn' → 'IND-CHN' (contracts.countries.resolve_pair); a bad pair is a 422 with its reason."""
    from contracts.countries import resolve_pair

    if not isinstance(value, str):
        return value
    return pair_label(resolve_pair(value))


DEFAULT_PAIR_LABEL = pair_label(DEFAULT_PAIR)
WholeNumber = Annotated[int, BeforeValidator(_whole_number)]
Pair = Annotated[str, BeforeValidator(_pair), Field(
    max_length=7, description=f"CHALLENGER,LEADER (ISO3 codes or EUU), e.g. IND,CHN; default {DEFAULT_PAIR_LABEL}")]
Iso3 = Annotated[str, BeforeValidator(_upper), Field(pattern=r"^[A-Z]{3}$", description="ISO3 code, e.g. CHN, USA, XUC")]
Year = Annotated[WholeNumber, Field(ge=YEAR_MIN, le=YEAR_MAX)]


class Filter(BaseModel):
    """Optional filters are typed without `| None`: absent means "no filter" (an OpenAPI `null` alternative would
    invite clients to send the string "null", which a query string cannot tell from a value)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @classmethod
    def parse(cls: type[F], **values: Any) -> F:
        """Validate keyword values (None = not given) into the filter, or raise QueryError."""
        try:
            return cls.model_validate({k: v for k, v in values.items() if v is not None})
        except ValidationError as exc:
            raise QueryError(error_items(exc.errors(), public_names(cls))) from None

    def given(self) -> dict[str, Any]:
        return {name: value for name, value in self if value is not None}


F = TypeVar("F", bound=Filter)


def public_names(model: type[BaseModel]) -> dict[str, str]:
    """Python field name → its public (URL and message) name where they differ: year_from → from."""
    return {name: f.alias for name, f in model.model_fields.items() if f.alias and f.alias != name}


# ---------------------------------------------------------------------------------------------- the filters
class ObservationFilter(Filter):
    indicator: str = Field(None, description="indicator id (see /api/indicators); unknown → 404")
    country: Iso3 = Field(None, description="ISO3 code, e.g. CHN, USA, XUC")
    year_from: Year = Field(None, alias="from", description="first year")
    year_to: Year = Field(None, alias="to", description="last year")
    kind: Literal[VALUE_KINDS] = Field(None, description="value_kind filter")  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _ordered_years(self) -> "ObservationFilter":
        if self.year_from is not None and self.year_to is not None and self.year_from > self.year_to:
            raise ValueError(f"from ({self.year_from}) is after to ({self.year_to})")
        return self


class ForecastFilter(Filter):
    subject: str = Field(None, description="indicator id or dimension name; unknown → 404")
    run: str = Field(None, max_length=36, description="forecast run id (backtests included); default: latest")
    country: Iso3 = Field(None, description="ISO3 code")
    pair: Pair = Field(None, description="the pair, e.g. IND,CHN; default CHN-USA (of a named run: its own); none "
                                         "stored → 404")


class CrossoverFilter(Filter):
    subject: str = Field(None, description="indicator id or dimension name; unknown → 404")
    pair: Pair = Field(None, description="the pair, e.g. IND,CHN; default CHN-USA; none stored → 404")


class DimensionFilter(Filter):
    dimension: str = Field(None, description="values, cohesion, influence or legitimacy; unknown → 404")
    pair: Pair = Field(None, description="the pair, e.g. IND,CHN; default CHN-USA; none stored → 404")


class PairFilter(Filter):
    """The dashboard pages' one parameter: which pair's official results they show."""

    pair: Pair = Field(None, description="the pair, e.g. IND,CHN; default CHN-USA; none stored → 404")


class EvidenceFilter(Filter):
    indicator: str = Field(None, description="indicator id, or `uncatalogued`; unknown → 404")
    kind: Literal[EVIDENCE_KINDS] = Field(None, description="value_kind of the figure")  # type: ignore[valid-type]
    country: str = Field(None, pattern=r"^[A-Z]{3}(-[A-Z]{3})?$", description="ISO3 or a pair, CHN-USA")

    _upper = field_validator("country", mode="before")(_upper)


class ProvenanceQuery(Filter):
    """One value: every stored vintage of (indicator, country, year). All three are required."""

    indicator: str = Field(description="indicator id; unknown → 404")
    country: Iso3 = Field(description="ISO3 code, e.g. CHN")
    year: Year = Field(description="the year the value describes")


# ---------------------------------------------------------------------------------------------- known ids
class Vocabulary(Protocol):
    """The ids a database knows, per kind (the API caches them per data version; CLI and Tracker read them)."""

    def indicators(self) -> frozenset[str]: ...
    def subjects(self) -> frozenset[str]: ...
    def runs(self) -> frozenset[str]: ...
    def dimensions(self) -> frozenset[str]: ...
    def evidence_indicators(self) -> frozenset[str]: ...
    def pairs(self) -> frozenset[str]: ...


def _known(what: str, value: str | None, valid: Callable[[], frozenset[str]]) -> None:
    if value is not None:
        ids = valid()
        if value not in ids:
            raise UnknownIdError(what, value, ids)


def check_known(query: Filter, vocabulary: Vocabulary) -> None:
    """Raise UnknownIdError for the first id in `query` the database does not know."""
    if isinstance(query, (ObservationFilter, ProvenanceQuery)):
        _known("indicator", query.indicator, vocabulary.indicators)
    elif isinstance(query, ForecastFilter):
        _known("subject", query.subject, vocabulary.subjects)
        _known("forecast run", query.run, vocabulary.runs)
        if query.run is None:
            _known_pair(query.pair, vocabulary)
    elif isinstance(query, CrossoverFilter):
        _known("subject", query.subject, vocabulary.subjects)
        _known_pair(query.pair, vocabulary)
    elif isinstance(query, PairFilter):
        _known_pair(query.pair, vocabulary)
    elif isinstance(query, DimensionFilter):
        _known("dimension", query.dimension, vocabulary.dimensions)
        _known_pair(query.pair, vocabulary)
    elif isinstance(query, EvidenceFilter):
        _known("indicator", query.indicator, lambda: vocabulary.indicators() | vocabulary.evidence_indicators())


def _known_pair(pair: str | None, vocabulary: Vocabulary) -> None:
    """A well-formed pair with no official results stored is a 404 that says how to store them."""
    if pair is not None and pair not in vocabulary.pairs():
        challenger, leader = pair.split("-")
        raise UnknownIdError.not_stored(
            f"no official results stored for the pair {pair}: `aitrack crossovers --pair {challenger},{leader}` "
            f"and `aitrack dimensions --pair …` compute them on demand; `aitrack forecast --pair {challenger},{leader} --publish` stores them",
            vocabulary.pairs(),
        )  # fmt: skip


class ReaderVocabulary:
    """The Vocabulary of a Reader and a catalog, read on demand (for the CLI and the Tracker)."""

    def __init__(self, reader: Any, catalog: Any) -> None:
        self.reader = reader
        self.catalog = catalog

    def indicators(self) -> frozenset[str]:
        return frozenset(self.reader.indicator_ids())

    def subjects(self) -> frozenset[str]:
        return frozenset(self.reader.indicator_ids() | set(self.catalog.dimensions) | self.reader.forecast_subjects())

    def runs(self) -> frozenset[str]:
        return frozenset(r["id"] for r in self.reader.forecast_runs())

    def dimensions(self) -> frozenset[str]:
        return frozenset(self.catalog.dimensions)

    def evidence_indicators(self) -> frozenset[str]:
        return frozenset(self.reader.evidence_indicators())

    def pairs(self) -> frozenset[str]:
        return frozenset(stored_pairs(self.reader))


def stored_pairs(reader: Any) -> set[str]:
    """The pairs with official results: crossovers or dimension scores in the latest views."""
    return {r.pair for r in reader.crossovers()} | set(reader.dimension_scores()[0]["pair"].unique().to_list())


# ---------------------------------------------------------------------------------------------- filtering
def _terms(**conditions: Any) -> list[pl.Expr]:
    return [pl.col(column) == value for column, value in conditions.items() if value is not None]


def filter_observations(frame: pl.DataFrame, query: ObservationFilter) -> pl.DataFrame:
    """The rows of the latest-observation relation that pass the filter, in its order (indicator, country, year)."""
    terms = _terms(indicator=query.indicator, country=query.country, value_kind=query.kind)
    if query.year_from is not None:
        terms.append(pl.col("year") >= query.year_from)
    if query.year_to is not None:
        terms.append(pl.col("year") <= query.year_to)
    return frame.filter(*terms) if terms else frame


def filter_forecasts(frame: pl.DataFrame, query: ForecastFilter) -> pl.DataFrame:
    """`run` picks the relation (a named run, or the latest official runs); subject and country filter it."""
    # The latest official rows are the default pair's unless another is asked for; a named run has its own pair.
    pair = query.pair if query.pair is not None or query.run is not None else DEFAULT_PAIR_LABEL
    terms = _terms(subject=query.subject, country=query.country, pair=pair)
    return frame.filter(*terms) if terms else frame


def filter_dimensions(frame: pl.DataFrame, query: DimensionFilter) -> pl.DataFrame:
    terms = _terms(dimension=query.dimension, pair=query.pair or DEFAULT_PAIR_LABEL)
    return frame.filter(*terms) if terms else frame


def filter_evidence(frame: pl.DataFrame, query: EvidenceFilter) -> pl.DataFrame:
    terms = _terms(indicator=query.indicator, value_kind=query.kind, country=query.country)
    return frame.filter(*terms) if terms else frame


def filter_crossovers(rows: list[dict[str, Any]], query: CrossoverFilter) -> list[dict[str, Any]]:
    pair = query.pair or DEFAULT_PAIR_LABEL
    return [row for row in rows if (query.subject is None or row["subject"] == query.subject) and row["pair"] == pair]
