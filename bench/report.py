"""What a run measured, merged over the client processes, as text and as Markdown."""

from __future__ import annotations

import argparse
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from bench.baseline import BaselineResult
from bench.loadgen import StepResult
from bench.server import Usage
from bench.stats import Latency

MIB = 1024 * 1024


@dataclass
class StepReport:
    name: str
    rate: float  # offered, messages/s
    seconds: float
    sent: int
    acked: int
    delivered: int
    duplicates: int
    out_of_order: int
    strays: int
    errors: Counter[str]
    delivered_per_second: float
    sent_per_second: float
    ack: Latency
    delivery: Latency
    send_lag: Latency
    server: Usage
    client_cpu_percent: float
    batches: list[int]
    sustainable: bool = False

    @property
    def lost(self) -> int:
        return self.sent - self.delivered

    @property
    def server_cpu_us_per_message(self) -> float:
        """Server CPU time per delivered message: steadier than latency on a shared machine."""
        return 1e6 * self.server.cpu_seconds / self.delivered if self.delivered else math.nan

    @property
    def mean_batch(self) -> float:
        return sum(self.batches) / len(self.batches) if self.batches else math.nan

    @classmethod
    def merge(
        cls,
        *,
        name: str,
        rate: float,
        seconds: float,
        results: list[StepResult],
        usage: Usage,
        batches: list[int],
    ) -> StepReport:
        start = min(r.first_send for r in results if r.sent) if any(r.sent for r in results) else 0
        last_send = max((r.last_send for r in results), default=0.0)
        last_delivery = max((r.last_delivery for r in results), default=0.0)
        delivered = sum(r.delivered for r in results)
        sent = sum(r.sent for r in results)
        errors: Counter[str] = Counter()
        for r in results:
            errors.update(r.errors)
        return cls(
            name=name,
            rate=rate,
            seconds=seconds,
            sent=sent,
            acked=sum(r.acked for r in results),
            delivered=delivered,
            duplicates=sum(r.duplicates + r.duplicate_acks for r in results),
            out_of_order=sum(r.out_of_order for r in results),
            strays=sum(r.strays for r in results),
            errors=errors,
            delivered_per_second=delivered / (last_delivery - start)
            if last_delivery > start
            else 0.0,
            sent_per_second=sent / (last_send - start) if last_send > start else 0.0,
            ack=Latency.of([x for r in results for x in r.ack_ms]),
            delivery=Latency.of([x for r in results for x in r.delivery_ms]),
            send_lag=Latency.of([x for r in results for x in r.send_lag_ms]),
            server=usage,
            client_cpu_percent=100.0
            * sum(r.cpu_seconds for r in results)
            / max(usage.wall_seconds, 1e-9),
            batches=batches,
        )


@dataclass
class BackendReport:
    backend: str
    run: StepReport = field(init=False)
    ramp: list[StepReport] = field(default_factory=list)
    baseline: list[BaselineResult] = field(default_factory=list)
    server_peak_rss: int = 0

    @property
    def max_sustainable(self) -> StepReport | None:
        """The highest-rate step that met the limits (the run included)."""
        good = [s for s in [self.run, *self.ramp] if s.sustainable]
        return max(good, key=lambda s: s.rate) if good else None


def header(
    *, cores: int, machine: str, when: datetime, command: str, args: argparse.Namespace
) -> str:
    clients = f"{args.clients} client process{'es' if args.clients > 1 else ''}"
    return "\n".join(
        [
            f"Parlour realtime benchmark, {when:%Y-%m-%d %H:%M} UTC, {cores} cores, {machine}, "
            f"load average before the run {os.getloadavg()[0]:.2f}",
            f"command: {command}",
            f"server: `parlour serve` (uvicorn, one process) on 127.0.0.1; load: {clients} "
            f"(asyncio + uvloop + websockets) on the same machine, {args.conversations} "
            f"conversations x (customer + agent), open-loop sends of {args.body_chars} chars, "
            f"compression {'permessage-deflate' if args.compression else 'off'}",
        ]
    )


def _errors(step: StepReport) -> str:
    if not step.errors:
        return "0"
    return ", ".join(f"{k} {v}" for k, v in step.errors.most_common())


