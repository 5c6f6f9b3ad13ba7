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
        # A bulk add of thousands of vectors into a large HNSW index can outlast the product's 30 s default.
        os.environ["SALESBOT_CHROMA_TIMEOUT_S"] = "600"
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
BULK_ROWS = 5000  # rows per executemany and per Chroma add (Chroma's own batch limit is ~5,461)


def build_bulk_chunks(size: int, docs_per: int = 20) -> float:
    """Insert `size` synthetic chunks (every tenth document manager-only) through the product's tables and dense
    store in large batches; returns the seconds it took.

    The same texts, access mix and random unit vectors as benchmarks.retrieval.build_synthetic_chunks (which adds
    one ORM row and one Chroma call per document, ~150-200 chunks/s), but rows go in as executemany batches of
    BULK_ROWS and vectors as Chroma adds of BULK_ROWS, so 100k chunks build in minutes.
    """
    import random

    import numpy as np
    from sqlalchemy import insert

    from benchmarks.retrieval import SYNTH_EN, SYNTH_ZH
    from knowledge.base import get_knowledge_base
    from knowledge.tables import KnowledgeChunk, KnowledgeDocument

    kb = get_knowledge_base()
    store = kb.dense_store
    if store is None:
        raise SystemExit("the search benchmark needs an embedding backend (SALESBOT_EMBEDDING is 'none')")
    rng = random.Random(size)
    np_rng = np.random.default_rng(size)
    documents_table = KnowledgeDocument.__table__  # type: ignore[attr-defined]
    chunks_table = KnowledgeChunk.__table__  # type: ignore[attr-defined]
    started = time.perf_counter()
    pending: dict[str, list[tuple[str, str]]] = {"public": [], "manager": []}  # level -> (chunk_id, text)

    def flush_vectors(level: str) -> None:
        rows = pending[level]
        if not rows:
            return
        vectors = np_rng.normal(size=(len(rows), 384)).astype("float32")
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        store.add(level, [chunk_id for chunk_id, _ in rows], vectors, [text for _, text in rows],
                  [{"doc_id": chunk_id.split(":", 1)[0]} for chunk_id, _ in rows])
        rows.clear()

    documents_per_batch = max(1, BULK_ROWS // docs_per)
    total_documents = size // docs_per
    for first in range(0, total_documents, documents_per_batch):
        documents, chunks = [], []
        for doc_index in range(first, min(total_documents, first + documents_per_batch)):
            level = "manager" if doc_index % 10 == 0 else "public"
            doc_id = f"synthetic{doc_index}"
            documents.append({
                "doc_id": doc_id, "path": f"/synthetic/{doc_id}.md", "source": f"{doc_id}.md", "title": doc_id,
                "doc_type": "note", "language": "zh", "access_json": json.dumps(["manager"] if level != "public"
                                                                                 else ["*"]),
                "access_level": level, "metadata_json": "{}", "content_hash": doc_id, "chunk_count": docs_per,
                "flagged_injection": False})
            for ordinal in range(docs_per):
                words = rng.sample(SYNTH_ZH, 12) + rng.sample(SYNTH_EN, 12) + [str(rng.randint(1, 999))]
                text = " ".join(words)
                chunk_id = f"{doc_id}:{ordinal}"
                chunks.append({"chunk_id": chunk_id, "doc_id": doc_id, "ordinal": ordinal, "section": "s",
                               "text": text, "raw_text": text, "tokens": text, "access_level": level,
                               "language": "zh", "flagged_injection": False})
                pending[level].append((chunk_id, text))
        with kb.engine.begin() as connection:
            connection.execute(insert(documents_table), documents)
            connection.execute(insert(chunks_table), chunks)
        for level, rows in pending.items():
            if len(rows) >= BULK_ROWS:
                flush_vectors(level)
        done = min(size, (first + documents_per_batch) * docs_per)
        if done % 100_000 < BULK_ROWS:
            print(f"    built {done:,} chunks in {time.perf_counter() - started:.0f} s", flush=True)
    for level in pending:
        flush_vectors(level)
    with kb.session() as session:
        kb.bump_generation(session)
        session.commit()
    return time.perf_counter() - started


def query_embedding_p50_ms(queries: list[str]) -> float:
    """p50 of the query embedding alone, of the text the search embeds (the question and its glossary terms):
    the part of a search no index size changes, and on loaded cores the part that varies most."""
    from knowledge.base import get_knowledge_base
    from knowledge.retriever import analyze_query, dense_query_text

    kb = get_knowledge_base()
    embedder = kb.embedder
    if embedder is None:
        return 0.0
    values = []
    for query in queries:
        text = dense_query_text(analyze_query(query, kb), embedder.multilingual)
        started = time.perf_counter()
        embedder.embed_query(text)
        values.append((time.perf_counter() - started) * 1000)
    return statistics.median(values)


def search_mode(args: argparse.Namespace, postgres: PostgresServer | None,
                chroma: ChromaServer | None) -> list[dict[str, Any]]:
    from benchmarks.retrieval import build_synthetic_chunks, measure_search

    build = build_synthetic_chunks if args.build == "per-document" else build_bulk_chunks

    rows: list[dict[str, Any]] = []
    print("search (warm, k=10, hybrid BM25 + dense + entity, role filter on; synthetic texts, random vectors):")
    for size in [int(size) for size in args.sizes.split(",")]:
        for profile in args.profiles.split(","):
            use_profile(profile, f"search{size}", postgres, chroma)
            build_seconds = build(size)
            timings = measure_search(SEARCH_QUERIES)
            embedding_p50_ms = query_embedding_p50_ms(SEARCH_QUERIES)
            for role, timing in timings.items():
                row = {"profile": profile, "chunks": size, "role": role, **timing, "build_s": build_seconds,
                       "insert_chunks_per_s": size / build_seconds, "query_embedding_p50_ms": embedding_p50_ms,
                       "synthetic": True}
                rows.append(row)
                print(f"  {profile:<8} {size:>8} chunks  role={role:<8} p50 {timing['p50_ms']:7.1f} ms  "
                      f"p95 {timing['p95_ms']:7.1f} ms  (query embedding alone p50 {embedding_p50_ms:.0f} ms; "
                      f"built in {build_seconds:.0f} s, {size / build_seconds:.0f} chunks/s)", flush=True)
    return rows


def lexical_mode(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The lexical half alone, in process (no Chroma, no database): the product's LexicalIndex over the same
    synthetic texts as the search mode, timed the way retrieve_with_role_filter calls it (question, glossary
    expansions, role mask, top 50). Reaches sizes the full build cannot on these machines."""
    import random

    from benchmarks.retrieval import SYNTH_EN, SYNTH_ZH
    from knowledge.lexical import LexicalIndex
    from knowledge.retriever import CANDIDATES_PER_LIST, EXPANSION_WEIGHT
    from knowledge.text import glossary_expansion, tokenize

    queries = []
    for question in SEARCH_QUERIES:
        tokens = tokenize(question)
        expansion = [token for token in tokenize(" ".join(glossary_expansion(question))) if token not in tokens]
        queries.append([(tokens, 1.0), (expansion, EXPANSION_WEIGHT)])
    rows: list[dict[str, Any]] = []
    print("lexical (in process: BM25 over every chunk, role mask, top 50; synthetic texts):")
    for size in [int(size) for size in args.sizes.split(",")]:
        rng = random.Random(size)
        texts = [rng.sample(SYNTH_ZH, 12) + rng.sample(SYNTH_EN, 12) + [str(rng.randint(1, 999))]
                 for _ in range(size)]
        levels = ["manager" if (position // 20) % 10 == 0 else "public" for position in range(size)]
        started = time.perf_counter()
        index = LexicalIndex([f"c{position}" for position in range(size)], texts, levels)
        build_s = time.perf_counter() - started
        del texts
        for role in ("rep", "manager"):
            index.top(index.weighted_scores(queries[0], role), CANDIDATES_PER_LIST)  # warm the role's mask
            values, cpu_values = [], []
            for query in queries:
                t0, cpu0 = time.perf_counter(), time.thread_time()
                index.top(index.weighted_scores(query, role), CANDIDATES_PER_LIST)
                values.append((time.perf_counter() - t0) * 1000)
                cpu_values.append((time.thread_time() - cpu0) * 1000)
            # CPU time of the searching thread as well as wall time: on shared, overloaded cores the wall time
            # mostly measures waiting for a core.
            row = {"chunks": size, "role": role, "p50_ms": statistics.median(values),
                   "p95_ms": percentile(values, 0.95), "cpu_p50_ms": statistics.median(cpu_values),
                   "cpu_p95_ms": percentile(cpu_values, 0.95), "index_build_s": build_s}
            rows.append(row)
            print(f"  {size:>8} chunks  role={role:<8} p50 {row['p50_ms']:7.1f} ms  p95 {row['p95_ms']:7.1f} ms  "
                  f"CPU p50 {row['cpu_p50_ms']:6.1f} ms  p95 {row['cpu_p95_ms']:6.1f} ms  "
                  f"(index built in {build_s:.0f} s)", flush=True)
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
    parser.add_argument("--mode", default="all", choices=["events", "search", "lexical", "ingest", "all"])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--redeliveries", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=50, help="deliveries in flight at once")
    parser.add_argument("--answer-timeout-s", type=float, default=900)
    parser.add_argument("--sizes", default="10000,100000", help="chunk counts; add 1000000 for 1M (slow to build)")
    parser.add_argument("--profiles", default="embedded,server")
    parser.add_argument("--build", default="bulk", choices=["bulk", "per-document"],
                        help="bulk: batched inserts (default); per-document: the older one-row-at-a-time build")
    parser.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    if args.mode == "lexical":  # no servers needed
        figures["lexical"] = lexical_mode(args)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2))
        return 0
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
