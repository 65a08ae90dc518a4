"""Who may not: every endpoint under /api/v1 against every kind of caller.

The endpoint list comes from the app's routes, so a new endpoint without a row here fails.
Each cell that changes state gets a fresh conversation (customer + agent), so cells never
depend on each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from parlour.app import create_app
from parlour.auth.principal import Principal
from parlour.auth.service import get_user, resolve_credential
from parlour.runtime import Runtime
from tests.api.support import (
    World,
    assert_error,
    make_api_key,
    make_member,
    make_world,
    row_counts,
)
from tests.factories import PASSWORD, auth, make_conversation, make_user
from tests.jobs.support import make_job
from tests.payments.support import matrix_ids  # payments
from tests.tickets.support import make_ticket  # desk

CALLERS = (
    "anonymous",
    "customer",  # the conversation's customer
    "other_customer",  # a customer of the same tenant, not in it
    "agent",  # an agent taking part
    "other_agent",  # an agent of the same tenant, not in it
    "admin",  # the tenant's admin, not a participant
    "foreign_admin",  # another tenant's admin
    "foreign_api_key",  # another tenant's service key
    "api_key",  # the tenant's own service key
)

# Endpoints not driven over HTTP here, and where they are tested instead.
ELSEWHERE = {
    ("WEBSOCKET", "/api/v1/realtime"): "tests/system/test_realtime.py (real WebSocket clients)",
    # attachments: multipart uploads and the files they serve, against the same callers.
    ("POST", "/api/v1/attachments"): "tests/attachments/test_access_and_sending.py",
    ("GET", "/api/v1/attachments/{attachment_id}"): "tests/attachments/test_access_and_sending.py",
    (
        "GET",
        "/api/v1/attachments/{attachment_id}/thumbnail",
    ): "tests/attachments/test_access_and_sending.py",
    # video: only the call's two parties; needs a `video` conversation the matrix does not make.
    ("GET", "/api/v1/conversations/{conversation_id}/call"): "tests/calls/test_call_api.py",
    # appointments: who-may-not for every appointment endpoint
    ("POST", "/api/v1/appointments"): "tests/appointments/test_api.py",
    ("POST", "/api/v1/appointments/book"): "tests/appointments/test_api.py",
    ("GET", "/api/v1/appointments"): "tests/appointments/test_api.py",
    ("GET", "/api/v1/appointments/{appointment_id}"): "tests/appointments/test_api.py",
    ("PATCH", "/api/v1/appointments/{appointment_id}"): "tests/appointments/test_api.py",
    ("POST", "/api/v1/appointments/{appointment_id}/cancel"): "tests/appointments/test_api.py",
    ("GET", "/api/v1/experts"): "tests/appointments/test_api.py",
    ("GET", "/api/v1/experts/{expert_id}/availability"): "tests/appointments/test_api.py",
    ("PUT", "/api/v1/experts/{expert_id}/availability"): "tests/appointments/test_api.py",
    ("GET", "/api/v1/experts/{expert_id}/slots"): "tests/appointments/test_api.py",
    # timing: needs a date range in its query; its who-may-not is there.
    ("GET", "/api/v1/admin/export"): "tests/transcripts/test_export.py (who may not export)",
}

Body = Callable[["Cell"], Any]


@dataclass
class Cell:
    world: World
    conversation_id: str
    login_email: str


@dataclass(frozen=True)
class Row:
    expected: tuple[int, ...]  # one status per caller, in CALLERS order
    body: Body | None = None
    # Whether the call may change the conversation (then every cell gets a fresh one).
    mutates: bool = True
    # Whether the call may revoke the caller's own token (then each cell signs in afresh).
    own_token: bool = False


def _statuses(**by_caller: int) -> tuple[int, ...]:
    assert set(by_caller) == set(CALLERS), set(CALLERS) ^ set(by_caller)
    return tuple(by_caller[c] for c in CALLERS)


def _everyone(status: int) -> tuple[int, ...]:
    return (status,) * len(CALLERS)


def _signed_in(status: int) -> tuple[int, ...]:
    return (401,) + (status,) * (len(CALLERS) - 1)


def _admins(status: int) -> tuple[int, ...]:
    """Only admins; each acts on its own tenant (no tenant is named in the path)."""
    return _statuses(
        anonymous=401,
        customer=403,
        other_customer=403,
        agent=403,
        other_agent=403,
        admin=status,
        foreign_admin=status,
        foreign_api_key=403,
        api_key=403,
    )


# Readers: participants, the tenant's admin and key. Everyone else learns nothing (404).
READERS = _statuses(
    anonymous=401,
    customer=200,
    other_customer=404,
    agent=200,
    other_agent=404,
    admin=200,
    foreign_admin=404,
    foreign_api_key=404,
    api_key=200,
)

# The tenant's admins only; another tenant's admin learns nothing of its jobs (404).
JOB_ADMINS = _statuses(
    anonymous=401,
    customer=403,
    other_customer=403,
    agent=403,
    other_agent=403,
    admin=200,
    foreign_admin=404,
    foreign_api_key=403,
    api_key=403,
)

# routing: agents and admins (users) have an availability; customers and keys do not.
STAFF_USERS = _statuses(
    anonymous=401,
    customer=403,
    other_customer=403,
    agent=200,
    other_agent=200,
    admin=200,
    foreign_admin=200,
    foreign_api_key=403,
    api_key=403,
)


def _canned_admins(status: int) -> tuple[int, ...]:
    """The tenant's admins; another tenant's admin learns nothing of it (404)."""
    return _statuses(
        anonymous=401,
        customer=403,
        other_customer=403,
        agent=403,
        other_agent=403,
        admin=status,
        foreign_admin=404,
        foreign_api_key=403,
        api_key=403,
    )


# desk: staff who may read the ticket's conversation; customers 403, the rest learn nothing.
TICKET_READERS = _statuses(
    anonymous=401,
    customer=403,
    other_customer=403,
    agent=200,
    other_agent=404,
    admin=200,
    foreign_admin=404,
    foreign_api_key=404,
    api_key=200,
)

MATRIX: dict[tuple[str, str], Row] = {
    # desk: first, before the rows below bring other_agent into conversations (which then
    # have tickets it may list). The public support start (the customer already has an open
    # support chat: its message goes there, 200) and tickets ({ticket_id}: the customer's, the
    # agent taking part).
    ("POST", "/api/v1/support/conversations"): Row(
        _statuses(
            anonymous=201,  # becomes a guest
            customer=200,
            other_customer=201,
            agent=403,
            other_agent=403,
            admin=403,
            foreign_admin=403,
            foreign_api_key=403,
            api_key=403,
        ),
        body=lambda c: {"message": "hi"},
        mutates=False,
    ),
    ("GET", "/api/v1/tickets"): Row(
        _statuses(
            anonymous=401,
            customer=403,
            other_customer=403,
            agent=200,
            other_agent=200,  # their own tickets: none (the leak check holds it)
            admin=200,
            foreign_admin=200,
            foreign_api_key=200,
            api_key=200,
        ),
        mutates=False,
    ),
    ("GET", "/api/v1/tickets/{ticket_id}"): Row(TICKET_READERS, mutates=False),
    ("GET", "/api/v1/tickets/{ticket_id}/history"): Row(TICKET_READERS, mutates=False),
    ("PATCH", "/api/v1/tickets/{ticket_id}"): Row(
        TICKET_READERS, body=lambda c: {"priority": "high"}, mutates=False
    ),
    ("GET", "/api/v1/openapi.json"): Row(_everyone(200), mutates=False),
    # No user's credential opens it: only the operator's PARLOUR_CRON_SECRET (tests/deadlines).
    ("POST", "/api/v1/cron/close-expired"): Row(_everyone(401), mutates=False),
    ("POST", "/api/v1/auth/login"): Row(
        _everyone(200), body=lambda c: {"email": c.login_email, "password": PASSWORD}
    ),
    ("POST", "/api/v1/auth/guest"): Row(_everyone(201), body=lambda c: {}),
    ("POST", "/api/v1/auth/logout"): Row(_everyone(204), own_token=True),
    ("POST", "/api/v1/me/password"): Row(
        _statuses(
            anonymous=401,
            customer=400,  # these users have no password: the current one is always wrong
            other_customer=400,
            agent=400,
            other_agent=400,
            admin=400,
            foreign_admin=400,
            foreign_api_key=403,  # a key has no password
            api_key=403,
        ),
        body=lambda c: {"current_password": PASSWORD, "new_password": "a new password 1"},
        own_token=True,
    ),
    # {user_id}: a fresh customer of the default tenant; {key_id}: a fresh key of it.
    ("PATCH", "/api/v1/users/{user_id}"): Row(
        _statuses(
            anonymous=401,
            customer=403,
            other_customer=403,
            agent=403,
            other_agent=403,
            admin=200,
            foreign_admin=404,
            foreign_api_key=403,
            api_key=403,
        ),
        body=lambda c: {"is_active": False},
    ),
    ("POST", "/api/v1/api-keys/{key_id}/revoke"): Row(
        _statuses(
            anonymous=401,
            customer=403,
            other_customer=403,
            agent=403,
            other_agent=403,
            admin=200,
            foreign_admin=404,
            foreign_api_key=403,
            api_key=403,
        )
    ),
    ("GET", "/api/v1/me"): Row(_signed_in(200), mutates=False),
    ("GET", "/api/v1/users"): Row(
        _statuses(
            anonymous=401,
            customer=403,
            other_customer=403,
            agent=403,
            other_agent=403,
            admin=200,
            foreign_admin=200,  # its own tenant's people (the leak check below holds it there)
            foreign_api_key=200,
            api_key=200,
        ),
        mutates=False,
    ),
    ("GET", "/api/v1/conversations"): Row(_signed_in(200), mutates=False),
    # inbox: everyone signed in has their own counts (keys: all 0); see conversations/test_inbox
    ("GET", "/api/v1/conversations/unread"): Row(_signed_in(200), mutates=False),
    ("POST", "/api/v1/conversations"): Row(
        _statuses(
            anonymous=401,
            customer=201,
            other_customer=403,  # may not open for another customer
            agent=201,
            other_agent=201,
            admin=201,
            foreign_admin=404,  # the customer is not in its tenant
            foreign_api_key=404,
            api_key=201,
        ),
        body=lambda c: {"kind": "support", "customer_id": c.world.customer.user_id},
    ),
    ("GET", "/api/v1/conversations/{conversation_id}"): Row(READERS, mutates=False),
    ("GET", "/api/v1/conversations/{conversation_id}/messages"): Row(READERS, mutates=False),
    ("POST", "/api/v1/conversations/{conversation_id}/read"): Row(
        READERS, body=lambda c: {"seq": 1}
    ),
    ("POST", "/api/v1/conversations/{conversation_id}/end"): Row(READERS),
    ("POST", "/api/v1/conversations/{conversation_id}/join"): Row(
        _statuses(
            anonymous=401,
            customer=403,  # knows the conversation, may not join it
            other_customer=404,
            agent=200,
            other_agent=409,  # the agent's conversation is taken (conversation_taken)
            admin=200,  # an admin may join any open conversation
            foreign_admin=404,
            foreign_api_key=404,
            api_key=403,  # a key is nobody to join as
        )
    ),
    # routing: availability (staff users), pick from the queue, admins' assignment
    ("GET", "/api/v1/me/availability"): Row(STAFF_USERS, mutates=False),
    ("PUT", "/api/v1/me/availability"): Row(STAFF_USERS, body=lambda c: {"status": "offline"}),
    ("POST", "/api/v1/conversations/{conversation_id}/pick"): Row(
        _statuses(
            anonymous=401,
            customer=403,  # knows the conversation, may not take it
            other_customer=404,
            agent=200,  # already theirs: nothing changes
            other_agent=409,  # taken
            admin=409,  # a pick is from the queue only, admins too
            foreign_admin=404,
            foreign_api_key=404,
            api_key=403,  # a key is nobody to take it as
        )
    ),
    ("POST", "/api/v1/conversations/{conversation_id}/assign"): Row(
        _statuses(
            anonymous=401,
            customer=403,
            other_customer=404,
            agent=403,
            other_agent=404,
            admin=200,
            foreign_admin=404,  # the agent is not in its tenant
            foreign_api_key=404,
            api_key=200,
        ),
        body=lambda c: {"user_id": c.world.other_agent.user_id},
    ),
    ("POST", "/api/v1/conversations/{conversation_id}/observe"): Row(
        _statuses(
            anonymous=401,
            customer=403,
            other_customer=404,
            agent=403,
            other_agent=404,
            admin=200,
            foreign_admin=404,
            foreign_api_key=404,
            api_key=403,
        )
    ),
    ("POST", "/api/v1/conversations/{conversation_id}/participants"): Row(
        _statuses(
            anonymous=401,
            customer=403,
            other_customer=404,
            agent=200,  # an agent taking part brings in (or transfers to) another agent
            other_agent=404,
            admin=200,
            foreign_admin=404,
            foreign_api_key=404,
            api_key=200,
        ),
        body=lambda c: {"user_id": c.world.other_agent.user_id, "role": "agent"},
    ),
    ("POST", "/api/v1/conversations/{conversation_id}/messages"): Row(
        _statuses(
            anonymous=401,
            customer=201,
            other_customer=404,
            agent=201,
            other_agent=404,
            admin=403,  # admins observe, they do not post
            foreign_admin=404,
            foreign_api_key=404,
            api_key=403,
        ),
        body=lambda c: {"body": "hello", "client_msg_id": "matrix-1"},
    ),
    ("GET", "/api/v1/tenant/settings"): Row(_admins(200), mutates=False),
    ("PATCH", "/api/v1/tenant/settings"): Row(
        _admins(200), body=lambda c: {"announce_observers": True}, mutates=False
    ),
    ("GET", "/api/v1/tenant/secrets"): Row(_admins(200), mutates=False),
    ("PUT", "/api/v1/tenant/secrets/{name}"): Row(
        _admins(200), body=lambda c: {"value": "sk_test_matrix"}, mutates=False
    ),
    # Runs after the PUT row, which set the secret for both admins' tenants.
    ("DELETE", "/api/v1/tenant/secrets/{name}"): Row(_admins(204), mutates=False),
    ("GET", "/api/v1/admin/jobs"): Row(
        _statuses(
            anonymous=401,
            customer=403,
            other_customer=403,
            agent=403,
            other_agent=403,
            admin=200,
            foreign_admin=200,  # its own tenant's jobs (none of this tenant's: checked below)
            foreign_api_key=403,
            api_key=403,
        ),
        mutates=False,
    ),
    ("GET", "/api/v1/admin/jobs/{job_id}"): Row(JOB_ADMINS, mutates=False),
    # Retrying a failed job queues it; queued jobs may be retried too, so cells stay independent.
    ("POST", "/api/v1/admin/jobs/{job_id}/retry"): Row(JOB_ADMINS),
    # attachments: canned responses ({canned_id}: one of the default tenant's).
    ("GET", "/api/v1/canned-responses"): Row(
        _statuses(
            anonymous=401,
            customer=403,
            other_customer=403,
            agent=200,
            other_agent=200,
            admin=200,
            foreign_admin=200,  # its own tenant's (none of this tenant's)
            foreign_api_key=200,
            api_key=200,
        ),
        mutates=False,
    ),
    ("POST", "/api/v1/canned-responses"): Row(
        _admins(201),
        body=lambda c: {"shortcut": "matrix", "title": "Matrix", "body": "Hello"},
        mutates=False,
    ),
    ("PATCH", "/api/v1/canned-responses/{canned_id}"): Row(
        _canned_admins(200), body=lambda c: {"title": "Changed"}, mutates=False
    ),
    ("DELETE", "/api/v1/canned-responses/{canned_id}"): Row(_canned_admins(204), mutates=False),
    # payments: {plan_id} is chat10 of the default tenant, {order_id}/{session_id} a paid order
    # of the world's customer (tests/payments/support.py); {tenant_slug} is "elsewhere".
    ("GET", "/api/v1/plans"): Row(_everyone(200), mutates=False),
    ("POST", "/api/v1/plans"): Row(
        _admins(201),
        body=lambda c: {"code": "matrix", "name": "M", "kind": "support", "price_amount": 500},
        mutates=False,
    ),
    ("PATCH", "/api/v1/plans/{plan_id}"): Row(
        JOB_ADMINS, body=lambda c: {"sort_order": 5}, mutates=False
    ),
    # The plan was bought: the admin is told to deactivate it instead (plan_in_use).
    ("DELETE", "/api/v1/plans/{plan_id}"): Row(
        _statuses(
            anonymous=401,
            customer=403,
            other_customer=403,
            agent=403,
            other_agent=403,
            admin=409,
            foreign_admin=404,
            foreign_api_key=403,
            api_key=403,
        ),
        mutates=False,
    ),
    # No plan named: customers hear plan_not_found; nobody else may buy.
    ("GET", "/api/v1/checkout"): Row(
        _statuses(
            anonymous=401,
            customer=404,
            other_customer=404,
            agent=403,
            other_agent=403,
            admin=403,
            foreign_admin=403,
            foreign_api_key=403,
            api_key=403,
        ),
        mutates=False,
    ),
    ("GET", "/api/v1/orders/by-checkout/{session_id}"): Row(
        _statuses(
            anonymous=401,
            customer=200,
            other_customer=404,
            agent=404,
            other_agent=404,
            admin=404,
            foreign_admin=404,
            foreign_api_key=404,
            api_key=404,
        ),
        mutates=False,
    ),
    ("GET", "/api/v1/conversations/{conversation_id}/extension"): Row(READERS, mutates=False),
    # Stripe signs its deliveries; no user credential opens the webhook (tests/payments).
    ("POST", "/api/v1/webhooks/stripe"): Row(_everyone(400), mutates=False),
    ("POST", "/api/v1/webhooks/stripe/{tenant_slug}"): Row(_everyone(400), mutates=False),
    ("GET", "/api/v1/admin/orders"): Row(_admins(200), mutates=False),
    ("GET", "/api/v1/admin/orders/{order_id}/evidence"): Row(JOB_ADMINS, mutates=False),
    ("POST", "/api/v1/admin/orders/{order_id}/refund"): Row(
        _statuses(
            anonymous=401,
            customer=403,
            other_customer=403,
            agent=403,
            other_agent=403,
            admin=202,
            foreign_admin=404,
            foreign_api_key=403,
            api_key=403,
        ),
        mutates=False,
    ),
    # timing: time limits, ratings, transcripts
    ("GET", "/api/v1/conversations/{conversation_id}/timer"): Row(READERS, mutates=False),
    ("GET", "/api/v1/conversations/{conversation_id}/transcript"): Row(READERS, mutates=False),
    ("GET", "/api/v1/conversations/{conversation_id}/rating"): Row(READERS, mutates=False),
    ("POST", "/api/v1/conversations/{conversation_id}/rating"): Row(
        _statuses(
            anonymous=401,
            customer=409,  # its customer, but the conversation has not ended
            other_customer=404,
            agent=403,  # a reader, not its customer
            other_agent=404,
            admin=403,
            foreign_admin=404,
            foreign_api_key=404,
            api_key=403,
        ),
        body=lambda c: {"score": 5},
    ),
    ("GET", "/api/v1/me/ratings"): Row(
        _statuses(
            anonymous=401,
            customer=403,
            other_customer=403,
            agent=200,
            other_agent=200,
            admin=200,
            foreign_admin=200,  # its own ratings
            foreign_api_key=403,
            api_key=403,
        ),
        mutates=False,
    ),
    ("GET", "/api/v1/admin/ratings"): Row(_admins(200), mutates=False),
    ("POST", "/api/v1/conversations/{conversation_id}/timer/extend"): Row(
        _statuses(
            anonymous=401,
            customer=403,
            other_customer=404,
            agent=403,
            other_agent=404,
            admin=409,  # allowed, but this conversation has no time limit (no_time_limit)
            foreign_admin=404,
            foreign_api_key=404,
            api_key=409,
        ),
        body=lambda c: {"minutes": 5},
    ),
    # search: every signed-in caller searches what it may read (the shared conversation's
    # subject "Help" is the query; who may not read it must not see it, checked below).
    ("GET", "/api/v1/search"): Row(_signed_in(200), mutates=False),
}


def api_endpoints(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route under /api/v1, nested routers included."""
    try:  # FastAPI keeps included routers nested; this walks them flat.
        from fastapi.routing import iter_route_contexts

        routes: Iterable[Any] = iter_route_contexts(app.routes)
    except ImportError:  # older FastAPI flattens them itself
        routes = app.routes
    found = set()
    for route in routes:
        path = getattr(route, "path", None) or ""
        if not path.startswith("/api/v1"):
            continue
        methods = getattr(route, "methods", None) or {"WEBSOCKET"}
        found |= {(method, path) for method in methods if method != "HEAD"}
    return found


