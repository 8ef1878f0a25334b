"""The HTML routes: the overview (/), one page per subject (/subjects/{id}), a value's provenance (/provenance), the
static assets and the API reference. Rendering is aitrack.dashboard's; bodies are cached like the API's."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import FastAPI, Query, Request
from fastapi.responses import Response

from aitrack.api.schemas import ProvenanceParams
from aitrack.api.serialize import HTML, CachedBody
from aitrack.queries import PairFilter, UnknownIdError, check_known

STATIC_FILES = {"dashboard.css": "text/css; charset=utf-8", "dashboard.js": "text/javascript; charset=utf-8"}


def register_pages(app: FastAPI, api) -> None:
    data = api.data

    @app.get("/", include_in_schema=False)
    async def overview(request: Request, params: Annotated[PairFilter, Query()]) -> Response:
        from aitrack.dashboard.render import render_overview

        def build() -> CachedBody:
            check_known(params, data)
            return CachedBody.of(render_overview(data.dashboard(params.pair), data.catalog()).encode(), HTML)

        return await api.answer(request, build)

    @app.get("/subjects/{subject}", include_in_schema=False)
    async def subject(request: Request, subject: str, params: Annotated[PairFilter, Query()]) -> Response:
        from aitrack.dashboard.overview import page_subjects
        from aitrack.dashboard.render import render_subject

        def build() -> CachedBody:
            check_known(params, data)
            dashboard = data.dashboard(params.pair)
            html = render_subject(dashboard, data.catalog(), subject)
            if html is None:
                raise UnknownIdError("subject", subject, page_subjects(dashboard, data.catalog()))
            return CachedBody.of(html.encode(), HTML)

        return await api.answer(request, build)

    @app.get("/provenance", include_in_schema=False)
    async def provenance(request: Request, params: Annotated[ProvenanceParams, Query()]) -> Response:
        from aitrack.dashboard.render import render_provenance
        from aitrack.present.provenance import provenance as vintages

        def build() -> CachedBody:
            check_known(params, data)
            rows = vintages(data.reader, params).to_dicts()
            json_href = "/api/provenance?" + urlencode({"indicator": params.indicator, "country": params.country,
                                                        "year": params.year})  # fmt: skip
            return CachedBody.of(render_provenance(data.dashboard(), rows, params, json_href).encode(), HTML)

        return await api.answer(request, build)

    @app.get("/static/{name}", include_in_schema=False)
    async def static(request: Request, name: str) -> Response:
        from aitrack.dashboard.render import static_text

        if name not in STATIC_FILES:
            raise UnknownIdError("static file", name, STATIC_FILES)
        return await api.answer(request, lambda: CachedBody.of(static_text(name).encode(), STATIC_FILES[name]))

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> Response:
        from aitrack.dashboard.render import render_api_docs

        return await api.answer(request, lambda: CachedBody.of(render_api_docs(app.openapi()).encode(), HTML))
