"""Retrieval benchmark: golden-set hit@1/hit@3/MRR vs two stock baselines, search latency at scale, ingest speed.

Run: .venv/bin/python -m benchmarks.retrieval [--sizes 1000,10000,100000] [--skip-scale]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "evals" / "datasets" / "golden.jsonl"
SAMPLES = ROOT / "knowledge" / "samples"


def use_fresh_home(label: str) -> Path:
    from salesbot.settings import reset_runtime

    home = Path(tempfile.mkdtemp(prefix=f"salesbot-bench-{label}-"))
    os.environ["SALESBOT_HOME"] = str(home)
    reset_runtime()
    return home


def load_golden(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row for row in rows if row.get("expected_sources")]


def first_hit_rank(sources: list[str], expected: list[str]) -> int | None:
    for rank, source in enumerate(sources, start=1):
        if source in expected:
            return rank
    return None


def summarize(ranks: list[int | None]) -> dict[str, float]:
    count = max(len(ranks), 1)
    return {
        "n": len(ranks),
        "hit@1": sum(1 for r in ranks if r == 1) / count,
        "hit@3": sum(1 for r in ranks if r is not None and r <= 3) / count,
        "mrr": sum(1.0 / r for r in ranks if r is not None) / count,
    }


def group_of(row: dict) -> str:
    return "cross" if row.get("cross_language") else row.get("language", "en")


def evaluate(golden: list[dict], search) -> dict[str, dict[str, float]]:  # type: ignore[no-untyped-def]
    ranks: dict[str, list[int | None]] = {"all": [], "zh": [], "en": [], "cross": []}
    misses = []
    for row in golden:
        sources = search(row["question"], row.get("role", "rep"))
        rank = first_hit_rank(sources, row["expected_sources"])
        ranks["all"].append(rank)
        ranks[group_of(row)].append(rank)
        if row.get("cross_language") and row.get("language") in ranks:
            ranks[row["language"]].append(rank)
        if rank != 1:
            misses.append((row["id"], row["question"], row["expected_sources"][0], sources[:3]))
    result = {name: summarize(values) for name, values in ranks.items()}
    result["_misses"] = misses  # type: ignore[assignment]
    return result


def stock_splits() -> list[tuple[str, str, list[str]]]:
    """(source, text, access) of fixed 500-character splits with 50 overlap: the LangChain tutorial setup."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from knowledge.ingest import discover_files
    from knowledge.loaders import DocumentLoadError, load_document

    splitter = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50)
    documents, _, _ = discover_files([SAMPLES])
    splits: list[tuple[str, str, list[str]]] = []
    for path in documents:
        try:
            document = load_document(path)
        except DocumentLoadError:
            continue
        text = document.text or "\n".join(f"Q: {r.question}\nA: {r.answer}" for r in document.qa_rows)
        splits.extend((document.source, piece, document.access) for piece in splitter.split_text(text))
    return splits


def baseline_dense(splits):  # type: ignore[no-untyped-def]
    import chromadb

    from knowledge.embeddings import load_embedder
    from salesbot.roles import can_read

    embedder = load_embedder()
    client = chromadb.EphemeralClient(settings=chromadb.Settings(anonymized_telemetry=False))
    collection = client.create_collection("baseline-dense", embedding_function=None,
                                          metadata={"hnsw:space": "cosine"})
    vectors = embedder.embed([text for _, text, _ in splits])
    collection.add(ids=[str(i) for i in range(len(splits))], embeddings=vectors.tolist(),
                   metadatas=[{"source": source} for source, _, _ in splits])

    def search(question: str, role: str) -> list[str]:
        result = collection.query(query_embeddings=embedder.embed([question]).tolist(), n_results=30)
        allowed = [splits[int(i)] for i in result["ids"][0] if can_read(role, splits[int(i)][2])]
        return [source for source, _, _ in allowed][:10]

    return search


def baseline_bm25(splits):  # type: ignore[no-untyped-def]
    import bm25s
    import jieba

    from salesbot.roles import can_read

    def words(text: str) -> list[str]:
        return [w.strip().lower() for w in jieba.lcut(text) if w.strip() and not all(not c.isalnum() for c in w)]

    index = bm25s.BM25()
    index.index([words(text) or [""] for _, text, _ in splits], show_progress=False)

    def search(question: str, role: str) -> list[str]:
        scores = index.get_scores(words(question))
        order = sorted(range(len(splits)), key=lambda i: -scores[i])
        return [splits[i][0] for i in order if scores[i] > 0 and can_read(role, splits[i][2])][:10]

    return search


