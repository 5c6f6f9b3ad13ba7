"""Slack connector load: N signed app_mention events at once on loopback; ack times and answers per event.

    python -m benchmarks.slack_load                      # 200 events, fast fake agent, 25 % redelivered
    python -m benchmarks.slack_load --events 20 --real-agent --ingest-samples   # the real agent.service

The server (stub Slack Web API + bolt app under uvicorn) runs in this process; the events are sent from a
separate process so the sender does not compete with the server for the GIL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import tempfile
import threading
import time
from collections import Counter
from typing import Any

SIGNING_SECRET = "benchmark-signing-secret"
CHANNEL = "C0BENCH001"
USERS = ["U0ZHANGWEI", "U0LINA0001", "U0LIUYANG1", "U0ZHAOMIN1"]
QUESTIONS = [
    "QM-X3 的质保期是多久？",
    "What is the payment schedule in the Huadong People's Hospital contract?",
    "How does QI-G5 compare with the Veltrix EG-400 gateway?",
    "What discount can I give on QM-V8 without approval?",
]
ACK_LIMIT_SECONDS = 3.0


def send_all(url: str, requests: list[tuple[str, dict[str, str]]], results: Any) -> None:
    """Child process: sign each body just before sending, send all at once, report (index, status, seconds)."""
    import httpx

    from tests.stubs.slack_api import sign_slack_request

    async def send_one(client: httpx.AsyncClient, index: int, body: str, extra: dict[str, str]) -> tuple:
        headers = {"Content-Type": "application/json", **sign_slack_request(SIGNING_SECRET, body), **extra}
        started = time.perf_counter()
        try:
            response = await client.post(url, content=body.encode("utf-8"), headers=headers)
            return index, response.status_code, time.perf_counter() - started
        except httpx.HTTPError as error:
            return index, f"error: {error!r}", time.perf_counter() - started

    async def main() -> list[tuple]:
        limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=0)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            return await asyncio.gather(*(send_one(client, index, body, extra)
                                          for index, (body, extra) in enumerate(requests)))

    results.put(asyncio.run(main()))


class FastFakeAgent:
    """Answers after a short pause (a stand-in for the graph), counting calls per thread."""

    def __init__(self, work_seconds: float) -> None:
        self.work_seconds = work_seconds
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def answer_turn(self, request: Any) -> Any:
        from agent.models import Citation, TurnResult

        with self._lock:
            self.calls[request.thread_id] += 1
        time.sleep(self.work_seconds)
        return TurnResult(answer=f"Answer to {request.text}", citations=[
            Citation(source="faq.md", section="Warranty", quote="24 months from acceptance")])


def build_requests(events: int, redeliver_fraction: float) -> tuple[list[tuple[str, dict[str, str]]], list[str]]:
    from tests.stubs.slack_api import app_mention_event, event_callback_body

    requests: list[tuple[str, dict[str, str]]] = []
    event_timestamps: list[str] = []
    base = int(time.time())
    for number in range(events):
        ts = f"{base}.{number:06d}"
        event = app_mention_event(QUESTIONS[number % len(QUESTIONS)], USERS[number % len(USERS)], CHANNEL, ts)
        body = json.dumps(event_callback_body(event, f"EvBench{base}{number:05d}"), ensure_ascii=False)
        requests.append((body, {}))
        event_timestamps.append(ts)
    redelivered = int(events * redeliver_fraction)
    # Redeliveries go out in the same burst, as Slack's retries can overlap a slow first delivery.
    requests.extend((requests[number][0], {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
                    for number in range(redelivered))
    return requests, event_timestamps


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def run(args: argparse.Namespace) -> int:
    from connectors.slack.app import build_slack_app
    from connectors.slack.server import create_asgi_app
    from salesbot.settings import Settings, reset_runtime
    from tests.stubs.slack_api import ServerThread, SlackApiStub, TrackingExecutor

    # A fresh home by default: the dedupe store must not remember event ids from an earlier run.
    os.environ["SALESBOT_HOME"] = args.home or tempfile.mkdtemp(prefix="salesbot-slack-load-")
    if args.real_agent and not args.home and not args.ingest_samples:
        args.ingest_samples = True  # a fresh home has no knowledge base yet
    reset_runtime()
    if args.ingest_samples:
        from knowledge.ingest import ingest_paths
        from salesbot.settings import SAMPLES_DIR
        from tools.sales.seed import install_demo_pricing_policy

        install_demo_pricing_policy()
        started = time.perf_counter()
        report = ingest_paths([SAMPLES_DIR])
        print(f"ingested samples in {time.perf_counter() - started:.1f} s ({len(report.results)} files)")

    fake = FastFakeAgent(args.fake_work_ms / 1000)
    agent_functions: dict[str, Any] = {} if args.real_agent else {"answer_turn": fake.answer_turn}
    requests, event_timestamps = build_requests(args.events, args.redeliver_fraction)
    executor = TrackingExecutor(max_workers=args.workers)
    with SlackApiStub() as stub:
        settings = Settings(slack_signing_secret=SIGNING_SECRET, slack_bot_token="xoxb-bench",
                            slack_api_url=stub.base_url)
        app = build_slack_app(settings=settings, listener_executor=executor, **agent_functions)
        with ServerThread(create_asgi_app(app)) as server:
            results_queue: Any = multiprocessing.get_context("spawn").Queue()
            sender = multiprocessing.get_context("spawn").Process(
                target=send_all, args=(server.url + "/slack/events", requests, results_queue))
            burst_started = time.perf_counter()
            sender.start()
            results = results_queue.get(timeout=600)
            sender.join(timeout=60)
            acked_at = time.perf_counter() - burst_started
            executor.wait_idle(timeout_s=args.answer_timeout_s)
            answered_at = time.perf_counter() - burst_started
            posts = stub.calls_to("chat.postMessage")
    executor.shutdown()

    ack_seconds = [seconds for _index, _status, seconds in results]
    statuses = Counter(str(status) for _index, status, _seconds in results)
    answers_per_event = Counter(post.params.get("thread_ts") for post in posts)
    per_event = Counter(answers_per_event.get(ts, 0) for ts in event_timestamps)
    friendly_errors = sum(1 for post in posts if str(post.params.get("text", "")).startswith(("Sorry", "抱歉")))
    print(f"agent: {'real agent.service' if args.real_agent else f'fake ({args.fake_work_ms} ms per answer)'}; "
          f"listener workers: {args.workers}")
    print(f"requests sent at once: {len(requests)} ({args.events} events + {len(requests) - args.events} redeliveries)")
    print(f"HTTP statuses: {dict(statuses)}")
    print(f"ack time: max {max(ack_seconds) * 1000:.0f} ms, p95 {percentile(ack_seconds, 0.95) * 1000:.0f} ms, "
          f"p50 {statistics.median(ack_seconds) * 1000:.0f} ms; acks over {ACK_LIMIT_SECONDS:.0f} s: "
          f"{sum(1 for seconds in ack_seconds if seconds > ACK_LIMIT_SECONDS)}")
    print(f"since the sender process started: all acked after {acked_at:.2f} s, all answered after {answered_at:.2f} s")
    print(f"answers per event: {dict(sorted(per_event.items()))} (key = number of answers, value = events)")
    if not args.real_agent:
        print(f"agent calls: {sum(fake.calls.values())} for {args.events} events")
    print(f"friendly error messages among answers: {friendly_errors}")
    ok = (statuses == Counter({"200": len(requests)}) and per_event == Counter({1: args.events})
          and max(ack_seconds) <= ACK_LIMIT_SECONDS)
    print("RESULT:", "every ack within 3 s and every event answered exactly once" if ok else "NOT MET")
    if friendly_errors:
        print(f"WARNING: {friendly_errors} answers were the friendly error message; the server log has the causes")
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--redeliver-fraction", type=float, default=0.25,
                        help="share of events also sent again with X-Slack-Retry-Num in the same burst")
    parser.add_argument("--workers", type=int, default=8, help="lazy listener threads")
    parser.add_argument("--fake-work-ms", type=int, default=20, help="the fake agent's time per answer")
    parser.add_argument("--real-agent", action="store_true", help="use agent.service.answer_turn")
    parser.add_argument("--ingest-samples", action="store_true", help="ingest samples/ first")
    parser.add_argument("--home", help="SALESBOT_HOME to use (default: a fresh temp dir)")
    parser.add_argument("--answer-timeout-s", type=float, default=1800)
    raise SystemExit(run(parser.parse_args()))


if __name__ == "__main__":
    main()
