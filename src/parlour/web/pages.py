"""Server-rendered pages (issue 3 fills these in)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse


def install_pages(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    async def index() -> RedirectResponse:
        return RedirectResponse("/docs")
