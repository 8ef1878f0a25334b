"""A Reader in, the read-only FastAPI app out: the JSON/CSV routes under /api (the pages are in `aitrack.api.pages`).

Each route validates its parameters, checks ids against the database's vocabulary, and cuts its rows from a relation
read once per data version (`ApiData`); the body it builds is stored under its URL in the one cache
(`aitrack.api.cache`), whose front door answers the next identical request without entering the app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import polars as pl
from fastapi import Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import Engine

from aitrack import __version__
from aitrack.api.cache import DEFAULT_MAX_BYTES, VERSION_CHECK_SECONDS, DataVersionCache, ReplayCached, response_key
from aitrack.api.middleware import HeadAsGet, SecurityHeaders
from aitrack.api.schemas import (
    COLUMNS, PARAMETER_NAMES, CrossoverOut, CrossoversQuery, DimensionOut, DimensionsQuery, EvidenceOut, EvidenceQuery,
    ForecastOut, ForecastsQuery, FormatQuery, HealthOut, IndicatorOut, NoQuery, NotFoundOut, ObservationOut,
    ObservationsQuery, Paged, ProvenanceOut, ProvenanceParams, ValidationProblemOut,
)  # fmt: skip
from aitrack.api.serialize import CachedBody, PreparedResponse, links, list_body, prepare, shape_rows, to_json
from aitrack.queries import (
    QueryError, UnknownIdError, check_known, error_items, filter_crossovers, filter_dimensions, filter_evidence,
    filter_forecasts, filter_observations, problem_message,
)  # fmt: skip
from db.read import Reader


# ---------------------------------------------------------------------------------------------- relations
ROW = "_row"


@dataclass(frozen=True)
class Relation:
    """A whole view as the filters see it (a polars frame with a row number) and as responses send it (its rows in the
    documented columns, JSON-safe, shaped once per data version): a page is cut by filtering the frame and picking the
    shaped rows it keeps."""

    frame: pl.DataFrame
    rows: list[dict[str, Any]]
    nbytes: int

    @classmethod
    def of(cls, frame: pl.DataFrame, columns: tuple[str, ...]) -> "Relation":
        rows = shape_rows(frame.to_dicts(), columns)
        nbytes = int(frame.estimated_size()) + 3 * len(to_json(rows)) + 1024
        return cls(frame.with_row_index(ROW), rows, nbytes)

    def page(self, kept: pl.DataFrame, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        picked = kept[ROW][offset : offset + limit].to_list()
        return [self.rows[i] for i in picked], kept.height


class ApiData:
    """The relations and id sets the routes read, each built once per data version in the cache."""

    def __init__(self, reader: Reader, cache: DataVersionCache, catalog: Any | None = None) -> None:
        self.reader = reader
        self.cache = cache
        self._catalog = catalog

    def _relation(self, key: tuple, build: Callable[[], Any]) -> Any:
        return self.cache.get_or_build(("relation",) + key, build)

    def catalog(self) -> Any:
        if self._catalog is not None:
            return self._catalog
        from aitrack.jobs.catalog import current_catalog

        return self._relation(("catalog",), lambda: current_catalog(self.reader))

    def indicator_table(self) -> Relation:
        return self._relation(("indicators",), lambda: Relation.of(self.reader.indicators(), COLUMNS["indicators"]))

    def observations(self, indicator: str | None) -> Relation:
        """Every current value (all kinds) of one indicator, or of all of them: `v_latest_observation`."""
        indicators = None if indicator is None else [indicator]
        return self._relation(("observations", indicator), lambda: Relation.of(
            self.reader.latest_observations(indicators=indicators, kinds=None), COLUMNS["observations"]))  # fmt: skip

    def forecasts(self, run: str | None) -> Relation:
        """The latest official run per subject (`v_forecast_latest`), or every row of one named run."""
        return self._relation(("forecasts", run),
                              lambda: Relation.of(self.reader.forecasts(run_id=run)[0], COLUMNS["forecasts"]))  # fmt: skip

    def dimension_scores(self) -> Relation:
        return self._relation(("dimensions",),
                              lambda: Relation.of(self.reader.dimension_scores()[0], COLUMNS["dimensions"]))  # fmt: skip

    def evidence(self) -> Relation:
        from aitrack.present.evidence import with_citations

        return self._relation(("evidence",),
                              lambda: Relation.of(with_citations(self.reader.evidence()[0]), COLUMNS["evidence"]))  # fmt: skip

    def crossovers(self, pair: str | None = None) -> list[dict[str, Any]]:
        """The crossover presentation (aitrack.present.crossovers) of the latest official run of a pair, shaped."""
        from aitrack.present import crossovers
        from contracts.pair import DEFAULT_PAIR

        chosen = DEFAULT_PAIR if pair is None else tuple(pair.split("-"))
        return self._relation(("crossovers", pair), lambda: shape_rows(
            [v.as_dict() for v in crossovers.load(self.reader, self.catalog(), pair=chosen)],
            COLUMNS["crossovers"]))  # fmt: skip

    def dashboard(self, pair: str | None = None) -> Any:
        from aitrack.dashboard.data import load_dashboard_data
        from contracts.pair import DEFAULT_PAIR

        chosen = DEFAULT_PAIR if pair is None else tuple(pair.split("-"))
        return self._relation(("dashboard", pair), lambda: load_dashboard_data(self.reader, self.catalog(), chosen))

    # the Vocabulary of aitrack.queries
    def _known(self, name: str, read: Callable[[], Any]) -> frozenset[str]:
        return self.cache.get_or_build(("known", name), lambda: frozenset(read()))

    def indicators(self) -> frozenset[str]:
        return self._known("indicators", self.reader.indicator_ids)

    def subjects(self) -> frozenset[str]:
        return self._known("subjects", lambda: self.reader.indicator_ids() | set(self.catalog().dimensions)
                           | self.reader.forecast_subjects())  # fmt: skip

    def runs(self) -> frozenset[str]:
        return self._known("runs", lambda: {r["id"] for r in self.reader.forecast_runs()})

    def dimensions(self) -> frozenset[str]:
        return self._known("dimensions", lambda: set(self.catalog().dimensions))

    def evidence_indicators(self) -> frozenset[str]:
        return self._known("evidence_indicators", self.reader.evidence_indicators)

    def pairs(self) -> frozenset[str]:
        from aitrack.queries import stored_pairs

        return self._known("pairs", lambda: stored_pairs(self.reader))


# ---------------------------------------------------------------------------------------------- request plumbing
async def single_valued(request: Request) -> None:
    """Every parameter takes one value: `?indicator=a&indicator=b` is a 422, not "the last one wins". The Python
    name of a renamed parameter (`year_from` for `from`) is rejected like any unknown one."""
    seen: dict[str, int] = {}
    for name, _ in request.query_params.multi_items():
        seen[name] = seen.get(name, 0) + 1
    errors = [{"loc": ("query", name), "msg": f"given {n} times; this parameter takes one value", "type": "repeated"}
              for name, n in seen.items() if n > 1]  # fmt: skip
    errors += [{"loc": ("query", name), "msg": f"Extra inputs are not permitted (the parameter is {alias!r})",
                "type": "extra_forbidden"} for name, alias in PARAMETER_NAMES.items() if name in seen]  # fmt: skip
    if errors:
        raise RequestValidationError(errors)


def respond(request: Request, entry: CachedBody) -> Response:
    status, raw, body = prepare(entry, accept_encoding=request.headers.get("accept-encoding"),
                                if_none_match=request.headers.get("if-none-match"))  # fmt: skip
    return PreparedResponse(status, raw, body)


def list_responses(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "model": list[model],  # type: ignore[valid-type]
            "description": "JSON array of rows; with format=csv the same rows and columns as CSV. Headers: ETag, "
            "Cache-Control, X-Total-Count, Link (rel next/prev/first/last).",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        404: {"model": NotFoundOut, "description": "an unknown id; `valid` lists the known ones"},
        422: {"model": ValidationProblemOut, "description": "a malformed or repeated parameter"},
    }


class Api:
    """The routes' shared state: data, cache, the public base URL for absolute links."""

    def __init__(self, data: ApiData, public_base_url: str) -> None:
        self.data = data
        self.cache = data.cache
        self.base_url = public_base_url.rstrip("/")

    async def answer(self, request: Request, build: Callable[[], CachedBody]) -> Response:
        """The body stored for this URL, or built (once, in a worker thread) and stored."""
        key = response_key(request.scope["path"], request.scope["query_string"])
        entry = self.cache.peek(key)
        if entry is None:
            entry = await run_in_threadpool(self.cache.get_or_build, key, build)
        return respond(request, entry)

    def page(self, request: Request, name: str, query: Paged, relation: Relation | list[dict[str, Any]],
             kept: pl.DataFrame | None = None) -> CachedBody:  # fmt: skip
        """One page of a relation's kept rows (`kept`: the filtered frame; a list relation is kept whole)."""
        if isinstance(relation, Relation):
            cut, total = relation.page(relation.frame if kept is None else kept, query.offset, query.limit)
        else:
            cut, total = relation[query.offset : query.offset + query.limit], len(relation)
        link = links(self.base_url, request.scope["path"], request.query_params.multi_items(), total, query.limit,
                     query.offset)  # fmt: skip
        return list_body(cut, COLUMNS[name], query.format, [("x-total-count", str(total)), ("link", link)], shaped=True)


