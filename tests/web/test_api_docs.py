"""/docs: Swagger UI from our own files, under the pages' Content-Security-Policy."""

from __future__ import annotations

import re

import httpx

from parlour.web.render import content_security_policy

URLS = re.compile(r'(?:src|href)="([^"]+)"')


async def test_docs_page_has_the_pages_csp_and_only_local_assets(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == content_security_policy("testserver")
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    html = response.text
    assert "<script>" not in html  # no inline script: the start-up script is a file
    assert "cdn" not in html.lower()
    urls = URLS.findall(html)
    assert urls, html
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url  # this host only
    kinds = {}
    for url in urls:
        asset = await client.get(url)
        assert asset.status_code == 200, url
        kinds[url.split("?")[0].rsplit("/", 1)[-1]] = asset.headers["content-type"]
    assert "javascript" in kinds["swagger-ui-bundle.js"]
    assert "javascript" in kinds["api-docs.js"]
    assert "text/css" in kinds["swagger-ui.css"]
    # The document it shows.
    assert 'data-openapi-url="/api/v1/openapi.json"' in html
    assert (await client.get("/api/v1/openapi.json")).status_code == 200


async def test_our_static_files_still_resolve_beside_swagger(client: httpx.AsyncClient) -> None:
    assert (await client.get("/static/parlour.js")).status_code == 200
    assert (await client.get("/static/swagger/nothing-here.js")).status_code == 404