def step_line(backend: str, step: StepReport) -> str:
    """One progress line while the benchmark runs."""
    verdict = "ok" if step.sustainable else "NOT sustainable"
    return (
        f"{backend:<10} {step.name:<4} {step.rate:>6.0f}/s: delivered {step.delivered}/"
        f"{step.sent} at {step.delivered_per_second:.0f}/s, delivery {step.delivery.text()}, "
        f"ack {step.ack.text()}, batch {step.mean_batch:.1f}, server CPU "
        f"{step.server.cpu_percent:.0f}% ({step.server_cpu_us_per_message:.0f} us/msg), "
        f"client CPU {step.client_cpu_percent:.0f}%, "
        f"send lag p99 {step.send_lag.p99:.1f} ms, errors {_errors(step)} [{verdict}]"
    )


def text(reports: list[BackendReport], skipped: list[str]) -> str:
    lines = []
    for r in reports:
        run = r.run
        lines += [
            f"== {r.backend} ==",
            f"offered {run.rate:.0f} msgs/s for {run.seconds:.0f} s: sent {run.sent}, "
            f"acked {run.acked}, delivered {run.delivered} "
            f"({run.delivered_per_second:.0f} msgs/s)",
            f"  send->delivery {run.delivery.text()} (max {run.delivery.max:.1f})",
            f"  send->ack      {run.ack.text()} (max {run.ack.max:.1f})",
            f"  lost {run.lost}, duplicates {run.duplicates}, out of order {run.out_of_order}, "
            f"errors {_errors(run)}",
            f"  writer: {len(run.batches)} commits, mean batch {run.mean_batch:.1f} "
            f"(max {max(run.batches, default=0)})",
            f"  server: CPU {run.server.cpu_percent:.0f}% of one core "
            f"({run.server_cpu_us_per_message:.0f} us per message), peak RSS "
            f"{run.server.peak_rss / MIB:.0f} MiB in the run, {r.server_peak_rss / MIB:.0f} MiB "
            f"overall; client CPU {run.client_cpu_percent:.0f}%, send lag p99 "
            f"{run.send_lag.p99:.1f} ms",
        ]
        best = r.max_sustainable
        if r.ramp:
            lines.append("  ramp: " + "; ".join(_ramp_cell(s) for s in r.ramp))
            lines.append(f"  max sustainable rate: {_best_text(r)}")
        lines.append("  raw baseline (same rows, same table, same durability):")
        for b in r.baseline:
            capped = f", capped at {b.rows} rows" if b.capped else ""
            lines.append(
                f"    {b.label():<36} {b.rows_per_second:>9,.0f} rows/s{capped}"
                f"  server/baseline: run {run.delivered_per_second / b.rows_per_second:.2f}"
                + (f", max {best.rate / b.rows_per_second:.2f}" if best else "")
            )
    lines += durability(reports)
    lines += skipped
    return "\n".join(lines)


def durability(reports: list[BackendReport]) -> list[str]:
    """What FULL costs against NORMAL on SQLite, when the run measured both."""
    by_name = {r.backend: r for r in reports}
    full, normal = by_name.get("sqlite-full"), by_name.get("sqlite-normal")
    if full is None or normal is None:
        return []
    best_full, best_normal = full.max_sustainable, normal.max_sustainable
    best = (
        f"{best_full.rate:.0f} vs {best_normal.rate:.0f} msgs/s"
        if best_full and best_normal
        else "n/a"
    )
    return [
        "== sqlite-full against sqlite-normal (PARLOUR_SQLITE_SYNCHRONOUS) ==",
        f"  run: delivery p50 {full.run.delivery.p50:.1f} vs {normal.run.delivery.p50:.1f} ms, "
        f"p99 {full.run.delivery.p99:.1f} vs {normal.run.delivery.p99:.1f} ms; "
        f"mean batch {full.run.mean_batch:.1f} vs {normal.run.mean_batch:.1f}",
        f"  max sustainable rate: {best}",
    ]


def _best_text(r: BackendReport) -> str:
    best = r.max_sustainable
    if best is None:
        return "none of the steps"
    every = all(s.sustainable for s in [r.run, *r.ramp])
    return f"{'at least ' if every else ''}{best.rate:.0f} msgs/s" + (
        " (every step passed: raise --ramp to find the limit)" if every else ""
    )


def _ramp_cell(step: StepReport) -> str:
    mark = "ok" if step.sustainable else "no"
    return (
        f"{step.rate:.0f}/s {mark} (delivered {step.delivered_per_second:.0f}/s, "
        f"p99 {step.delivery.p99:.0f} ms, batch {step.mean_batch:.1f}, "
        f"CPU {step.server.cpu_percent:.0f}%)"
    )


