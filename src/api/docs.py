"""The API's documentation pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), with their
scripts, styles and icon served by the API itself.

FastAPI's own pages load them from a CDN, so they are blank on a machine without internet
access. These are FastAPI's self-hosting recipe, with the files of the ``fastapi-offline``
package (Swagger UI 5, which renders the OpenAPI 3.1 document FastAPI writes, and ReDoc 2).
A Content-Security-Policy keeps the pages to this origin: ReDoc's "API docs by Redocly" logo,
which it loads from its own CDN, is left out rather than requested.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"
_FILES = str(files("fastapi_offline") / "static")
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _same_origin(page: HTMLResponse) -> HTMLResponse:
    """``page`` with a policy that lets it load and run only what this API serves, and its
    own inline script (by hash); styles may be inline (both UIs set them from script), and
    ReDoc's search runs in a worker made from a ``blob:``."""
    digests = (
        base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        for script in _INLINE_SCRIPT.findall(bytes(page.body).decode())
    )
    scripts = " ".join(f"'sha256-{digest}'" for digest in digests)
    page.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self' {scripts}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'; "
        "base-uri 'none'; object-src 'none'; form-action 'self'"
    )
    page.headers["X-Content-Type-Options"] = "nosniff"
    return page


def mount_docs(app: FastAPI, *, docs: str = "/docs", redoc: str = "/redoc") -> None:
    """Serve the pages at ``docs`` and ``redoc``; build the app with ``docs_url=None`` and
    ``redoc_url=None`` so FastAPI's CDN pages are not there too."""
    openapi_url, oauth2_redirect = app.openapi_url, app.swagger_ui_oauth2_redirect_url
    assert openapi_url and oauth2_redirect
    app.mount(ASSETS, StaticFiles(directory=_FILES), name="docs-assets")

    @app.get(docs, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} API",
            oauth2_redirect_url=root + oauth2_redirect,
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
            # No badge from the public validator (it would send it this API's address).
            swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None},
        )
        return _same_origin(page)

    @app.get(oauth2_redirect, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(redoc, include_in_schema=False)
    async def redoc_html(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} API",
            redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
            with_google_fonts=False,
        )
        return _same_origin(page)
