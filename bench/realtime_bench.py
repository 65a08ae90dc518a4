"""Realtime benchmark: customers and agents chatting over the WebSocket gateway of a real server.

For each backend: a fresh migrated database, N conversations each with a customer and an agent
(made in-process through Parlour's services), a real `parlour serve` process on a free port,
and one or a few client processes holding a customer and an agent WebSocket per conversation.
Customers send at a fixed total rate; the run measures send->ack (customer) and send->delivery
(agent) latency, delivered messages per second, lost and duplicate messages, the server's peak
memory and CPU, and the writer's batch sizes. An optional ramp raises the rate step by step to
find the highest sustainable one. Then the server stops and a raw baseline inserts the same
number of rows into the same table straight through the driver.

With --two-nodes (redis), PostgreSQL also runs as two server processes over the same database
and a redis-server, the customers connected to one node and the agents to the other (every
message crosses nodes through Redis), and the results are printed as ratios to the one-node
PostgreSQL run of the same invocation.

    python -m bench.realtime_bench --help
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import multiprocessing
import os
import platform
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess
from pathlib import Path

from bench import report
from bench.baseline import (
    BaselineResult,
    aiosqlite_baseline,
    postgres_baseline,
    sqlite_baseline,
)
from bench.database import (
    BACKENDS,
    DEFAULT_PG_ADMIN_URL,
    SQLITE_LEVELS,
    BackendUnavailable,
    BenchDatabase,
    Pair,
    fresh_database,
    make_pairs,
)
from bench.loadgen import StepCommand, StepResult, worker_main
from bench.redis_server import start_redis, stop_redis
from bench.report import BackendReport, StepReport
from bench.server import Sampler, Samplers, Server, batch_sizes, start_server, stop_server

# A step is sustainable when its p99 send->delivery stays under this and nearly all arrive.
P99_LIMIT_MS = 250.0
MIN_DELIVERED = 0.95


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.realtime_bench",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument(
        "--backend",
        choices=[*BACKENDS, "sqlite", "all", "both"],
        default="all",
        help="sqlite-full, sqlite-normal (PARLOUR_SQLITE_SYNCHRONOUS), postgresql; 'sqlite' "
        "for both SQLite levels; 'all' (or 'both') for all three (default)",
    )
    parser.add_argument("--conversations", type=int, default=50, help="N (default 50)")
    parser.add_argument(
        "--rate", type=float, default=1000, help="messages/s in total, all customers (1000)"
    )
    parser.add_argument("--seconds", type=float, default=10, help="length of the run (10)")
    parser.add_argument(
        "--ramp",
        default="1500,2000,3000,4000,5000",
        help="rates for the ramp after the run, comma-separated; stops at the first step "
        f"with p99 delivery > {P99_LIMIT_MS:.0f} ms or < {MIN_DELIVERED * 100:.0f}%% delivered "
        "('' for none)",
    )
    parser.add_argument("--ramp-seconds", type=float, default=5, help="length of a step (5)")
    parser.add_argument("--clients", type=int, default=1, help="client processes (1)")
    parser.add_argument("--body-chars", type=int, default=60, help="message length (60)")
    parser.add_argument(
        "--compression",
        action="store_true",
        help="negotiate permessage-deflate like a browser does (off by default)",
    )
    parser.add_argument(
        "--drain-seconds",
        type=float,
        default=5,
        help="how long a step waits for outstanding acks and deliveries (5)",
    )
    parser.add_argument(
        "--baseline-seconds",
        type=float,
        default=5,
        help="time cap of each baseline mode; a capped mode reports the rows it did (5)",
    )
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get("PARLOUR_BENCH_PG_URL", DEFAULT_PG_ADMIN_URL),
        help="PostgreSQL server for the scratch database (PARLOUR_BENCH_PG_URL)",
    )
    parser.add_argument(
        "--profile-dir",
        type=Path,
        help="sample the server with py-spy and write <backend>.txt (collapsed stacks) here",
    )
    parser.add_argument(
        "--markdown", action="store_true", help="also print the results as Markdown tables"
    )
    parser.add_argument(
        "--two-nodes",
        action="store_true",
        help="redis: also run PostgreSQL on two server processes with Redis between them "
        "(customers on one, agents on the other) and print ratios to one node",
    )
    args = parser.parse_args(argv)
    args.ramp_rates = [float(r) for r in args.ramp.split(",") if r.strip()]
    if args.conversations < 1 or args.rate <= 0 or args.seconds <= 0 or args.clients < 1:
        parser.error("conversations, rate, seconds and clients must be positive")
    return args


@dataclass
class Clients:
    """The client processes and their command pipes."""

    processes: list[SpawnProcess]
    pipes: list[Connection]
    total_conversations: int

    @classmethod
    def start(
        cls,
        server: Server,
        pairs: list[Pair],
        args: argparse.Namespace,
        agent_server: Server | None = None,
    ) -> Clients:
        context = multiprocessing.get_context("spawn")
        count = min(args.clients, len(pairs))
        processes, pipes = [], []
        for k in range(count):
            share = [(i, p) for i, p in enumerate(pairs) if i % count == k]
            parent, child = context.Pipe()
            process = context.Process(
                target=worker_main,
                args=(
                    child,
                    server.ws_url,
                    share,
                    args.body_chars,
                    args.compression,
                    agent_server.ws_url if agent_server else None,
                ),
                name=f"bench-client-{k}",
                daemon=True,
            )
            process.start()
            processes.append(process)
            pipes.append(parent)
        clients = cls(processes, pipes, len(pairs))
        for pipe in pipes:
            clients._expect(pipe, "ready")
        return clients

    def _expect(self, pipe: Connection, kind: str) -> object:
        if not pipe.poll(120):
            raise RuntimeError(f"a client process did not answer ({kind})")
        got, value = pipe.recv()
        if got != kind:
            raise RuntimeError(f"a client process failed: {value}")
        return value

    def run(self, step: int, rate: float, seconds: float, drain: float) -> list[StepResult]:
        start_at = time.monotonic() + 0.3
        command = StepCommand(step, rate, seconds, start_at, self.total_conversations, drain)
        for pipe in self.pipes:
            pipe.send(command)
        results = []
        for pipe in self.pipes:
            result = self._expect(pipe, "result")
            assert isinstance(result, StepResult)
            results.append(result)
        return results

    def stop(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(BrokenPipeError, OSError):
                pipe.send(None)
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()


@dataclass
class Harness:
    """A running server, its sampler and its clients: runs measured steps."""

    clients: Clients
    server: Server
    sampler: Sampler | Samplers
    drain_seconds: float

    def step(self, name: str, step: int, rate: float, seconds: float) -> StepReport:
        """One step at `rate` msgs/s, measured from the clients and from the server's side."""
        wall_start = time.time()
        self.sampler.begin_window()
        results = self.clients.run(step, rate, seconds, self.drain_seconds)
        usage = self.sampler.end_window()
        batches = batch_sizes(self.server, wall_start, time.time())
        return StepReport.merge(
            name=name, rate=rate, seconds=seconds, results=results, usage=usage, batches=batches
        )


