"""The admin jobs API: a tenant's admins see and retry their tenant's jobs, nobody else does."""

from __future__ import annotations

import httpx

from parlour.auth.service import get_tenant_by_slug
from parlour.jobs import JobContext
from parlour.models.job import Job
from parlour.runtime import Runtime
from tests.api.support import World, assert_error, make_world
from tests.jobs.conftest import load, settled
from tests.jobs.support import make_job

BASE = "/api/v1/admin/jobs"


async def _tenants(rt: Runtime) -> tuple[str, str]:
    async with rt.uow(write=False) as tx:
        home = (await get_tenant_by_slug(tx.session, None)).id
        elsewhere = (await get_tenant_by_slug(tx.session, "elsewhere")).id
    return home, elsewhere


async def test_admins_list_and_read_their_tenants_jobs_only(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    world = await make_world(runtime)
    home, elsewhere = await _tenants(runtime)
    failed = await make_job(runtime, home, key="a")
    done = await make_job(runtime, home, key="b", status="done", error=None)
    foreign = await make_job(runtime, elsewhere, key="a")
    node_wide = await make_job(runtime, None, key="a")
    admin = world.headers["admin"]

    listed = await client.get(BASE, headers=admin)
    assert listed.status_code == 200, listed.text
    assert {j["id"] for j in listed.json()["jobs"]} == {failed, done}
    only_failed = await client.get(BASE, params={"status": "failed"}, headers=admin)
    assert [j["id"] for j in only_failed.json()["jobs"]] == [failed]
    assert only_failed.json()["jobs"][0]["last_error"] == "RuntimeError: the provider said no"
    by_kind = await client.get(BASE, params={"kind": "test.other"}, headers=admin)
    assert by_kind.json()["jobs"] == []

    one = await client.get(f"{BASE}/{failed}", headers=admin)
    assert one.status_code == 200, one.text
    body = one.json()
    assert (body["status"], body["attempts"], body["payload"]) == ("failed", 5, {"to": "+15550001"})
    assert body["idempotency_key"] == f"{home}:test.unclaimed:a"

    # Another tenant's job (or a node-wide one) looks exactly like one that does not exist.
    answers = []
    for job_id in (foreign, node_wide, "0" * 32):
        for method, url in (("GET", f"{BASE}/{job_id}"), ("POST", f"{BASE}/{job_id}/retry")):
            response = await client.request(method, url, headers=admin)
            assert_error(response, 404, "job_not_found")
            answers.append(response.json())
    assert all(answer == answers[0] for answer in answers)
    assert (await load(runtime, foreign)).status == "failed"

    theirs = await client.get(BASE, headers=world.headers["foreign_admin"])
    assert [j["id"] for j in theirs.json()["jobs"]] == [foreign]


async def test_who_may_not_see_or_retry_jobs(client: httpx.AsyncClient, runtime: Runtime) -> None:
    world: World = await make_world(runtime)
    home, _ = await _tenants(runtime)
    job_id = await make_job(runtime, home, key="a")
    for caller, status in (
        ("anonymous", 401),
        ("customer", 403),
        ("agent", 403),
        ("api_key", 403),  # a service key is not an admin
        ("foreign_api_key", 403),
    ):
        for method, url in (
            ("GET", BASE),
            ("GET", f"{BASE}/{job_id}"),
            ("POST", f"{BASE}/{job_id}/retry"),
        ):
            response = await client.request(method, url, headers=world.headers[caller])
            assert_error(response, status)
            assert job_id not in response.text
    assert (await load(runtime, job_id)).status == "failed"


async def test_retry_runs_a_failed_job_again(client: httpx.AsyncClient, runtime: Runtime) -> None:
    world = await make_world(runtime)
    home, _ = await _tenants(runtime)
    calls: list[int] = []

    async def handler(ctx: JobContext) -> None:
        calls.append(ctx.attempt)

    job_id = await make_job(runtime, home, kind="test.fixed", key="a")
    runtime.jobs.register("test.fixed", handler)  # the fault is fixed: now it will work
    assert (await load(runtime, job_id)).status == "failed"  # failed jobs are not picked up

    retried = await client.post(f"{BASE}/{job_id}/retry", headers=world.headers["admin"])
    assert retried.status_code == 200, retried.text
    assert (retried.json()["status"], retried.json()["attempts"]) == ("queued", 0)
    job: Job = await settled(runtime, job_id, "done")
    assert calls == [1] and job.attempts == 1

    again = await client.post(f"{BASE}/{job_id}/retry", headers=world.headers["admin"])
    assert_error(again, 409, "job_not_retryable")
    assert calls == [1]


async def test_bad_input_is_a_clear_error(client: httpx.AsyncClient, runtime: Runtime) -> None:
    world = await make_world(runtime)
    admin = world.headers["admin"]
    for params in ({"status": "exploded"}, {"limit": "0"}, {"limit": "201"}, {"kind": "x" * 65}):
        assert_error(await client.get(BASE, params=params, headers=admin), 422)
    assert_error(await client.get(f"{BASE}/not%20an%20id", headers=admin), 422)