# ---------------------------------------------------------------------------------------------- the app
def create_app(
    source: Reader | Engine, *, catalog: Any | None = None, version_check_seconds: float = VERSION_CHECK_SECONDS,
    cache_max_bytes: int = DEFAULT_MAX_BYTES, public_base_url: str = "",
) -> FastAPI:  # fmt: skip
    """The application over one database; it only ever reads (SELECT), so a read-only role suffices.

    `public_base_url` (setting AITRACK_PUBLIC_BASE_URL) makes Link headers absolute; `cache_max_bytes`
    (AITRACK_API_CACHE_BYTES) bounds the cache.
    """
    reader = source if isinstance(source, Reader) else Reader(source)
    cache = DataVersionCache(reader.data_version, max_bytes=cache_max_bytes, check_seconds=version_check_seconds)
    api = Api(ApiData(reader, cache, catalog), public_base_url)
    app = FastAPI(
        title="aitrack: US–China AI competition tracker",
        version=__version__,
        description="Read-only access to the indicators, observations (latest vintage) and their provenance, forecasts, "
        "crossover estimates, dimension scores and seed evidence. JSON by default, CSV with `format=csv`.",
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(single_valued)],
    )
    app.state.api = api
    # The last middleware added runs first: HEAD becomes GET, security headers, then the cache's front door.
    app.add_middleware(ReplayCached, cache=cache)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(HeadAsGet)
    register_errors(app)
    register_routes(app, api)
    from aitrack.api.pages import register_pages

    register_pages(app, api)
    return app