def markdown(reports: list[BackendReport], skipped: list[str], *, header: str) -> str:
    """The results as Markdown tables (docs/benchmarks.md takes them as they are)."""
    out = ["```", header, "```", ""]
    out += [
        "| backend | step | offered msgs/s | delivered msgs/s | delivery p50 / p95 / p99 ms "
        "| ack p50 / p95 / p99 ms | lost / dup | mean batch | server CPU (us/msg) | client CPU "
        "| server peak RSS |",
        "|---|---|---:|---:|---|---|---|---:|---:|---:|---:|",
    ]
    for r in reports:
        for s in [r.run, *r.ramp]:
            out.append(
                f"| {r.backend} | {s.name}{'' if s.sustainable else ' (over)'} | {s.rate:.0f} "
                f"| {s.delivered_per_second:.0f} "
                f"| {s.delivery.p50:.1f} / {s.delivery.p95:.1f} / {s.delivery.p99:.1f} "
                f"| {s.ack.p50:.1f} / {s.ack.p95:.1f} / {s.ack.p99:.1f} "
                f"| {s.lost} / {s.duplicates} | {s.mean_batch:.1f} "
                f"| {s.server.cpu_percent:.0f}% ({s.server_cpu_us_per_message:.0f}) "
                f"| {s.client_cpu_percent:.0f}% "
                f"| {s.server.peak_rss / MIB:.0f} MiB |"
            )
    out += [
        "",
        "| backend | raw baseline | rows | rows/s | server run / baseline "
        "| server max sustainable / baseline |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in reports:
        best = r.max_sustainable
        for b in r.baseline:
            out.append(
                f"| {r.backend} | {b.label()}{' (time-capped)' if b.capped else ''} | {b.rows} "
                f"| {b.rows_per_second:,.0f} "
                f"| {r.run.delivered_per_second / b.rows_per_second:.2f} "
                f"| {(best.rate / b.rows_per_second) if best else math.nan:.2f} |"
            )
    compared = durability(reports)
    if compared:
        out += ["", *(line.strip() for line in compared)]
    out += [f"\n{s}" for s in skipped]
    return "\n".join(out)


def ratios(one: BackendReport, two: BackendReport) -> str:
    """redis: the two-node run (Redis between the nodes) against one node, same invocation.
    Above 1 means more (throughput, latency, CPU) on two nodes."""

    def ratio(a: float, b: float) -> str:
        return f"{b / a:.2f}" if a and not math.isnan(a) and not math.isnan(b) else "n/a"

    r1, r2 = one.run, two.run
    best1, best2 = one.max_sustainable, two.max_sustainable
    return "\n".join(
        [
            f"== {two.backend} against {one.backend} (ratio two nodes / one node) ==",
            f"  run delivered msgs/s: {r2.delivered_per_second:.0f} vs "
            f"{r1.delivered_per_second:.0f} = "
            f"{ratio(r1.delivered_per_second, r2.delivered_per_second)}",
            f"  send->delivery p50: {r2.delivery.p50:.1f} vs {r1.delivery.p50:.1f} ms = "
            f"{ratio(r1.delivery.p50, r2.delivery.p50)}; p99: {r2.delivery.p99:.1f} vs "
            f"{r1.delivery.p99:.1f} ms = {ratio(r1.delivery.p99, r2.delivery.p99)}",
            f"  send->ack p50: {r2.ack.p50:.1f} vs {r1.ack.p50:.1f} ms = "
            f"{ratio(r1.ack.p50, r2.ack.p50)}; p99: {r2.ack.p99:.1f} vs {r1.ack.p99:.1f} ms = "
            f"{ratio(r1.ack.p99, r2.ack.p99)}",
            f"  server-side CPU per message (nodes + Redis): {r2.server_cpu_us_per_message:.0f} "
            f"vs {r1.server_cpu_us_per_message:.0f} us = "
            f"{ratio(r1.server_cpu_us_per_message, r2.server_cpu_us_per_message)}",
            f"  lost / duplicates / out of order: {r2.lost} / {r2.duplicates} / "
            f"{r2.out_of_order} vs {r1.lost} / {r1.duplicates} / {r1.out_of_order}",
            "  max sustainable rate: "
            + (
                f"{best2.rate:.0f} vs {best1.rate:.0f} msgs/s = {ratio(best1.rate, best2.rate)}"
                if best1 and best2
                else f"{_best_text(two)} vs {_best_text(one)}"
            ),
        ]
    )
