"""redis: many nodes. Two `parlour serve` processes on two ports over one PostgreSQL database
and one real redis-server (started here on a free port; killed and started again on the same
port), real WebSocket clients.

- a customer on node 1 and an agent on node 2 chat live (messages and typing cross nodes);
- node 1 is killed with SIGKILL mid-stream: its client reconnects to node 2, resumes by seq,
  and has every message exactly once;
- Redis is killed mid-stream and started again: every message still arrives, once, in order
  (caught up from the database while it is away and after the nodes reconnect);
- both nodes' deadline sweeps and job workers race: each expired conversation is closed once
  and each job runs once.

PostgreSQL and Redis only: that is what many nodes run on (SQLite is one machine).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import websockets
from sqlalchemy import func, select, update

from parlour.config import Settings
from parlour.models.conversation import Conversation, Status
from parlour.models.job import Job
from parlour.models.message import Message
from parlour.runtime import Runtime
from tests.conftest import PG_URL, TEST_SECRET, _truncate, owner_url, require_service
from tests.factories import make_conversation, make_user, token_for
from tests.redis_server import RedisServer, redis_server
from tests.system.conftest import LiveServer, start_server, stop_server
from tests.system.wsclient import RealtimeClient

pytestmark = pytest.mark.system

# While Redis is away, subscribers re-read their conversations this often (default 2 s).
CATCH_UP_SECONDS = "0.5"
_names = itertools.count(1)


@pytest.fixture(scope="module")
def system_db(request: pytest.FixtureRequest) -> str:
    pg = request.getfixturevalue("pg_database")
    require_service(pg is not None, f"PostgreSQL is not reachable at {PG_URL}")
    assert pg is not None
    asyncio.run(_truncate(owner_url(pg)))  # rls: the app role may not truncate
    return pg


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """The test's own runtime builds data and watches; it sweeps and runs no jobs itself."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=db_url,
        data_dir=tmp_path / "data",
        secret_key=TEST_SECRET,
        job_worker=False,
        sweep_interval_seconds=0,
    )


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = redis_server(tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        server.kill()


async def _nodes(
    settings: Settings, redis: RedisServer, folder: Path, count: int = 2, **env: str
) -> list[LiveServer]:
    """`count` server processes on one database and one Redis, started side by side."""
    env = {
        "PARLOUR_REDIS_URL": redis.url,
        "PARLOUR_REDIS_CATCH_UP_SECONDS": CATCH_UP_SECONDS,
        **env,
    }
    return list(
        await asyncio.gather(
            *(
                asyncio.to_thread(start_server, settings, folder / f"node{next(_names)}.log", **env)
                for _ in range(count)
            )
        )
    )


def _stop(nodes: list[LiveServer]) -> None:
    for node in nodes:
        if node.process.poll() is None:
            stop_server(node)


async def _stream(
    sender: RealtimeClient, conversation_id: str, count: int, tag: str, pause: float = 0.02
) -> None:
    for i in range(count):
        await sender.send(
            {
                "type": "send",
                "conversation_id": conversation_id,
                "client_msg_id": f"{tag}-{i}",
                "body": f"{tag} {i}",
            }
        )
        await asyncio.sleep(pause)


async def _acks(sender: RealtimeClient, count: int) -> list[int]:
    """The seqs of `count` acks (each send is stored once: an ack means committed)."""
    acks = [await sender.until(lambda f: f["type"] == "ack", timeout=30) for _ in range(count)]
    return [a["message"]["seq"] for a in acks]


async def _read_until(reader: RealtimeClient, conversation_id: str, last: int) -> list[int]:
    """Every message seq this client has received on the conversation, once it has `last`
    (frames read while waiting for something else count: they are in `seen`)."""
    while True:
        seqs = [m["seq"] for m in reader.messages(conversation_id)]
        if seqs and seqs[-1] >= last:
            break
        await reader.until(
            lambda f: f["type"] == "message" and f["conversation_id"] == conversation_id,
            timeout=30,
        )
    gaps = [f for f in reader.seen if f["type"] == "error"]
    assert gaps == []  # never a `gap`
    return seqs


async def test_chat_across_nodes_and_a_node_killed_mid_stream(
    runtime: Runtime, settings: Settings, redis: RedisServer, tmp_path: Path
) -> None:
    node1, node2 = nodes = await _nodes(settings, redis, tmp_path)
    try:
        customer = await make_user(runtime, "customer")
        agent = await make_user(runtime, "agent")
        conv = await make_conversation(runtime, customer, agent=agent)
        c = await RealtimeClient.connect(node1.ws_url, token_for(runtime, customer))
        a = await RealtimeClient.connect(node2.ws_url, token_for(runtime, agent))
        await c.subscribe(conv.id, after_seq=0)
        await a.subscribe(conv.id, after_seq=conv.last_seq)

        # Live across nodes, both ways: a message, and typing (ephemeral, over Redis too).
        await c.send(
            {"type": "send", "conversation_id": conv.id, "client_msg_id": "c-1", "body": "Hi"}
        )
        got = await a.until(lambda f: f["type"] == "message")
        assert got["message"]["body"] == "Hi" and got["message"]["sender_id"] == customer.user_id
        await a.send({"type": "typing", "conversation_id": conv.id, "active": True})
        typing = await c.until(lambda f: f["type"] == "typing")
        assert typing["user_id"] == agent.user_id
        received = await _read_until(c, conv.id, got["message"]["seq"])  # "Hi" came back

        # The agent (node 2) streams; the customer's node is killed part way through.
        count = 120
        sending = asyncio.create_task(_stream(a, conv.id, count, "a"))
        while received[-1] < got["message"]["seq"] + 30:
            frame = await c.until(lambda f: f["type"] == "message", timeout=30)
            received.append(frame["message"]["seq"])
        node1.process.send_signal(signal.SIGKILL)
        node1.process.wait()
        with contextlib.suppress(websockets.ConnectionClosed, TimeoutError):
            while True:  # whatever node 1 sent before it died
                frame = await c.next(timeout=5)
                if frame["type"] == "message":
                    received.append(frame["message"]["seq"])

        # The client reconnects (through the load balancer: now to node 2) and resumes.
        c = await RealtimeClient.connect(node2.ws_url, token_for(runtime, customer))
        await c.subscribe(conv.id, after_seq=received[-1])
        await sending
        last = max(await _acks(a, count))
        received += await _read_until(c, conv.id, last)
        assert received == list(range(1, last + 1))  # no gap, no duplicate, in order
        await c.close()
        await a.close()
    finally:
        _stop(nodes)


async def test_redis_restarted_mid_stream_loses_nothing(
    runtime: Runtime, settings: Settings, redis: RedisServer, tmp_path: Path
) -> None:
    node1, node2 = nodes = await _nodes(settings, redis, tmp_path)
    try:
        customer = await make_user(runtime, "customer")
        agent = await make_user(runtime, "agent")
        conv = await make_conversation(runtime, customer, agent=agent)
        c = await RealtimeClient.connect(node1.ws_url, token_for(runtime, customer))
        a = await RealtimeClient.connect(node2.ws_url, token_for(runtime, agent))
        await c.subscribe(conv.id, after_seq=0)
        await a.subscribe(conv.id, after_seq=0)

        # Both stream at once, each through its own node; Redis dies and comes back.
        agent_count, customer_count = 120, 60
        streams = asyncio.gather(
            _stream(a, conv.id, agent_count, "a"), _stream(c, conv.id, customer_count, "c", 0.04)
        )
        await asyncio.sleep(0.8)
        redis.kill()
        await asyncio.sleep(1.5)  # messages keep being committed and acked meanwhile
        redis.start()
        await streams
        last = max([*await _acks(a, agent_count), *await _acks(c, customer_count)])
        at_customer, at_agent = await asyncio.gather(
            _read_until(c, conv.id, last), _read_until(a, conv.id, last)
        )
        assert at_customer == list(range(1, last + 1))
        assert at_agent == list(range(1, last + 1))

        # Live again over Redis once both nodes are back on it (connected, a node does not
        # poll the database: the next message can only come through Redis).
        async with asyncio.timeout(30):
            while not all("reconnected to Redis" in node.log() for node in nodes):
                await asyncio.sleep(0.1)
        await c.send(
            {"type": "send", "conversation_id": conv.id, "client_msg_id": "after", "body": "ok"}
        )
        got = await a.until(
            lambda f: f["type"] == "message" and f["message"]["body"] == "ok", timeout=10
        )
        assert got["message"]["seq"] == last + 1
        await c.close()
        await a.close()
    finally:
        _stop(nodes)


async def test_two_nodes_racing_close_each_conversation_once_and_run_each_job_once(
    runtime: Runtime, settings: Settings, redis: RedisServer, tmp_path: Path
) -> None:
    customer = await make_user(runtime, "customer")
    agent = await make_user(runtime, "agent")
    conversations = [
        (await make_conversation(runtime, customer, agent=agent)).id for _ in range(30)
    ]
    jobs = [f"race-{next(_names)}-{i}" for i in range(40)]
    async with runtime.uow() as tx:
        for key in jobs:
            await tx.enqueue(
                "email.send",
                {"to_user_id": customer.user_id, "template": "race"},
                key=key,
                tenant_id=customer.tenant_id,
            )
        await tx.session.execute(
            update(Conversation)
            .where(Conversation.id.in_(conversations))
            .values(closes_at=tx.now - timedelta(minutes=1))
        )
    # Both nodes sweep every 50 ms and poll for jobs as often: they race for every item.
    nodes = await _nodes(
        settings,
        redis,
        tmp_path,
        PARLOUR_SWEEP_INTERVAL_SECONDS="0.05",
        PARLOUR_JOB_POLL_SECONDS="0.05",
        PARLOUR_LOG_LEVEL="info",
    )
    try:
        async with asyncio.timeout(60):
            while True:
                async with runtime.uow(write=False) as tx:
                    open_left = await tx.session.scalar(
                        select(func.count())
                        .select_from(Conversation)
                        .where(
                            Conversation.id.in_(conversations), Conversation.status != Status.ended
                        )
                    )
                    jobs_left = await tx.session.scalar(
                        select(func.count())
                        .select_from(Job)
                        .where(Job.kind == "email.send", Job.status != "done")
                    )
                if open_left == 0 and jobs_left == 0:
                    break
                await asyncio.sleep(0.1)
        async with runtime.uow(write=False) as tx:
            ended = (
                await tx.session.execute(
                    select(Message.conversation_id, Message.meta).where(
                        Message.conversation_id.in_(conversations), Message.kind == "system"
                    )
                )
            ).all()
            attempts = list(
                await tx.session.scalars(select(Job.attempts).where(Job.kind == "email.send"))
            )
        closes = [cid for cid, meta in ended if (meta or {}).get("event") == "ended"]
        assert sorted(closes) == sorted(conversations)  # each closed, and only once
        assert attempts == [1] * len(jobs)  # each job claimed (run) once
        logs = [node.log() for node in nodes]
        for key in jobs:  # the job's side effect (the email seam's log line), once in all
            assert sum(log.count(f"{key}\n") for log in logs) == 1, key
    finally:
        _stop(nodes)