@pytest.fixture
async def world(runtime: Runtime) -> World:
    return await make_world(runtime)


def test_every_endpoint_has_a_row(runtime: Runtime) -> None:
    endpoints = api_endpoints(create_app(runtime=runtime))
    assert len(endpoints) >= len(MATRIX)
    missing = endpoints - set(MATRIX) - set(ELSEWHERE)
    stale = (set(MATRIX) | set(ELSEWHERE)) - endpoints
    assert not missing, f"endpoints without an authorization row: {sorted(missing)}"
    assert not stale, f"rows for endpoints that no longer exist: {sorted(stale)}"


async def test_who_may_not(client: httpx.AsyncClient, runtime: Runtime, world: World) -> None:
    login_user = await make_user(runtime, "customer")
    async with runtime.uow(write=False) as tx:
        login_email = (await get_user(tx.session, login_user, login_user.user_id or "")).email
    assert login_email is not None
    shared = (await make_conversation(runtime, world.customer, agent=world.agent)).id
    job_id = await make_job(runtime, world.admin.tenant_id, key="matrix")
    ticket_id = await make_ticket(runtime, world.customer, world.agent)  # desk
    canned = await client.post(
        "/api/v1/canned-responses",
        json={"shortcut": "matrix-target", "title": "Target", "body": "Hello"},
        headers=world.headers["admin"],
    )
    canned_id = canned.json()["id"]
    payments_ids = await matrix_ids(runtime, world.customer)  # payments

    wrong = []
    for (method, path), row in MATRIX.items():
        for caller, expected in zip(CALLERS, row.expected, strict=True):
            if row.mutates and "{conversation_id}" in path:
                cid = (await make_conversation(runtime, world.customer, agent=world.agent)).id
            else:
                cid = shared
            cell = Cell(world=world, conversation_id=cid, login_email=login_email)
            url = (
                path.replace("{conversation_id}", cid)
                .replace("{name}", "stripe_secret_key")
                .replace("{job_id}", job_id)
                .replace("{ticket_id}", ticket_id)  # desk
                .replace("{canned_id}", canned_id)
            )
            if path == "/api/v1/search":  # search: the query a search needs
                url += "?q=Help"
            url = payments_ids.fill(url)  # payments
            if "{user_id}" in url:
                target = await make_member(runtime, "customer", name="Target")
                url = url.replace("{user_id}", target.user_id or "")
            if "{key_id}" in url:
                url = url.replace("{key_id}", await _key_id(runtime, await make_api_key(runtime)))
            kwargs: dict[str, Any] = {"headers": world.headers[caller]}
            who = getattr(world, caller, None)
            if row.own_token and isinstance(who, Principal):
                kwargs["headers"] = auth(runtime, who)
            if row.body is not None:
                kwargs["json"] = row.body(cell)
            response = await client.request(method, url, **kwargs)
            # A login or guest sign-up sets a cookie; no later cell may ride on it.
            client.cookies.clear()
            if response.status_code != expected:
                wrong.append(f"{method} {path} as {caller}: {response.status_code} != {expected}")
                continue
            if expected >= 400:
                assert_error(response, expected)
            elif method == "GET" and READERS[CALLERS.index(caller)] == 404:
                # Whoever may not read the conversation never sees it or its people in a list.
                for secret in (cid, world.customer.user_id, world.agent.user_id, job_id):
                    assert secret not in response.text, (method, path, caller)
    assert not wrong, "\n".join(wrong)


