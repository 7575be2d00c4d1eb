"""The Milvus backend's collection: schema, connection and the writer that fills it at build time.

The collection holds each function's id, filter fields (repo, language, path), its vector and the
three lexical fields' text, each turned into a BM25 sparse vector by Milvus's own BM25 function
(standard tokenizer + lowercase + English stemmer: milvus-lite offers no whitespace tokenizer, and
the text is already split into identifier words). The SQLite store stays in the index folder: it
serves the records, the filter lists and duplicate collapsing exactly as for the native backend.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..analysis import lexical_fields
from ..lexical import TEXT_FIELDS

FUSIONS = ("ours", "weighted", "rrf")
LEGACY_FUSIONS = {"native": "ours"}   # the name manifests written before "ours" hold
DEFAULT_FILE = "milvus.db"
MAX_TEXT = 60_000          # VARCHAR max_length is 65,535 bytes; code words beyond are dropped
MAX_PATH = 1024


@dataclass
class MilvusConfig:
    """Where the collection lives and how hybrid queries fuse."""

    uri: str = DEFAULT_FILE            # a file (milvus-lite, relative to the index folder) or http://host:19530
    token: str = ""                    # a server's credentials (never written to the manifest)
    collection: str = ""               # "" : a fresh name per build
    # ours: both lists from Milvus, fused by index.fusion as the native engine does (cosqa-dev MRR 0.452,
    # native engine 0.449); Milvus's own rankers lose ~0.13: weighted (WeightedRanker with our per-kind
    # weights, each list squashed with arctan) 0.319, rrf (RRFRanker(k), no weights) 0.326
    fusion: str = "ours"
    index_type: str = "FLAT"           # the vector index: FLAT (exact), or HNSW / IVF_PQ / DISKANN on a server
    index_params: dict | None = None
    insert_batch: int = 1000

    def __post_init__(self):
        self.fusion = LEGACY_FUSIONS.get(self.fusion, self.fusion)
        if self.fusion not in FUSIONS:
            raise ValueError(f"milvus fusion must be one of {', '.join(FUSIONS)}, not {self.fusion!r}")

    def manifest(self) -> dict:
        d = asdict(self)
        d.pop("token")
        return {"name": "milvus", **d}


def is_server(uri: str) -> bool:
    return uri.startswith(("http://", "https://", "tcp://", "grpc://"))


def resolve_uri(uri: str, index_dir: str | Path) -> str:
    """A server address as is; a milvus-lite file relative to the index folder."""
    return uri if is_server(uri) or Path(uri).is_absolute() else str(Path(index_dir) / uri)


def connect(uri: str, token: str = ""):
    """A MilvusClient; a clear ValueError when pymilvus (or milvus-lite) is missing or the server is down."""
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise ValueError("the Milvus backend needs pymilvus and milvus-lite: pip install '.[distributed]'") from None
    try:
        return MilvusClient(uri, token=token) if token else MilvusClient(uri)
    except Exception as e:  # pymilvus raises its own exception types for an unreachable server
        raise ValueError(f"cannot open Milvus at {uri}: {e}") from None


def disconnect(client, uri: str) -> None:
    """Close the client; for milvus-lite also stop its in-process server, which holds the file's lock."""
    client.close()
    if not is_server(uri):
        from milvus_lite.server_manager import server_manager_instance
        server_manager_instance.release_server(uri)


def create_collection(client, name: str, dim: int, cfg: MilvusConfig) -> None:
    """A fresh collection (an existing one of that name is dropped) with BM25 functions and indexes."""
    from pymilvus import DataType, Function, FunctionType
    analyzer = {"tokenizer": "standard", "filter": ["lowercase", {"type": "stemmer", "language": "english"}]}
    s = client.create_schema(auto_id=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    for f in ("repo", "language", "path"):
        s.add_field(f, DataType.VARCHAR, max_length=MAX_PATH)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=dim)
    ip = client.prepare_index_params()
    ip.add_index("vec", index_type=cfg.index_type, metric_type="IP", params=cfg.index_params or {})
    for f in TEXT_FIELDS:
        s.add_field(f, DataType.VARCHAR, max_length=MAX_TEXT + 100, enable_analyzer=True, analyzer_params=analyzer)
        s.add_field(f"bm25_{f}", DataType.SPARSE_FLOAT_VECTOR)
        s.add_function(Function(name=f"bm25_fn_{f}", function_type=FunctionType.BM25, input_field_names=[f],
                                output_field_names=[f"bm25_{f}"]))
        ip.add_index(f"bm25_{f}", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    if client.has_collection(name):
        client.drop_collection(name)
    client.create_collection(name, schema=s, index_params=ip)


def clip(text: str, n: int) -> str:
    """At most n UTF-8 bytes of text, cut at a word boundary."""
    b = text.encode("utf-8")
    if len(b) <= n:
        return text
    return b[:n].decode("utf-8", "ignore").rsplit(" ", 1)[0]


class MilvusWriter:
    """Build-time sink: takes records like the lexical index (add) and their vectors (sink), inserts rows."""

    def __init__(self, client, name: str, cfg: MilvusConfig):
        self.client, self.name, self.cfg = client, name, cfg
        self.pending: dict[int, dict] = {}
        self.rows: list[dict] = []
        self.inserted = 0

    def add(self, records) -> None:
        for r in records:
            text = lexical_fields(r)
            self.pending[int(r["id"])] = {
                "id": int(r["id"]), "repo": clip(r.get("repo") or "", MAX_PATH),
                "language": clip(r.get("language") or "", MAX_PATH), "path": clip(r.get("path") or "", MAX_PATH),
                **{f: clip(text.get(f) or "", MAX_TEXT) for f in TEXT_FIELDS}}

    def sink(self, xb: np.ndarray, ids: np.ndarray) -> None:
        for x, i in zip(xb, ids):
            self.rows.append({**self.pending.pop(int(i)), "vec": x.astype(np.float32).tolist()})
        if len(self.rows) >= self.cfg.insert_batch:
            self.flush_rows()

    def flush_rows(self) -> None:
        for i0 in range(0, len(self.rows), self.cfg.insert_batch):
            self.client.insert(self.name, self.rows[i0: i0 + self.cfg.insert_batch])
        self.inserted += len(self.rows)
        self.rows = []

    def finish(self) -> float:
        """Insert what is left, seal and load the collection; the seconds that took."""
        t = time.perf_counter()
        self.flush_rows()
        self.client.flush(self.name)
        self.client.load_collection(self.name)
        return time.perf_counter() - t


def collection_name(cfg: MilvusConfig) -> str:
    return cfg.collection or f"codesearch_{uuid.uuid4().hex[:12]}"