def quality(golden_path: Path, show_misses: bool) -> dict:
    from knowledge.ingest import ingest_paths
    from knowledge.retriever import retrieve_with_role_filter

    use_fresh_home("quality")
    golden = load_golden(golden_path)
    started = time.perf_counter()
    report = ingest_paths([SAMPLES])
    ingest_seconds = time.perf_counter() - started
    chunks = sum(result.chunks for result in report.results)
    results = {"salesbot": evaluate(golden, lambda q, role: [c.source for c in retrieve_with_role_filter(q, role, k=10)])}
    splits = stock_splits()
    results["dense-500"] = evaluate(golden, baseline_dense(splits))
    results["bm25-jieba"] = evaluate(golden, baseline_bm25(splits))
    print(f"\nGolden set: {len(golden)} answerable questions ({golden_path.name})")
    print(f"{'system':<12} {'group':<6} {'n':>3} {'hit@1':>6} {'hit@3':>6} {'MRR':>6}")
    for system, groups in results.items():
        for group in ("all", "zh", "en", "cross"):
            m = groups[group]
            print(f"{system:<12} {group:<6} {m['n']:>3} {m['hit@1']:>6.3f} {m['hit@3']:>6.3f} {m['mrr']:>6.3f}")
    ours = results["salesbot"]["all"]
    for baseline in ("dense-500", "bm25-jieba"):
        theirs = results[baseline]["all"]
        print(f"lead over {baseline}: hit@1 {ours['hit@1'] - theirs['hit@1']:+.3f}, "
              f"hit@3 {ours['hit@3'] - theirs['hit@3']:+.3f}, MRR {ours['mrr'] - theirs['mrr']:+.3f}")
    if show_misses:
        for miss in results["salesbot"]["_misses"]:
            print("  miss:", miss)
    print(f"ingest (samples, cold, incl. model load): {len(report.results)} files, {chunks} chunks in "
          f"{ingest_seconds:.1f} s")
    return {system: {g: v for g, v in groups.items() if not g.startswith("_")} for system, groups in results.items()}


SYNTH_ZH = ("合同 付款 质保 交货 违约金 验收 续约 监护仪 网关 传感器 医院 客户 服务 培训 安装 报价 备件 响应 "
            "协议 设备 系统 数据 平台 工厂 物流 电力 水务 制药 维护 升级 远程 诊断 报警 电池 屏幕").split()
SYNTH_EN = ("contract payment warranty delivery penalty acceptance renewal monitor gateway sensor hospital "
            "customer service training installation quote spare parts response agreement device system data "
            "platform factory logistics power water pharma maintenance upgrade remote diagnostics alarm battery "
            "screen protocol modbus mqtt firmware cloud edge").split()


def scale(sizes: list[int], queries: list[str]) -> list[dict]:
    import numpy as np
    from sqlmodel import Session

    from knowledge.base import get_knowledge_base
    from knowledge.retriever import retrieve_with_role_filter
    from knowledge.tables import KnowledgeChunk, KnowledgeDocument

    rows_out = []
    for size in sizes:
        use_fresh_home(f"scale{size}")
        kb = get_knowledge_base()
        store = kb.dense_store
        if store is None:
            raise SystemExit("the latency benchmark needs an embedding backend (SALESBOT_EMBEDDING is 'none')")
        rng = random.Random(size)
        np_rng = np.random.default_rng(size)
        started = time.perf_counter()
        docs_per = 20
        with Session(kb.engine) as session:
            for doc_index in range(size // docs_per):
                level = "manager" if doc_index % 10 == 0 else "public"
                doc_id = f"synthetic{doc_index}"
                session.add(KnowledgeDocument(
                    doc_id=doc_id, path=f"/synthetic/{doc_id}.md", source=f"{doc_id}.md", title=doc_id,
                    doc_type="note", language="zh", access_json=json.dumps(["manager"] if level != "public" else ["*"]),
                    access_level=level, metadata_json="{}", content_hash=doc_id, chunk_count=docs_per))
                session.flush()  # the document row must exist before its chunks reference it
                ids, texts = [], []
                for ordinal in range(docs_per):
                    words = rng.sample(SYNTH_ZH, 12) + rng.sample(SYNTH_EN, 12) + [str(rng.randint(1, 999))]
                    text = " ".join(words)
                    chunk_id = f"{doc_id}:{ordinal}"
                    session.add(KnowledgeChunk(chunk_id=chunk_id, doc_id=doc_id, ordinal=ordinal, section="s",
                                               text=text, raw_text=text, tokens=text, access_level=level,
                                               language="zh"))
                    ids.append(chunk_id)
                    texts.append(text)
                vectors = np_rng.normal(size=(docs_per, 384)).astype("float32")
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                store.add(level, ids, vectors, texts, [{"doc_id": doc_id}] * docs_per)
            kb.bump_generation(session)
            session.commit()
        build_seconds = time.perf_counter() - started
        for query in queries[:3]:  # warm: BM25 index build, embedder, alias matcher
            retrieve_with_role_filter(query, "rep", k=10)
        timings: dict[str, list[float]] = {"rep": [], "manager": []}
        for role in timings:
            for query in queries:
                t0 = time.perf_counter()
                retrieve_with_role_filter(query, role, k=10)
                timings[role].append((time.perf_counter() - t0) * 1000)
        for role, values in timings.items():
            values.sort()
            row = {"chunks": size, "role": role, "p50_ms": statistics.median(values),
                   "p95_ms": values[int(0.95 * (len(values) - 1))], "insert_per_s": size / build_seconds}
            rows_out.append(row)
            print(f"{size:>7} chunks  role={role:<8} p50 {row['p50_ms']:7.1f} ms  p95 {row['p95_ms']:7.1f} ms  "
                  f"(bulk insert {row['insert_per_s']:.0f} chunks/s, synthetic vectors)")
    return rows_out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--golden", type=Path, default=GOLDEN)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--misses", action="store_true", help="List golden questions not answered at rank 1.")
    parser.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    args = parser.parse_args()
    figures: dict = {}
    if not args.skip_quality:
        figures["quality"] = quality(args.golden, args.misses)
    if not args.skip_scale:
        golden = load_golden(args.golden)
        queries = [row["question"] for row in golden][:40]
        print("\nSearch latency (warm, k=10, hybrid BM25 + dense + entity, real query embedding):")
        figures["latency"] = scale([int(s) for s in args.sizes.split(",")], queries)
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
