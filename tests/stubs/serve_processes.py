"""Real `salesbot serve <connector>` child processes on 127.0.0.1, and a concurrent HTTP sender (tests, benchmarks).

What every connector's multi-process test shares: start N processes at once (they create the schema concurrently,
as a real rollout does), wait for /healthz, SIGKILL or stop them, and fire many deliveries with a bounded number
in flight, each prepared (signed, encrypted) just before it goes out. The connector-specific parts (settings,
payloads, signatures) live in slack_processes.py and wecom_processes.py.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self, TypeVar

from tests.servers import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 120.0

ProcessT = TypeVar("ProcessT", bound="ServeProcess")
DeliveryT = TypeVar("DeliveryT")


@dataclass
class ServeProcess:
    """One `salesbot serve <connector> --port N` child; its log goes to a file (read it when something fails)."""

    connector: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, connector: str, settings: dict[str, str], env: dict[str, str] | None = None) -> Self:
        """Start `salesbot serve <connector>` with this test's environment (or `env`) plus `settings`."""
        port = free_port()
        log_path = Path(tempfile.mkstemp(prefix=f"salesbot-serve-{connector}-{port}-", suffix=".log")[1])
        child_env = {**(env if env is not None else os.environ), **settings, "ANONYMIZED_TELEMETRY": "False"}
        with log_path.open("wb") as log:
            process = subprocess.Popen([str(Path(sys.executable).parent / "salesbot"), "serve", connector, "--port",
                                        str(port)], cwd=REPO_ROOT, env=child_env, stdout=log, stderr=subprocess.STDOUT)
        return cls(connector=connector, process=process, port=port, log_path=log_path)

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"salesbot serve {self.connector} exited {self.process.returncode}: "
                                   f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"salesbot serve {self.connector} did not answer on port {self.port}: {self.log_tail()}")

    def log_tail(self, characters: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-characters:]

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, nothing flushed — what a crashed or OOM-killed process leaves."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log_path.unlink(missing_ok=True)


def start_processes(count: int, start_one: Callable[[], ProcessT]) -> list[ProcessT]:
    """Start `count` processes at once and wait until each answers /healthz; stops them all if one fails."""
    processes = [start_one() for _ in range(count)]
    try:
        for process in processes:
            process.wait_ready()
    except BaseException:
        for process in processes:
            process.stop()
        raise
    return processes


@dataclass(frozen=True)
class HttpPost:
    """One POST as it goes on the wire: URL (query string included), body and headers."""

    url: str
    body: bytes
    headers: dict[str, str]


def post_concurrently(deliveries: Sequence[DeliveryT], prepare: Callable[[DeliveryT], HttpPost],
                      concurrency: int = 50, timeout_s: float = 60.0) -> list[tuple[int | str, float]]:
    """POST every delivery (at most `concurrency` in flight), preparing each just before it is sent (so a
    signature's timestamp is fresh). Returns (HTTP status or an error text, response seconds) per delivery,
    in order."""
    import httpx

    async def send_one(client: httpx.AsyncClient, gate: asyncio.Semaphore,
                       delivery: DeliveryT) -> tuple[int | str, float]:
        async with gate:
            post = prepare(delivery)
            started = time.perf_counter()
            try:
                response = await client.post(post.url, content=post.body, headers=post.headers)
                return response.status_code, time.perf_counter() - started
            except httpx.HTTPError as error:
                return f"error: {error!r}", time.perf_counter() - started

    async def main() -> list[tuple[int | str, float]]:
        gate = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            return list(await asyncio.gather(*(send_one(client, gate, delivery) for delivery in deliveries)))

    return asyncio.run(main())


def tasks_and_executions(action_id: str) -> tuple[list[Any], list[Any]]:
    """One action's Task rows and its 'executed' audit events, read from the shared (Postgres) database."""
    from sqlmodel import select

    from tools.db.tables import AuditEvent, Task, sales_session

    with sales_session() as session:
        assert session.get_bind().dialect.name == "postgresql"
        tasks = list(session.exec(select(Task).where(Task.action_id == action_id)).all())
        executed = list(session.exec(select(AuditEvent).where(AuditEvent.action_id == action_id,
                                                              AuditEvent.event == "executed")).all())
    return tasks, executed
