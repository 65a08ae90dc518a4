"""Errors the framework raises (unknown route, wrong method, no credential) keep the API's body
and the headers HTTP requires of them."""

from __future__ import annotations

import httpx

from tests.api.support import assert_error


async def test_an_unknown_route_is_a_404_error_body(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/v1/nowhere"), 404, "not_found")


async def test_a_wrong_method_is_405_and_says_which_are_allowed(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/v1/me")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers.get("allow", ""), response.headers
    # Where two routes share a path the framework names the first one's methods only.
    shared = await client.put("/api/v1/conversations")
    assert_error(shared, 405)
    allowed = {m.strip() for m in shared.headers.get("allow", "").split(",")} - {""}
    assert allowed and allowed <= {"GET", "HEAD", "POST"}, shared.headers


async def test_a_401_names_the_scheme_to_authenticate_with(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = await client.get("/api/v1/me", headers=headers)
        assert_error(response, 401)
        assert response.headers.get("www-authenticate", "").startswith("Bearer"), response.headers