def passed(step: StepReport) -> bool:
    return (
        step.delivery.p99 <= P99_LIMIT_MS
        and step.delivered >= MIN_DELIVERED * step.sent
        and not step.errors
        and step.duplicates == 0
    )


async def run_backend(backend: str, args: argparse.Namespace, *, nodes: int = 1) -> BackendReport:
    """Everything for one backend: database, server(s), load, ramp, then the raw baseline.
    With two nodes (redis): a redis-server and two servers; the writer's batches are counted
    on the first (the customers', who send), memory and CPU summed over all three processes."""
    async with fresh_database(backend, pg_admin_url=args.pg_admin_url) as db:
        pairs = await make_pairs(db, args.conversations)
        name = backend if nodes == 1 else f"{backend} x{nodes} + redis"
        result = BackendReport(backend=name)
        profile = args.profile_dir / f"{backend}.txt" if args.profile_dir else None
        redis, env = None, {}
        if nodes > 1:
            redis, redis_url = start_redis(db.data_dir)
            env = {"PARLOUR_REDIS_URL": redis_url}
        servers: list[Server] = []
        try:
            for n in range(nodes):
                servers.append(
                    start_server(
                        db,
                        profile=profile if n == 0 else None,
                        extra_env=env,
                        log_name=f"server{n}.log" if n else "server.log",
                    )
                )
            server = servers[0]
            pids = [s.process.pid for s in servers] + ([redis.pid] if redis else [])
            sampler = Sampler(pids[0]) if len(pids) == 1 else Samplers([Sampler(p) for p in pids])
            sampler.start()
            clients: Clients | None = None
            try:
                clients = Clients.start(server, pairs, args, agent_server=servers[-1])
                harness = Harness(clients, server, sampler, args.drain_seconds)
                # Warm-up (not reported): first-use costs such as statement compilation.
                harness.step("warm-up", 0, args.rate, 2)
                result.run = harness.step("run", 1, args.rate, args.seconds)
                result.run.sustainable = passed(result.run)
                print(report.step_line(name, result.run), flush=True)
                for n, rate in enumerate(args.ramp_rates, start=2):
                    step = harness.step("ramp", n, rate, args.ramp_seconds)
                    step.sustainable = passed(step)
                    result.ramp.append(step)
                    print(report.step_line(name, step), flush=True)
                    if not step.sustainable:
                        break
            finally:
                if clients is not None:
                    clients.stop()
                sampler.stop()
                result.server_peak_rss = sampler.peak_rss
        finally:
            for server in servers:
                stop_server(server)
            if redis is not None:
                stop_redis(redis)
        for server in servers:
            log = server.log().splitlines()
            if any("Traceback" in line for line in log):
                # The log goes with the temporary folder: show its end now.
                print(
                    f"{name}: the server logged errors; the end of its log:", *log[-40:], sep="\n"
                )
        result.baseline = await run_baseline(
            db, rows=max(result.run.delivered, 1), batch=result.run.mean_batch, args=args
        )
        return result


