"""Rendering pages: Jinja2 templates, page data for the scripts, and the security headers."""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

from parlour.auth.principal import Principal

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

# Scripts only from this site and never inline: message text can never become code. Page data
# travels in <script type="application/json">, which is data, not script.
POLICY = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    # inbox: voice notes and clips play from our attachment URLs (blob: for the widget's guest).
    "media-src 'self' blob:",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
]
PAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # Pages carry the viewer's conversations: never kept by shared caches or the back button.
    "Cache-Control": "no-store",
}
HOST = re.compile(r"(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


def content_security_policy(host: str) -> str:
    """The policy for a page served to `host`: the WebSocket is named explicitly, since older
    browsers do not count ws:// and wss:// as 'self'."""
    connect = "connect-src 'self'"
    if HOST.fullmatch(host):
        connect += f" ws://{host} wss://{host}"
    return "; ".join([*POLICY, connect])


@cache
def _static_version(name: str) -> str:
    """A short content hash, so a changed file is never served from an old cache."""
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:10]


def static_url(name: str) -> str:
    return f"/static/{name}?v={_static_version(name)}"


class StaticAssets(StaticFiles):
    """Static files that browsers revalidate (scripts import each other without versions)."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def build_templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = static_url
    return env


def render(
    request: Request,
    template: str,
    *,
    title: str,
    principal: Principal | None = None,
    data: dict[str, Any] | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page with the security headers; `data` reaches the page script as JSON."""
    env: Environment = request.app.state.templates
    html = env.get_template(template).render(
        request=request,
        title=title,
        principal=principal,
        data=data or {},
        path=request.url.path,
        **context,
    )
    headers = {
        **PAGE_HEADERS,
        "Content-Security-Policy": content_security_policy(request.headers.get("host", "")),
    }
    return HTMLResponse(html, status_code=status_code, headers=headers)
