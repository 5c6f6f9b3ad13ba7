"""Scale benchmark for the server profile: two `serve slack` processes under load, search latency at size
(embedded vs server), ingest chunks/s. Starts its own throwaway Postgres and `chroma run` (tests/servers.py).

    python -m benchmarks.scale --mode events                 # 500 events + 100 redeliveries over 2 processes
    python -m benchmarks.scale --mode search --sizes 10000,100000 [--profiles embedded,server]
    python -m benchmarks.scale --mode ingest                 # salesbot's ingest of samples/, both profiles
    python -m benchmarks.scale --mode all --json reports/scale.json

Search uses synthetic chunk texts and random unit vectors (embedding 1M real texts is out of reach on 2 cores),
written through the product's tables and dense store and read through retrieve_with_role_filter (BM25 + dense
+ entity, role filter on, real query embedding). 1M chunks only when asked: --sizes 10000,100000,1000000.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from tests.servers import ChromaServer, PostgresServer, chroma_executable, postgres_bin_dir  # noqa: E402

ACK_LIMIT_S = 3.0
CHANNEL = "C0BENCH001"
USERS = ["U0ZHANGWEI", "U0LINA0001", "U0LIUYANG1", "U0ZHAOMIN1"]
QUESTIONS = ["QM-X3 的质保期是多久？", "What is the payment schedule in the Huadong People's Hospital contract?",
             "How does QI-G5 compare with the Veltrix EG-400 gateway?", "付款 质保 验收 合同 医院",
             "warranty delivery penalty gateway", "远程 诊断 报警 firmware upgrade"]
SEARCH_QUERIES = QUESTIONS * 5  # 30 timed queries per role


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


@contextmanager
def servers() -> Iterator[tuple[PostgresServer, ChromaServer]]:
    bin_dir, chroma = postgres_bin_dir(), chroma_executable()
    if bin_dir is None or chroma is None:
        raise SystemExit("needs PostgreSQL (apt-get install postgresql) and the `chroma` command (chromadb)")
    postgres = PostgresServer.start(bin_dir)
    try:
        chroma_server = ChromaServer.start(chroma)
        try:
            yield postgres, chroma_server
        finally:
            chroma_server.stop()
    finally:
        postgres.stop()


_databases = iter(range(1, 10_000))


def use_profile(profile: str, label: str, postgres: PostgresServer | None, chroma: ChromaServer | None) -> None:
    """A fresh home; for `server` also a fresh Postgres database, and the Chroma server (collections are per
    fingerprint, so the server is reset between sizes)."""
    from salesbot.settings import reset_runtime

    os.environ["SALESBOT_HOME"] = tempfile.mkdtemp(prefix=f"salesbot-scale-{label}-")
    for name in ("SALESBOT_DATABASE_URL", "SALESBOT_CHROMA_URL"):
        os.environ.pop(name, None)
    if profile == "server":
        assert postgres is not None and chroma is not None
        os.environ["SALESBOT_DATABASE_URL"] = postgres.create_database(f"scale_{label}_{next(_databases)}")
        os.environ["SALESBOT_CHROMA_URL"] = chroma.url
        import chromadb

        host, port = chroma.url.rsplit(":", 1)
        client = chromadb.HttpClient(host=host.removeprefix("http://"), port=int(port))
        for collection in client.list_collections():
            client.delete_collection(collection if isinstance(collection, str) else collection.name)
    reset_runtime()


# -- events ---------------------------------------------------------------------------------------------
def events_mode(args: argparse.Namespace, postgres: PostgresServer) -> dict[str, Any]:
    from tests.stubs.slack_api import SlackApiStub
    from tests.stubs.slack_processes import mention_deliveries, send_deliveries, start_processes

    env = {**os.environ, "SALESBOT_HOME": tempfile.mkdtemp(prefix="salesbot-scale-events-"),
           "SALESBOT_DATABASE_URL": postgres.create_database("scale_events"), "SALESBOT_EMBEDDING": "none",
           "SALESBOT_LLM": "none"}
    env.pop("SALESBOT_CHROMA_URL", None)
    samples = Path(__file__).resolve().parents[1] / "samples"
    env.setdefault("SALESBOT_ENTITIES_FILE", str(samples / "entities.yaml"))
    env.setdefault("SALESBOT_PRICING_POLICY_FILE", str(samples / "policy" / "pricing_policy.yaml"))
    with SlackApiStub() as stub:
        processes = start_processes(2, stub.base_url, env)
        try:
            deliveries, timestamps = mention_deliveries([process.events_url for process in processes], args.events,
                                                        args.redeliveries, CHANNEL, USERS, QUESTIONS, "Scale")
            started = time.perf_counter()
            results = send_deliveries(deliveries, concurrency=args.concurrency)
            acked_s = time.perf_counter() - started
            stub.wait_for_calls("chat.postMessage", args.events, timeout_s=args.answer_timeout_s)
            answered_s = time.perf_counter() - started
            time.sleep(3)  # room for a late duplicate answer to arrive and be counted
        finally:
            for process in processes:
                process.stop()
        posts = stub.calls_to("chat.postMessage")
    acks = [seconds for _status, seconds in results]
    per_event = Counter(post.params.get("thread_ts") for post in posts)
    answered_once = sum(1 for ts in timestamps if per_event.get(ts) == 1)
    figures = {
        "processes": 2, "events": args.events, "redeliveries": args.redeliveries, "deliveries": len(deliveries),
        "http_statuses": dict(Counter(str(status) for status, _seconds in results)),
        "answers_posted": len(posts), "events_answered_exactly_once": answered_once,
        "ack_p50_ms": statistics.median(acks) * 1000, "ack_p95_ms": percentile(acks, 0.95) * 1000,
        "ack_max_ms": max(acks) * 1000, "acks_over_3s": sum(1 for seconds in acks if seconds > ACK_LIMIT_S),
        "deliveries_acked_per_s": len(deliveries) / acked_s, "events_answered_per_s": args.events / answered_s,
        "agent": "real agent.service, no LLM, no embeddings, empty knowledge base",
    }
    figures["ok"] = (answered_once == args.events and len(posts) == args.events and figures["acks_over_3s"] == 0)
    print(f"events: {args.events} + {args.redeliveries} redeliveries over 2 `serve slack` processes "
          f"(server profile, {figures['agent']})")
    print(f"  answers posted {len(posts)}; events answered exactly once {answered_once}/{args.events}; "
          f"HTTP {figures['http_statuses']}")
    print(f"  ack p50 {figures['ack_p50_ms']:.0f} ms  p95 {figures['ack_p95_ms']:.0f} ms  "
          f"max {figures['ack_max_ms']:.0f} ms  (over 3 s: {figures['acks_over_3s']})")
    print(f"  {figures['deliveries_acked_per_s']:.1f} deliveries acked/s; {figures['events_answered_per_s']:.1f} "
          f"events answered/s end to end")
    print("  RESULT:", "every event answered exactly once, every ack under 3 s" if figures["ok"] else "NOT MET")
    return figures


# -- search ---------------------------------------------------------------------------------------------
def search_mode(args: argparse.Namespace, postgres: PostgresServer | None,
                chroma: ChromaServer | None) -> list[dict[str, Any]]:
    from benchmarks.retrieval import build_synthetic_chunks, measure_search

    rows: list[dict[str, Any]] = []
    print("search (warm, k=10, hybrid BM25 + dense + entity, role filter on; synthetic texts, random vectors):")
    for size in [int(size) for size in args.sizes.split(",")]:
        for profile in args.profiles.split(","):
            use_profile(profile, f"search{size}", postgres, chroma)
            build_seconds = build_synthetic_chunks(size)
            for role, timing in measure_search(SEARCH_QUERIES).items():
                row = {"profile": profile, "chunks": size, "role": role, **timing, "build_s": build_seconds,
                       "insert_chunks_per_s": size / build_seconds, "synthetic": True}
                rows.append(row)
                print(f"  {profile:<8} {size:>8} chunks  role={role:<8} p50 {timing['p50_ms']:7.1f} ms  "
                      f"p95 {timing['p95_ms']:7.1f} ms  (built in {build_seconds:.0f} s, "
                      f"{size / build_seconds:.0f} chunks/s)", flush=True)
    return rows


# -- ingest ---------------------------------------------------------------------------------------------
def ingest_mode(args: argparse.Namespace, postgres: PostgresServer | None,
                chroma: ChromaServer | None) -> list[dict[str, Any]]:
    from knowledge.ingest import ingest_paths
    from salesbot.settings import SAMPLES_DIR

    rows = []
    print("ingest (salesbot ingest of samples/, cold, real embeddings incl. model load):")
    for profile in args.profiles.split(","):
        use_profile(profile, "ingest", postgres, chroma)
        started = time.perf_counter()
        report = ingest_paths([SAMPLES_DIR])
        seconds = time.perf_counter() - started
        chunks = sum(int(getattr(result, "chunks", 0) or 0) for result in report.results)
        rows.append({"profile": profile, "files": len(report.results), "chunks": chunks, "seconds": seconds,
                     "chunks_per_s": chunks / seconds if seconds else 0.0})
        print(f"  {profile:<8} {len(report.results)} files, {chunks} chunks in {seconds:.1f} s "
              f"({rows[-1]['chunks_per_s']:.1f} chunks/s)", flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", default="all", choices=["events", "search", "ingest", "all"])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--redeliveries", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=50, help="deliveries in flight at once")
    parser.add_argument("--answer-timeout-s", type=float, default=900)
    parser.add_argument("--sizes", default="10000,100000", help="chunk counts; add 1000000 for 1M (slow to build)")
    parser.add_argument("--profiles", default="embedded,server")
    parser.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    with servers() as (postgres, chroma):
        if args.mode in ("events", "all"):
            figures["events"] = events_mode(args, postgres)
        if args.mode in ("search", "all"):
            figures["search"] = search_mode(args, postgres, chroma)
        if args.mode in ("ingest", "all"):
            figures["ingest"] = ingest_mode(args, postgres, chroma)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2))
    return 0 if figures.get("events", {}).get("ok", True) else 1


if __name__ == "__main__":
    sys.exit(main())
