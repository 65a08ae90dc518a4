"""Schemathesis fuzzes every operation of the OpenAPI schema in-process (SQLite only, bounded).

No request may end in a 5xx, and responses must match what the schema documents. The app is
seeded with a tenant, a customer, an agent, an admin and a conversation between them; calls
alternate between their credentials, and most conversation ids are swapped for real ones so
the fuzzer reaches the handlers instead of stopping at 404.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import BaseSchema, GenerationMode
from schemathesis.python import asgi as schemathesis_asgi

from parlour.app import create_app
from parlour.auth.tokens import COOKIE_NAME
from parlour.config import Settings
from parlour.runtime import build_runtime
from tests.api.support import make_api_key, make_world
from tests.factories import make_conversation
from tests.jobs.support import make_job

SECRET = "fuzz-secret-key-that-is-long-enough-for-hs256"
CREDENTIAL_HEADERS = ("Authorization", "X-API-Key", "Cookie")

FUZZ_CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            # A schema-valid request may still break a rule of the domain: those answers are
            # documented 4xx (400 `invalid_seq`, `customer_required`...), not a rejected schema.
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "413", "415", "429"]
            }
        }
    }
)


async def _seed(config: Settings) -> tuple[dict[str, dict[str, str]], list[str], str]:
    rt = build_runtime(config)
    await rt.start()
    try:
        world = await make_world(rt)
        await make_api_key(rt)
        conversations = [
            (await make_conversation(rt, world.customer, agent=world.agent)).id for _ in range(3)
        ]
        callers = {k: world.headers[k] for k in ("customer", "agent", "admin", "api_key")}
        job = await make_job(rt, world.admin.tenant_id, key="fuzz")
        return callers, conversations, job
    finally:
        await rt.stop()


@pytest.fixture(scope="module")
def seeded(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[tuple[object, dict[str, dict[str, str]], list[str]]]:
    folder = tmp_path_factory.mktemp("fuzz")
    shutil.copy(sqlite_template, folder / "parlour.db")
    config = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{folder / 'parlour.db'}",
        data_dir=folder,
        secret_key=SECRET,
        # The fuzzer logs in and signs guests up far more often than a person would.
        login_rate_per_minute=1_000_000,
        guest_rate_per_minute=1_000_000,
        login_account_rate_per_minute=1_000_000,
        conversation_rate_per_minute=1_000_000,
        conversation_address_rate_per_minute=1_000_000,
        send_rate_per_minute=1_000_000,
        checkout_rate_per_minute=1_000_000,
        checkout_address_rate_per_minute=1_000_000,
        payments_test_provider=True,  # the default tenant has no Stripe key
    )
    callers, conversations, job = asyncio.run(_seed(config))
    app = create_app(config)
    yield app, callers, [*conversations, job]
    # The app's lifespan runs in schemathesis' own event loop thread: end it there.
    schemathesis_asgi.shutdown_lifespans()


@pytest.fixture(scope="module")
def api_schema(seeded: tuple[object, dict[str, dict[str, str]], list[str]]) -> BaseSchema:
    app, _, _ = seeded
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app, config=FUZZ_CONFIG)


def _operations() -> list[Any]:
    """One pytest param per documented /api/v1 operation and generation mode (negative only
    where there is input to make invalid). Building the app's schema builds nothing else."""
    app = create_app(Settings(_env_file=None, secret_key=SECRET))  # type: ignore[call-arg]
    params = []
    for path, operations in app.openapi()["paths"].items():
        if not path.startswith("/api/v1"):
            continue
        for method, spec in operations.items():
            modes = [GenerationMode.POSITIVE]
            if spec.get("parameters") or spec.get("requestBody"):
                modes.append(GenerationMode.NEGATIVE)
            for mode in modes:
                label = f"{method.upper()} {path} {mode.value}"
                params.append(pytest.param(method.upper(), path, mode, id=label))
    return params


_turns = itertools.count()


def _unpadded(case: schemathesis.Case) -> bool:
    """Bodies strip surrounding whitespace before lengths are checked, a normalisation JSON
    Schema cannot state: a valid case must not count on the padding to reach a minimum length."""

    def ok(value: object) -> bool:
        if isinstance(value, str):
            return value == value.strip()
        if isinstance(value, dict):
            return all(ok(v) for v in value.values())
        if isinstance(value, list):
            return all(ok(v) for v in value)
        return True

    return ok(case.body)


# The pytest integration (`schemathesis.pytest.from_fixture`) does not run under pytest 9
# (it reads a removed `_nodeid`), so each operation drives Hypothesis itself.
@pytest.mark.parametrize(("method", "path", "mode"), _operations())
def test_api_conforms_to_its_schema(
    api_schema: BaseSchema,
    seeded: tuple[object, dict[str, dict[str, str]], list[str]],
    method: str,
    path: str,
    mode: GenerationMode,
) -> None:
    _, callers, seeded_ids = seeded
    conversations, job = seeded_ids[:-1], seeded_ids[-1]
    operation = api_schema[path][method]

    strategy = operation.as_strategy(generation_mode=mode)
    if mode == GenerationMode.POSITIVE:
        strategy = strategy.filter(_unpadded)

    @given(case=strategy)
    @settings(
        max_examples=15,  # per mode: 30 per operation
        deadline=2000,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: schemathesis.Case) -> None:
        turn = next(_turns)
        headers = list(callers.values())[turn % len(callers)]
        # Valid cases mostly aim at a real conversation, or they would all end at 404.
        aim = mode == GenerationMode.POSITIVE and turn % 3
        if aim and "conversation_id" in (case.path_parameters or {}):
            case.path_parameters["conversation_id"] = conversations[turn % len(conversations)]
        if aim and "job_id" in (case.path_parameters or {}):
            case.path_parameters["job_id"] = job
        # attachments: an upload's conversation is a multipart field, not a path parameter.
        if aim and isinstance(case.body, dict) and "conversation_id" in case.body:
            case.body["conversation_id"] = conversations[turn % len(conversations)]
        # Schemathesis fills the declared credentials with junk of its own; mixed with a real
        # one, the request is merely ambiguous. Send only ours: its auth probes then check that
        # no credential, or an invalid one, is refused.
        for name in CREDENTIAL_HEADERS:
            (case.headers or {}).pop(name, None)
        (case.cookies or {}).pop(COOKIE_NAME, None)
        case.call_and_validate(headers=headers)

    check()