def register_errors(app: FastAPI) -> None:
    @app.exception_handler(UnknownIdError)
    async def _not_found(_request: Request, exc: UnknownIdError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail, "valid": exc.valid}, status_code=404)

    @app.exception_handler(QueryError)
    async def _query_error(_request: Request, exc: QueryError) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "errors": exc.items}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        items = error_items(exc.errors(), PARAMETER_NAMES)
        return JSONResponse({"detail": problem_message(items), "errors": items}, status_code=422)


def register_routes(app: FastAPI, api: Api) -> None:
    data = api.data

    @app.get("/api/health", response_model=HealthOut, summary="Liveness, schema revision and data version")
    def health(params: Annotated[NoQuery, Query()]) -> JSONResponse:
        from db.migrate import current_revision

        runs = [r for r in data.reader.forecast_runs() if r["kind"] == "official"]
        body = {"status": "ok", "database": data.reader.dialect, "schema_revision": current_revision(data.reader.engine),
                "data_version": api.cache.version(), "latest_forecast_run": runs[0]["id"] if runs else None,
                "api_version": __version__}  # fmt: skip
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    @app.get("/api/indicators", summary="The indicator catalog as stored", responses=list_responses(IndicatorOut))
    async def indicators(request: Request, params: Annotated[FormatQuery, Query()]) -> Response:
        def build() -> CachedBody:
            rows = data.indicator_table().rows
            return list_body(rows, COLUMNS["indicators"], params.format, [("x-total-count", str(len(rows)))], shaped=True)

        return await api.answer(request, build)

    @app.get("/api/observations", summary="Current values (latest vintage, preferred source)",
             responses=list_responses(ObservationOut))  # fmt: skip
    async def observations(request: Request, params: Annotated[ObservationsQuery, Query()]) -> Response:
        def build() -> CachedBody:
            check_known(params, data)
            relation = data.observations(params.indicator)
            return api.page(request, "observations", params, relation, filter_observations(relation.frame, params))

        return await api.answer(request, build)

    @app.get("/api/forecasts", summary="Forecast rows of the latest official run per subject, or of one run",
             responses=list_responses(ForecastOut))  # fmt: skip
    async def forecasts(request: Request, params: Annotated[ForecastsQuery, Query()]) -> Response:
        def build() -> CachedBody:
            check_known(params, data)
            relation = data.forecasts(params.run)
            return api.page(request, "forecasts", params, relation, filter_forecasts(relation.frame, params))

        return await api.answer(request, build)

    @app.get("/api/crossovers", summary="The crossover presentation of the latest official run",
             responses=list_responses(CrossoverOut))  # fmt: skip
    async def crossovers(request: Request, params: Annotated[CrossoversQuery, Query()]) -> Response:
        def build() -> CachedBody:
            check_known(params, data)
            return api.page(request, "crossovers", params, filter_crossovers(data.crossovers(params.pair), params))

        return await api.answer(request, build)

    @app.get("/api/dimensions", summary="Dimension scores of the latest build", responses=list_responses(DimensionOut))
    async def dimensions(request: Request, params: Annotated[DimensionsQuery, Query()]) -> Response:
        def build() -> CachedBody:
            check_known(params, data)
            relation = data.dimension_scores()
            return api.page(request, "dimensions", params, relation, filter_dimensions(relation.frame, params))

        return await api.answer(request, build)

    @app.get("/api/evidence", summary="Figures cited in the seed documents, with their citation",
             responses=list_responses(EvidenceOut))  # fmt: skip
    async def evidence(request: Request, params: Annotated[EvidenceQuery, Query()]) -> Response:
        def build() -> CachedBody:
            check_known(params, data)
            relation = data.evidence()
            return api.page(request, "evidence", params, relation, filter_evidence(relation.frame, params))

        return await api.answer(request, build)

    @app.get("/api/provenance", summary="Every stored vintage of one value, with its raw payload and licence",
             responses=list_responses(ProvenanceOut))  # fmt: skip
    async def provenance(request: Request, params: Annotated[ProvenanceParams, Query()]) -> Response:
        def build() -> CachedBody:
            from aitrack.present.provenance import provenance as vintages

            check_known(params, data)
            rows = vintages(data.reader, params).to_dicts()
            return list_body(rows, COLUMNS["provenance"], params.format, [("x-total-count", str(len(rows)))])

        return await api.answer(request, build)
