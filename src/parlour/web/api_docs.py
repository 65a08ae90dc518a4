"""/docs: Swagger UI for the API, from files installed with Parlour (the `fastapi-offline`
package, pinned), never from a CDN, under the same Content-Security-Policy as the pages. Its
start-up script is a file of ours (the policy allows no inline script)."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from starlette.responses import Response

from parlour.web.render import StaticAssets, render

SWAGGER_FILES = Path(fastapi_offline.__file__).parent / "static"
SWAGGER_PREFIX = "/static/swagger"
# The package's version names its files' version: a new one is never read from an old cache.
SWAGGER_VERSION = version("fastapi-offline")
OPENAPI_URL = "/api/v1/openapi.json"


def swagger_url(name: str) -> str:
    return f"{SWAGGER_PREFIX}/{name}?v={SWAGGER_VERSION}"


async def api_docs(request: Request) -> Response:
    return render(
        request,
        "api_docs.html",
        title="API",
        openapi_url=OPENAPI_URL,
        swagger_css=swagger_url("swagger-ui.css"),
        swagger_js=swagger_url("swagger-ui-bundle.js"),
    )


def install_api_docs(app: FastAPI) -> None:
    """Mount Swagger UI's files and the /docs page (before the /static mount, which would
    otherwise take /static/swagger/...)."""
    app.mount(SWAGGER_PREFIX, StaticAssets(directory=SWAGGER_FILES), name="swagger")
    app.add_api_route("/docs", api_docs, methods=["GET"], include_in_schema=False)
