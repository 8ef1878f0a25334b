"""The HTML routes: the dashboard page, the static assets and the API reference (rendering in aitrack.dashboard)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from aitrack.api.serialize import HTML, CachedBody
from aitrack.queries import UnknownIdError

STATIC_FILES = {"dashboard.css": "text/css; charset=utf-8", "dashboard.js": "text/javascript; charset=utf-8"}


def register_pages(app: FastAPI, api) -> None:
    data = api.data

    @app.get("/", include_in_schema=False)
    async def dashboard(request: Request) -> Response:
        from aitrack.dashboard.render import render_dashboard

        return await api.answer(request, lambda: CachedBody.of(render_dashboard(data.dashboard(), data.catalog()).encode(), HTML))

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
