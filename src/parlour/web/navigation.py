"""Who is looking at a page, where each role belongs, and where a login may send them back."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from parlour.auth.principal import Principal
from parlour.core import rls
from parlour.core.errors import Unauthorized
from parlour.deps import authenticate_credential, credential_from
from parlour.models.user import Role
from parlour.runtime import Runtime
from parlour.web.render import render

HOME_BY_ROLE: dict[str, str] = {
    Role.customer: "/conversations",
    Role.agent: "/agent",
    Role.admin: "/admin",
}


async def page_principal(request: Request, runtime: Runtime) -> Principal | None:
    """The signed-in person behind the request's cookie (or token), or None.

    Pages are for people: a service key, an expired token or no credential all mean "log in".
    """
    credential, _ = credential_from(request)
    if not credential:
        return None
    try:
        principal = await authenticate_credential(runtime, credential)
    except Unauthorized:
        return None
    if principal.user_id is None:
        rls.enter(None)  # rls: a key is no person: the page runs as nobody
        return None
    return principal


def home_for(principal: Principal) -> str:
    """The page a role starts on."""
    return HOME_BY_ROLE.get(principal.role, "/login")


def safe_next(value: str | None) -> str | None:
    """A path on this site to return to after logging in, or None: never another site."""
    if not value or len(value) > 2000 or not value.startswith("/"):
        return None
    # "//host" and "/\host" are read by browsers as another host; control characters are
    # stripped by them, which can turn a harmless-looking path into one of those.
    if value.startswith("//") or "\\" in value:
        return None
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def login_redirect(request: Request) -> RedirectResponse:
    """Send a logged-out visitor to the login page, to come back here afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(here, safe='/')}", status_code=303)


# The same words for a page that is missing and one the viewer may not see.
NOT_YOURS = "There is nothing here, or it is not yours to see."


def error_page(
    request: Request,
    principal: Principal | None,
    *,
    status: int,
    heading: str,
    text: str,
    home: str | None = None,
) -> Response:
    """The one error page every page route answers with: its status, a heading, a sentence,
    and a way home (the viewer's own, or `home`, or the login page)."""
    return render(
        request,
        "error.html",
        title=heading,
        principal=principal,
        status_code=status,
        code=status,
        heading=heading,
        text=text,
        home=home or (home_for(principal) if principal else "/login"),
    )


def not_found_page(
    request: Request, principal: Principal | None, *, home: str | None = None
) -> Response:
    return error_page(
        request, principal, status=404, heading="Not found", text=NOT_YOURS, home=home
    )
