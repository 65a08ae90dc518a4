"""The published OpenAPI document tells the truth about errors and authentication."""

from __future__ import annotations

from typing import Any

import pytest

from parlour.app import create_app
from parlour.auth.tokens import COOKIE_NAME
from parlour.config import Settings

PUBLIC = {
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/guest"),
    ("post", "/api/v1/auth/logout"),
    # payments: the plans on offer (visitors too; admins' `all=true` uses their credential)
    ("get", "/api/v1/plans"),
}
# Operations guarded by an operator's secret rather than a user's credential.
SECRET_GUARDED = {
    ("post", "/api/v1/cron/close-expired"): {"cronSecret"},
    # payments: Stripe's signed deliveries
    ("post", "/api/v1/webhooks/stripe"): {"stripeSignature"},
    ("post", "/api/v1/webhooks/stripe/{tenant_slug}"): {"stripeSignature"},
    ("post", "/api/v1/webhooks/twilio/{channel_id}/messages"): {"twilioSignature"},  # twilio:
    ("post", "/api/v1/webhooks/twilio/{channel_id}/status"): {"twilioSignature"},  # twilio:
    ("post", "/api/v1/webhooks/email"): {"emailWebhookSecret"},  # email: raw MIME inbound
}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    app = create_app(Settings(_env_file=None, secret_key="x" * 40))  # type: ignore[call-arg]
    return app.openapi()


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, operations in spec["paths"].items()
        if path.startswith("/api/v1")
        for method, operation in operations.items()
    ]


def test_every_error_is_documented_with_the_body_the_api_sends(spec: dict[str, Any]) -> None:
    wrong = []
    for method, path, operation in _operations(spec):
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("$ref") != "#/components/schemas/ErrorResponse":
                wrong.append(f"{method.upper()} {path} {status}: {schema or 'no body'}")
    assert not wrong, "\n".join(wrong)
    # FastAPI's default 422 body ({"detail": [...]}) is never what the API answers.
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_the_three_ways_to_authenticate_are_documented(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    by_kind = {(s["type"], s.get("in"), s.get("name"), s.get("scheme")) for s in schemes.values()}
    assert ("http", None, None, "bearer") in by_kind
    assert ("apiKey", "header", "X-API-Key", None) in by_kind
    assert ("apiKey", "cookie", COOKIE_NAME, None) in by_kind

    user_schemes = set(schemes) - {s for names in SECRET_GUARDED.values() for s in names}
    wrong = []
    for method, path, operation in _operations(spec):
        required = {name for option in operation.get("security", []) for name in option}
        if (method, path) in PUBLIC:
            if required:
                wrong.append(f"{method.upper()} {path} is public but asks for {required}")
        elif (method, path) in SECRET_GUARDED:
            if required != SECRET_GUARDED[(method, path)]:
                wrong.append(f"{method.upper()} {path} documents {required or 'no'} security")
        elif required != user_schemes:
            wrong.append(f"{method.upper()} {path} documents {required or 'no'} security")
        elif 401 not in map(int, operation["responses"]):
            wrong.append(f"{method.upper()} {path} does not document 401")
    assert not wrong, "\n".join(wrong)
