"""The index folder's layout, its manifest, and the index configuration with explicit overrides."""
from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from codesearch_common.fsutil import atomic_open
from .errors import IndexCorruptError, IndexMissingError
from .lexical import LexicalConfig
from .vectors import VectorConfig

FORMAT = "codesearch-index/1"
MANIFEST = "manifest.json"
STORE = "store.sqlite"
LEXICAL = "lexical"
VECTORS = "vectors.faiss"


TEACHER_SCOPES = ("auto", "documented", "all", "none")   # none: a quick index of the bag vectors only


@dataclass
class IndexConfig:
    """How an index is built: FAISS and lexical settings, encoding batch size, progress bars."""

    vectors: VectorConfig = field(default_factory=VectorConfig)
    lexical: LexicalConfig = field(default_factory=LexicalConfig)
    batch_size: int = 1024
    progress: bool = True
    torch_threads: int | None = 1      # see encoders.limit_torch_threads
    faiss_threads: int | None = None   # building: one per core (see vectors.use_threads)
    # a distilled model's teacher (codenn.code_teacher): which functions get its vectors --
    # documented | all | auto (all when the corpus has at most teacher_all_max functions, else documented)
    teacher: str = "auto"
    teacher_all_max: int = 20_000      # ~2.5 min of teacher encoding on two cores
    teacher_tokens: int = 0            # 0: the model's setting; MiniLM reads at most 256
    teacher_int8: bool = True          # int8 on the CPU: 2.5x the throughput, cosqa-dev MRR -0.02
    teacher_runtime: str = ""          # "": the model's setting (onnx on the CPU); onnx | torch
    compress_code: bool = False        # zlib the store's code, tokens and apiseq: for 10M-function stores
    checkpoint_rows: int = 0           # commit progress every this many functions so a killed build resumes (0: never)

    def __post_init__(self):
        if self.teacher not in TEACHER_SCOPES:
            raise ValueError(f"teacher must be one of {', '.join(TEACHER_SCOPES)}, not {self.teacher!r}")
        if self.checkpoint_rows < 0:
            raise ValueError(f"checkpoint_rows must be 0 or more, not {self.checkpoint_rows}")

    @classmethod
    def from_dict(cls, d: dict) -> "IndexConfig":
        extra = {k: d[k] for k in ("teacher", "teacher_all_max", "teacher_tokens", "teacher_int8", "teacher_runtime",
                                          "compress_code", "checkpoint_rows")
                 if k in d}
        return cls(vectors=VectorConfig(**d.get("vectors", {})), lexical=LexicalConfig(**d.get("lexical", {})),
                   batch_size=d.get("batch_size", 1024), **extra)

    def to_dict(self) -> dict:
        return {"vectors": dataclasses.asdict(self.vectors), "lexical": dataclasses.asdict(self.lexical),
                "batch_size": self.batch_size, "teacher": self.teacher, "teacher_all_max": self.teacher_all_max,
                "teacher_tokens": self.teacher_tokens, "teacher_int8": self.teacher_int8,
                "teacher_runtime": self.teacher_runtime, "compress_code": self.compress_code,
                "checkpoint_rows": self.checkpoint_rows}

    def override(self, assignments: list[str]) -> "IndexConfig":
        """Apply `section.key=value` strings (e.g. vectors.kind=hnsw); unknown keys and wrong types are errors."""
        for a in assignments:
            key, sep, raw = a.partition("=")
            section, _, name = key.strip().rpartition(".")
            target = {"vectors": self.vectors, "lexical": self.lexical, "": self}.get(section)
            names = {f.name for f in dataclasses.fields(target)} - {"vectors", "lexical", "progress"} if target else ()
            if not sep or name not in names:
                raise ValueError(f"unknown index setting {key!r} "
                                 f"(settings: vectors.<key>, lexical.<key>, batch_size, torch_threads, faiss_threads, teacher, "
                                 f"teacher_all_max, teacher_tokens, teacher_int8, compress_code, checkpoint_rows)")
            current = getattr(target, name)
            try:
                value = raw if isinstance(current, str) else json.loads(raw)
            except json.JSONDecodeError:
                value = None
            if not (type(value) is type(current) or isinstance(current, float) and type(value) is int):
                raise ValueError(f"{key}: {raw!r} is not a {type(current).__name__}")
            setattr(target, name, value)
        self.vectors.__post_init__()
        self.lexical.__post_init__()
        self.__post_init__()
        return self


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def read_manifest(index_dir: str | Path) -> dict:
    """The manifest of an index folder; IndexMissingError (naming `make index`) when there is none."""
    path = Path(index_dir) / MANIFEST
    if not path.exists():
        raise IndexMissingError(index_dir)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise IndexCorruptError(f"{path} cannot be read ({e}): rebuild the index with `make index`") from None
    if manifest.get("format") != FORMAT:
        raise IndexCorruptError(f"{path}: unknown index format {manifest.get('format')!r} (expected {FORMAT}): "
                                f"rebuild the index with `make index`")
    # a synced index names its generation's parts (lexical.N/, a delta file); a built one uses the defaults
    parts = (manifest.get("store", STORE), (manifest.get("vectors") or {}).get("file", VECTORS),
             (manifest.get("lexical") or {}).get("dir", LEXICAL))
    if (manifest.get("backend") or {}).get("name", "native") != "native":
        parts = parts[:1]   # vectors and BM25 live in the backend's engine (index.backends)
    for part in parts:
        if not (Path(index_dir) / part).exists():
            raise IndexCorruptError(f"{index_dir} lacks {part}: rebuild the index with `make index`")
    return manifest


def write_manifest(index_dir: str | Path, manifest: dict) -> None:
    with atomic_open(Path(index_dir) / MANIFEST, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