async def _key_id(runtime: Runtime, raw: str) -> str:
    async with runtime.uow(write=False) as tx:
        found = await resolve_credential(tx.session, raw, secret=runtime.secret_key, now=tx.now)
    assert found is not None and found.api_key_id is not None
    return found.api_key_id


CONVERSATION_ENDPOINTS = sorted(key for key in MATRIX if "{conversation_id}" in key[1])


async def test_foreign_and_unknown_conversations_look_the_same(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    foreign = (await make_conversation(runtime, world.foreign_customer)).id
    unknown = "0" * 32
    cell = Cell(world=world, conversation_id=foreign, login_email="")
    before = await row_counts(runtime)
    for caller in ("customer", "other_agent", "admin", "api_key"):
        await _compare_foreign_and_unknown(client, world, cell, caller, foreign, unknown)
    assert await row_counts(runtime) == before


async def _compare_foreign_and_unknown(
    client: httpx.AsyncClient, world: World, cell: Cell, caller: str, foreign: str, unknown: str
) -> None:
    for method, path in CONVERSATION_ENDPOINTS:
        row = MATRIX[(method, path)]
        answers = []
        for cid in (foreign, unknown):
            kwargs: dict[str, Any] = {"headers": world.headers[caller]}
            if row.body is not None:
                kwargs["json"] = row.body(cell)
            response = await client.request(
                method, path.replace("{conversation_id}", cid), **kwargs
            )
            assert_error(response, 404, "conversation_not_found")
            answers.append((response.status_code, response.json()))
        assert answers[0] == answers[1], (method, path, caller)
