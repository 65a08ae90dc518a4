"""The server under test: a real `parlour serve` process, its memory and CPU, its batch log."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil  # type: ignore[import-untyped]

from bench.database import SECRET_KEY, BenchDatabase

# Written by bench.server_main for every batch the message writer commits.
BATCH_LINE = re.compile(r"^(\d+\.\d+) batch committed (\d+)$", re.MULTILINE)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    profiler: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/v1/realtime"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_server(
    db: BenchDatabase,
    *,
    profile: Path | None = None,
    extra_env: dict[str, str] | None = None,
    log_name: str = "server.log",
) -> Server:
    """`parlour serve` on a free port against `db`; returns once /readyz answers.

    With `profile`, py-spy samples the server from then on and writes its stacks there (in
    py-spy's raw format, one collapsed stack per line) when the server stops.
    """
    port = free_port()
    env = {
        **os.environ,
        "PARLOUR_DATABASE_URL": db.url,
        "PARLOUR_DATA_DIR": str(db.data_dir),
        "PARLOUR_SECRET_KEY": SECRET_KEY,
        "PARLOUR_LOG_LEVEL": "warning",
        "PARLOUR_SQLITE_SYNCHRONOUS": db.synchronous,
        # The per-user send limit (600/min by default) protects a real deployment; here each
        # customer deliberately sends faster than a person would.
        "PARLOUR_SEND_RATE_PER_MINUTE": "100000000",
        **(extra_env or {}),  # redis: PARLOUR_REDIS_URL for the two-node run
    }
    log_path = db.data_dir / log_name
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.server_main", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, port, log_path)
    # Generous: on a loaded machine importing the app alone has taken 15 s and more.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited:\n{server.log()}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=1).status_code == 200:
                if profile:
                    server.profiler = _py_spy(process.pid, profile)
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    stop_server(server)
    raise RuntimeError(f"the server did not become ready:\n{server.log()}")


def _py_spy(pid: int, output: Path) -> subprocess.Popen[bytes]:
    py_spy = Path(sys.executable).with_name("py-spy")
    if not py_spy.exists():
        raise RuntimeError(
            f"profiling needs py-spy: uv pip install --python {sys.executable} py-spy"
        )
    command = [str(py_spy), "record", "--pid", str(pid), "--rate", "200", "--format", "raw"]
    return subprocess.Popen([*command, "--output", str(output), "--nonblocking"])


def stop_server(server: Server) -> None:
    if server.profiler is not None:
        server.profiler.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        server.profiler.wait(timeout=30)
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def batch_sizes(server: Server, start: float, end: float) -> list[int]:
    """Sizes of the batches the writer committed between two `time.time()` instants."""
    return [
        int(size)
        for stamp, size in BATCH_LINE.findall(server.log())
        if start <= float(stamp) <= end
    ]


@dataclass
class Usage:
    """Peak memory and CPU time of a process over a window."""

    peak_rss: int = 0
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0

    @property
    def cpu_percent(self) -> float:
        return 100.0 * self.cpu_seconds / self.wall_seconds if self.wall_seconds else 0.0


@dataclass
class Samplers:
    """redis: several processes (two nodes and Redis) sampled as one: memory and CPU summed."""

    samplers: list[Sampler]

    @property
    def peak_rss(self) -> int:
        return sum(s.peak_rss for s in self.samplers)

    def start(self) -> None:
        for sampler in self.samplers:
            sampler.start()

    def stop(self) -> None:
        for sampler in self.samplers:
            sampler.stop()

    def begin_window(self) -> None:
        for sampler in self.samplers:
            sampler.begin_window()

    def end_window(self) -> Usage:
        usages = [s.end_window() for s in self.samplers]
        return Usage(
            peak_rss=sum(u.peak_rss for u in usages),
            cpu_seconds=sum(u.cpu_seconds for u in usages),
            wall_seconds=max(u.wall_seconds for u in usages),
        )


@dataclass
class Sampler:
    """Samples a process's RSS every `interval` seconds on a thread; windows report peaks."""

    pid: int
    interval: float = 0.05
    peak_rss: int = 0
    _window_peak: int = 0
    _window_cpu: float = 0.0
    _window_start: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        self._process = psutil.Process(self.pid)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        self.begin_window()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _sample(self) -> None:
        try:
            rss = self._process.memory_info().rss
        except psutil.Error:
            return
        self.peak_rss = max(self.peak_rss, rss)
        self._window_peak = max(self._window_peak, rss)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _cpu(self) -> float:
        times = self._process.cpu_times()
        return float(times.user + times.system)

    def begin_window(self) -> None:
        self._window_peak = 0
        self._sample()
        self._window_cpu = self._cpu()
        self._window_start = time.monotonic()

    def end_window(self) -> Usage:
        self._sample()
        return Usage(
            peak_rss=self._window_peak,
            cpu_seconds=self._cpu() - self._window_cpu,
            wall_seconds=time.monotonic() - self._window_start,
        )
