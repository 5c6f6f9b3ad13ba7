"""Retrieval benchmark: hit@1/hit@3/MRR vs two stock baselines, search latency at scale, ingest speed.

Scored with the functions `salesbot eval retrieval` uses (evals.runner.retrieve_for_questions and
evals.retrieval.aggregate_retrieval), so both print the same figures on the same question set.

Run: .venv/bin/python -m benchmarks.retrieval [--split test|dev|all | --dataset FILE | --corpus NAME]
     [--sizes 1000,10000,100000] [--skip-scale]
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from types import SimpleNamespace
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from evals.corpora import EvalCorpus, corpus_environment, load_corpus  # noqa: E402  (after the offline flags)
from evals.loading import load_dataset, load_golden_split  # noqa: E402
from evals.models import EvalDataset, EvalQuestion  # noqa: E402
from evals.retrieval import aggregate_retrieval  # noqa: E402
from evals.runner import DEFAULT_K, new_outcome, retrieve_for_questions  # noqa: E402
from salesbot.settings import SAMPLES_DIR  # noqa: E402

GROUPS = {"all": "", "zh": "zh.", "en": "en.", "cross": "cross_language."}
Search = Callable[[str, str], list[str]]
Splits = list[tuple[str, str, list[str]]]  # (source, text, access)


def use_fresh_home(label: str) -> Path:
    from salesbot.settings import reset_runtime

    home = Path(tempfile.mkdtemp(prefix=f"salesbot-bench-{label}-"))
    os.environ["SALESBOT_HOME"] = str(home)
    reset_runtime()
    return home


def score_search(questions: list[EvalQuestion], search: Search, k: int = DEFAULT_K) -> dict[str, Any]:
    """Retrieval metrics of one system, computed exactly as `salesbot eval retrieval` computes them."""
    outcomes = {question.id: new_outcome(question) for question in questions}

    def retrieve(query: str, role: str, depth: int) -> list[Any]:
        return [SimpleNamespace(source=source) for source in search(query, role)[:depth]]

    retrieve_for_questions(questions, outcomes, k, retrieve)
    metrics = aggregate_retrieval(list(outcomes.values()), k)
    misses = [(outcome.id, outcome.question, outcome.expected_sources[0], outcome.ranked_sources[:3])
              for outcome in outcomes.values() if outcome.scores.get("retrieval.hit@1") == 0.0]
    return {"metrics": metrics, "misses": misses}


def stock_splits(folder: Path) -> Splits:
    """(source, text, access) of fixed 500-character splits with 50 overlap: the LangChain tutorial setup."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from knowledge.ingest import discover_files
    from knowledge.loaders import DocumentLoadError, load_document

    splitter = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50)
    documents, _, _ = discover_files([folder])
    splits: Splits = []
    for path in documents:
        try:
            document = load_document(path)
        except DocumentLoadError:
            continue
        text = document.text or "\n".join(f"Q: {r.question}\nA: {r.answer}" for r in document.qa_rows)
        splits.extend((document.source, piece, document.access) for piece in splitter.split_text(text))
    return splits


def baseline_dense(splits: Splits) -> Search:
    import chromadb

    from knowledge.embeddings import load_embedder
    from salesbot.roles import can_read

    embedder = load_embedder()
    if embedder is None:
        raise SystemExit("the dense baseline needs an embedding backend (SALESBOT_EMBEDDING is 'none')")
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


def baseline_bm25(splits: Splits) -> Search:
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


def question_set(args: argparse.Namespace) -> tuple[EvalDataset, EvalCorpus | None]:
    if args.corpus:
        corpus = load_corpus(args.corpus)
        return load_dataset(corpus.questions_path), corpus
    if args.dataset:
        return load_dataset(args.dataset), None
    return load_golden_split(args.split), None


@contextmanager
def knowledge_home(corpus: EvalCorpus | None) -> Iterator[Path]:
    """A fresh home holding the samples, or the corpus's documents under that corpus's own settings."""
    home = use_fresh_home(corpus.name if corpus else "quality")
    with corpus_environment(corpus, home) if corpus else nullcontext():
        yield corpus.documents_dir if corpus else SAMPLES_DIR


