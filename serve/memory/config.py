"""Typed configuration of the memory (the Hydra schema of the ``memory`` group's stage
settings, conf/memory/; ``lmroute memory`` builds the same object from its flags).
Plain dataclasses: library code gets these, never a DictConfig."""

from __future__ import annotations

from dataclasses import dataclass, field

from serve.memory.errors import InvalidInput
from serve.memory.summarizers.chat import SMOLLM2_ALIAS


@dataclass
class TokenizerConfig:
    kind: str = "gguf"  # gguf | hf
    gguf: str = "smollm2"  # kind=gguf: smollm2 | gemma3_270m | a .gguf path
    path: str = "minilm"  # kind=hf: minilm | a tokenizer.json
    per_message: int = 4  # chat-template tokens per message


@dataclass
class SummarizerConfig:
    name: str = "extractive"  # stub | extractive | llm
    # llm: in the gateway the call goes through the gateway's backends to ``model`` (a
    # backend's upstream model); offline to ``base_url``, or an embedded llama.cpp server
    # started for ``gguf`` when base_url is empty
    model: str = SMOLLM2_ALIAS
    base_url: str = ""
    gguf: str = "smollm2"
    max_tokens: int = 128
    broad_max_tokens: int = 192
    # llama.cpp threads of the embedded server (started with OMP_WAIT_POLICY=PASSIVE:
    # spinning OpenMP threads are 40x slower on the shared 2-core machine, docs/memory.md)
    n_threads: int = 2
    # extractive: words kept per detailed / broad summary
    max_words: int = 60
    broad_words: int = 120


@dataclass
class PlanSettings:
    window: int = 10
    chunk_min: int = 6
    chunk_avg: int = 10
    chunk_max: int = 16
    detailed_chunks: int = 3
    merge_chunks: int = 3


@dataclass
class AssemblySettings:
    window_share: float = 0.2
    summary_share: float = 0.15
    min_window: int = 2
    dates: bool = True
    role_labels: bool = True


@dataclass
class MemoryConfig:
    db_path: str = "runs/memory/memory.sqlite"
    key_file: str = ""  # default <db_path>.key (or $LMROUTE_MEMORY_KEY)
    store: str = "sqlite"  # sqlite (db_path) | postgres (shared by replicas: store_pg.py)
    postgres_dsn: str = ""  # store: postgres, e.g. postgresql://lmroute@127.0.0.1:5432/lmroute
    postgres_schema: str = "lmroute_memory"
    budget_tokens: int = 1024
    retrieval: str = "hybrid"  # bm25 | static | hybrid (docs/memory.md: measured)
    summarizer: SummarizerConfig = field(default_factory=SummarizerConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    plan: PlanSettings = field(default_factory=PlanSettings)
    assembly: AssemblySettings = field(default_factory=AssemblySettings)
    background: bool = True  # compaction on a worker thread (off: the caller compacts)
    ttl_sweep_s: float = 5.0  # 0 = no sweeper thread
    session_ttl_s: float = 0.0  # > 0: a session is erased this long after its last append
    message_ttl_s: float = 0.0  # > 0: each message is erased this long after it arrived
    ngram_words: int = 4  # the verification scan's n

    def validate(self) -> MemoryConfig:
        if self.budget_tokens < 16:
            raise InvalidInput(f"budget_tokens: expected >= 16, got {self.budget_tokens}")
        a = self.assembly
        if not (0 <= a.window_share <= 1 and 0 <= a.summary_share <= 1
                and a.window_share + a.summary_share <= 1):
            raise InvalidInput("assembly: window_share and summary_share in [0, 1], sum <= 1")
        if self.session_ttl_s < 0 or self.message_ttl_s < 0 or self.ttl_sweep_s < 0:
            raise InvalidInput("session_ttl_s, message_ttl_s, ttl_sweep_s: expected >= 0")
        if self.ngram_words < 2:
            raise InvalidInput(f"ngram_words: expected >= 2, got {self.ngram_words}")
        return self


def config_from_dict(raw: dict[str, object]) -> MemoryConfig:
    """A config from plain data (a saved manifest or a resolved Hydra node); unknown keys
    are an error naming the key."""
    import dataclasses

    def build(cls: type, data: object, where: str) -> object:
        if not isinstance(data, dict):
            raise InvalidInput(f"{where}: expected a mapping, got {data!r}")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        kwargs = {}
        for k, v in data.items():
            if k not in fields:
                raise InvalidInput(f"{where}.{k}: unknown setting (expected one of "
                                   f"{sorted(fields)})")
            sub = _NESTED.get((cls, k))
            kwargs[k] = build(sub, v, f"{where}.{k}") if sub else v
        return cls(**kwargs)

    cfg = build(MemoryConfig, raw, "memory")
    assert isinstance(cfg, MemoryConfig)
    return cfg


_NESTED: dict[tuple[type, str], type] = {
    (MemoryConfig, "summarizer"): SummarizerConfig,
    (MemoryConfig, "tokenizer"): TokenizerConfig,
    (MemoryConfig, "plan"): PlanSettings,
    (MemoryConfig, "assembly"): AssemblySettings,
}