async def run_baseline(
    db: BenchDatabase, *, rows: int, batch: float, args: argparse.Namespace
) -> list[BaselineResult]:
    """The raw baseline: one row per transaction, the server's mean batch, and 100 rows."""
    sizes = sorted({1, 1 if math.isnan(batch) else max(1, round(batch)), 100})
    body = "x" * args.body_chars
    cap = args.baseline_seconds
    if db.is_sqlite:
        raw = sqlite_baseline(db, rows=rows, batch_sizes=sizes, body=body, max_seconds=cap)
        hop = await aiosqlite_baseline(
            db, rows=rows, batch_sizes=sizes[:2], body=body, max_seconds=cap
        )
        return [*raw, *hop]
    return await postgres_baseline(db, rows=rows, batch_sizes=sizes, body=body, max_seconds=cap)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    backends = {"all": BACKENDS, "both": BACKENDS, "sqlite": list(SQLITE_LEVELS)}.get(
        args.backend, [args.backend]
    )
    started = time.monotonic()
    header = report.header(
        cores=os.cpu_count() or 0,
        machine=f"{platform.system()} {platform.machine()}, Python {platform.python_version()}",
        when=datetime.now(UTC),
        command=" ".join(["python -m bench.realtime_bench", *sys.argv[1:]]),
        args=args,
    )
    print(header, flush=True)
    reports, skipped = [], []
    if args.two_nodes and "postgresql" not in backends:
        backends = [*backends, "postgresql"]
    for backend in backends:
        try:
            reports.append(asyncio.run(run_backend(backend, args)))
        except BackendUnavailable as exc:
            skipped.append(f"{backend}: skipped, {exc}")
    one_node = next((r for r in reports if r.backend == "postgresql"), None)
    two_nodes = None
    if args.two_nodes and one_node is not None:
        # redis: next to the one-node run of this same invocation, on the same machine.
        try:
            two_nodes = asyncio.run(run_backend("postgresql", args, nodes=2))
            reports.append(two_nodes)
        except BackendUnavailable as exc:
            skipped.append(f"postgresql x2 + redis: skipped, {exc}")
    print()
    print(report.text(reports, skipped))
    if one_node is not None and two_nodes is not None:
        print()
        print(report.ratios(one_node, two_nodes))
    if args.markdown:
        print()
        print(report.markdown(reports, skipped, header=header))
    print(f"\ntotal time {time.monotonic() - started:.0f} s")
    # No step may duplicate or reorder a message, and the run (within its limits) may lose none.
    failed = any(
        r.run.lost or any(s.duplicates or s.out_of_order for s in [r.run, *r.ramp]) for r in reports
    )
    if failed:
        print("FAILED: a message was lost, duplicated or delivered out of order")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