def quality(dataset: EvalDataset, corpus: EvalCorpus | None, show_misses: bool) -> dict:
    from knowledge.ingest import ingest_paths
    from knowledge.retriever import retrieve_with_role_filter

    questions = dataset.questions
    with knowledge_home(corpus) as documents:
        started = time.perf_counter()
        report = ingest_paths([documents])
        ingest_seconds = time.perf_counter() - started
        chunks = sum(result.chunks for result in report.results)
        results = {"salesbot": score_search(
            questions, lambda q, role: [c.source for c in retrieve_with_role_filter(q, role, k=DEFAULT_K)])}
        splits = stock_splits(documents)
        results["dense-500"] = score_search(questions, baseline_dense(splits))
        results["bm25-jieba"] = score_search(questions, baseline_bm25(splits))
    answerable = int(results["salesbot"]["metrics"]["retrieval.questions"] or 0)
    print(f"\n{corpus.name if corpus else dataset.name}: {answerable} answerable questions ({dataset.path})")
    print(f"{'system':<12} {'group':<6} {'n':>3} {'hit@1':>6} {'hit@3':>6} {'MRR':>6}")
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for system, result in results.items():
        metrics = result["metrics"]
        figures[system] = {}
        for group, prefix in GROUPS.items():
            row = {name: metrics.get(f"retrieval.{prefix}{name}") or 0.0 for name in ("questions", "hit@1", "hit@3", "mrr")}
            figures[system][group] = row
            print(f"{system:<12} {group:<6} {row['questions']:>3.0f} {row['hit@1']:>6.3f} {row['hit@3']:>6.3f} "
                  f"{row['mrr']:>6.3f}")
    ours = figures["salesbot"]["all"]
    for baseline in ("dense-500", "bm25-jieba"):
        theirs = figures[baseline]["all"]
        print(f"lead over {baseline}: hit@1 {ours['hit@1'] - theirs['hit@1']:+.3f}, "
              f"hit@3 {ours['hit@3'] - theirs['hit@3']:+.3f}, MRR {ours['mrr'] - theirs['mrr']:+.3f}")
    if show_misses:
        for miss in results["salesbot"]["misses"]:
            print("  miss:", miss)
    print(f"ingest ({documents.name}, cold, incl. model load): {len(report.results)} files, {chunks} chunks in "
          f"{ingest_seconds:.1f} s")
    return figures


SYNTH_ZH = ("合同 付款 质保 交货 违约金 验收 续约 监护仪 网关 传感器 医院 客户 服务 培训 安装 报价 备件 响应 "
            "协议 设备 系统 数据 平台 工厂 物流 电力 水务 制药 维护 升级 远程 诊断 报警 电池 屏幕").split()
SYNTH_EN = ("contract payment warranty delivery penalty acceptance renewal monitor gateway sensor hospital "
            "customer service training installation quote spare parts response agreement device system data "
            "platform factory logistics power water pharma maintenance upgrade remote diagnostics alarm battery "
            "screen protocol modbus mqtt firmware cloud edge").split()


def build_synthetic_chunks(size: int, docs_per: int = 20) -> float:
    """Insert `size` synthetic chunks (every tenth document manager-only) through the product's tables and
    dense store into the current profile; returns the seconds it took. Vectors are random unit vectors."""
    import numpy as np
    from sqlmodel import Session

    from knowledge.base import get_knowledge_base
    from knowledge.tables import KnowledgeChunk, KnowledgeDocument

    kb = get_knowledge_base()
    store = kb.dense_store
    if store is None:
        raise SystemExit("the latency benchmark needs an embedding backend (SALESBOT_EMBEDDING is 'none')")
    rng = random.Random(size)
    np_rng = np.random.default_rng(size)
    started = time.perf_counter()
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
    return time.perf_counter() - started


def measure_search(queries: list[str], roles: tuple[str, ...] = ("rep", "manager"), k: int = 10) -> dict[str, dict]:
    """Warm, then time retrieve_with_role_filter (the product's retriever, role filter inside) per role."""
    from knowledge.retriever import retrieve_with_role_filter

    for query in queries[:3]:  # warm: BM25 index build, embedder, alias matcher
        retrieve_with_role_filter(query, "rep", k=k)
    figures: dict[str, dict] = {}
    for role in roles:
        values = []
        for query in queries:
            t0 = time.perf_counter()
            retrieve_with_role_filter(query, role, k=k)
            values.append((time.perf_counter() - t0) * 1000)
        values.sort()
        figures[role] = {"p50_ms": statistics.median(values), "p95_ms": values[int(0.95 * (len(values) - 1))],
                         "max_ms": values[-1]}
    return figures


def scale(sizes: list[int], queries: list[str]) -> list[dict]:
    rows_out = []
    for size in sizes:
        use_fresh_home(f"scale{size}")
        build_seconds = build_synthetic_chunks(size)
        for role, timing in measure_search(queries).items():
            row = {"chunks": size, "role": role, "p50_ms": timing["p50_ms"], "p95_ms": timing["p95_ms"],
                   "insert_per_s": size / build_seconds}
            rows_out.append(row)
            print(f"{size:>7} chunks  role={role:<8} p50 {row['p50_ms']:7.1f} ms  p95 {row['p95_ms']:7.1f} ms  "
                  f"(bulk insert {row['insert_per_s']:.0f} chunks/s, synthetic vectors)")
    return rows_out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--split", default="test", choices=["dev", "test", "all"],
                       help="Golden split (default test, as `salesbot eval`).")
    which.add_argument("--dataset", type=Path, help="A golden-format JSONL file instead of the golden split.")
    which.add_argument("--corpus", help="A corpus of evals/corpora (or its folder path), on its own documents.")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--misses", action="store_true", help="List questions not answered at rank 1.")
    parser.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    args = parser.parse_args()
    dataset, corpus = question_set(args)
    figures: dict = {}
    if not args.skip_quality:
        figures["quality"] = quality(dataset, corpus, args.misses)
    if not args.skip_scale:
        queries = [question.question for question in dataset.questions if question.has_retrieval_target][:40]
        print("\nSearch latency (warm, k=10, hybrid BM25 + dense + entity, real query embedding):")
        figures["latency"] = scale([int(s) for s in args.sizes.split(",")], queries)
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
