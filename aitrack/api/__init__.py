"""The read-only HTTP API and dashboard pages: `create_app(reader)` builds the FastAPI app, `serve(...)` runs it.

schemas (response and query models) · serialize (bodies, ETag, gzip, Link) · cache (the one cache and its front door) ·
middleware (HEAD, security headers) · routes (/api) · pages (HTML) · server (uvicorn).
"""

from aitrack.api.routes import create_app
from aitrack.api.server import serve

__all__ = ["create_app", "serve"]
