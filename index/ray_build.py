"""Index build with encoding on Ray Data: one model per actor, batches streamed back in order.

The driver scans functions.csv once for the byte offset of every batch of `batch_size` rows; each
actor loads the model once and encodes the batches it is given, reading its rows from the file
(so the file must be visible to every node: a local cluster, or shared storage). The vectors stream
back in input order into the ordinary `build_index`, which writes the store, the lexical index and
FAISS exactly as the single process does: same ids, same rows, vectors equal within float tolerance.
An actor that dies is restarted and its batch run again; only finished batches are read, and each
batch's ids are checked against the rows the driver holds, so nothing is lost or duplicated.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from codesearch_common.ray_cluster import RayConfig, connect, data_context, worker_count
from codesearch_common.threads import reserve
from preprocess.csvio import COLUMNS, read_functions
from .build import build_index, encode
from .encoders import limit_torch_threads, load_encoder, parse_hashing
from .manifest import IndexConfig


def batch_offsets(path: str | Path, batch_size: int) -> list[tuple[int, int]]:
    """(byte offset, rows) of each batch of functions.csv's data rows (values may span lines)."""
    out, count, start = [], 0, None
    with open(path, "rb") as f:
        header = f.readline()
        pos = len(header)
        lines = _tracked(f, pos)
        reader = csv.reader(line for line, _ in lines)
        for _ in reader:   # after a row, the tracker's position is where the next row starts
            if start is None:
                start = lines.row_start
            count += 1
            lines.row_start = lines.pos
            if count == batch_size:
                out.append((start, count))
                count, start = 0, None
    if count:
        out.append((start, count))
    return out


class _tracked:
    """Decoded lines of a binary file, remembering the byte position after the last one read."""

    def __init__(self, f, pos: int):
        self.f, self.pos, self.row_start = f, pos, pos

    def __iter__(self):
        for raw in self.f:
            self.pos += len(raw)
            yield raw.decode("utf-8"), self.pos


def read_rows(path: str | Path, offset: int, count: int) -> list[dict]:
    """`count` functions.csv rows starting at a byte offset, typed as read_functions types them."""
    with open(path, "rb") as f:
        f.seek(offset)
        text = io.TextIOWrapper(f, encoding="utf-8", newline="")
        reader = csv.DictReader(text, fieldnames=COLUMNS)
        rows = []
        for row in reader:
            for key in ("id", "start_line", "end_line"):
                row[key] = int(row[key])
            rows.append(row)
            if len(rows) == count:
                break
    return rows


class EncodeActor:
    """A Ray actor holding one encoder: batch descriptors in, (id, vec) rows out."""

    def __init__(self, model: str, path: str, teacher: tuple | None, torch_threads: int | None, cpus: int = 1):
        reserve(cpus)   # torch, the teacher's ONNX session and FAISS: one thread per CPU the actor reserved
        self.encoder, self.path = load_encoder(model), path
        limit_torch_threads(torch_threads)
        if teacher is not None and hasattr(self.encoder, "configure_teacher"):
            self.encoder.configure_teacher(*teacher)

    def __call__(self, batch: dict) -> dict:
        ids, xs = [], []
        for offset, count in zip(batch["offset"], batch["count"]):
            rows = read_rows(self.path, int(offset), int(count))
            xs.append(encode(self.encoder, rows))
            ids.append(np.array([r["id"] for r in rows], np.int64))
        return {"id": np.concatenate(ids), "vec": np.concatenate(xs)}


class RayEncoder:
    """The encoder build_index sees: a local model for identity and queries, vectors from the Ray stream."""

    def __init__(self, model: str, path: str, cfg: IndexConfig, rcfg: RayConfig):
        # the actors may not share the driver's working directory
        model = str(model) if parse_hashing(str(model)) is not None else str(Path(model).resolve())
        self.local, self.model, self.path, self.cfg, self.rcfg = load_encoder(model), model, str(path), cfg, rcfg
        self.identity, self.dim = self.local.identity, self.local.dim
        self.teacher_args: tuple | None = None
        self._stream, self._skip = None, 0
        self._ids, self._xs = np.zeros(0, np.int64), np.zeros((0, self.dim), np.float32)

    def __getattr__(self, name):   # spec, teacher, ...: what model_info and the manifest ask the model
        if name in ("local", "__setstate__"):
            raise AttributeError(name)
        return getattr(self.local, name)

    def configure_teacher(self, *args):
        """Record the teacher settings for the actors; the local model's settings for the manifest."""
        self.teacher_args = args
        return self.local.configure_teacher(*args) if hasattr(self.local, "configure_teacher") else None

    def encode_queries(self, texts):
        return self.local.encode_queries(texts)

    def skip_rows(self, n: int) -> None:
        """Start the stream n rows in: a resumed build (index.checkpoint) has their vectors already."""
        if n % self.cfg.batch_size or self._stream is not None:
            raise ValueError(f"a Ray build resumes at a whole batch, before its stream starts, not at row {n}")
        self._skip = n // self.cfg.batch_size

    def encode_functions(self, records: list[dict]) -> np.ndarray:
        """The next len(records) vectors of the stream, checked to be these records' ids."""
        if self._stream is None:
            self._stream = self.start()
        while len(self._ids) < len(records):
            batch = next(self._stream, None)
            if batch is None:
                raise RuntimeError(f"the Ray stream ended {len(records) - len(self._ids)} functions early")
            self._ids = np.concatenate([self._ids, batch["id"]])
            self._xs = np.concatenate([self._xs, np.asarray(batch["vec"], np.float32)])
        want = np.array([int(r["id"]) for r in records], np.int64)
        ids, xs = self._ids[: len(want)], self._xs[: len(want)]
        if not np.array_equal(ids, want):
            raise RuntimeError(f"Ray returned functions {ids[:3].tolist()}... where {want[:3].tolist()}... were due")
        self._ids, self._xs = self._ids[len(want):], self._xs[len(want):]
        return xs

    def start(self):
        """The ordered stream of encoded batches (one actor per worker, one model each)."""
        ray = connect(self.rcfg)
        data_context(self.rcfg)
        offsets = batch_offsets(self.path, self.cfg.batch_size)
        items = [{"offset": o, "count": c} for o, c in offsets[self._skip:]]
        gpus = ray.cluster_resources().get("GPU", 0)
        ds = ray.data.from_items(items, override_num_blocks=max(1, len(items)))
        ds = ds.map_batches(EncodeActor, batch_size=1, batch_format="numpy", concurrency=worker_count(self.rcfg),
                            fn_constructor_kwargs={"model": self.model, "path": self.path, "teacher": self.teacher_args,
                                                   "torch_threads": self.cfg.torch_threads, "cpus": 1},
                            num_gpus=1 if gpus else None, num_cpus=None if gpus else 1,
                            max_restarts=self.rcfg.max_retries, max_task_retries=self.rcfg.max_retries)
        return iter(ds.iter_batches(batch_size=None, batch_format="numpy"))


def build_index_ray(functions: str | Path, model: str, out_dir: str | Path, cfg: IndexConfig | None = None,
                    rcfg: RayConfig | None = None, total: int | None = None, builder=build_index, **kwargs) -> dict:
    """builder (build_index, or a backend's) over functions.csv with the encoding on a Ray cluster."""
    cfg, rcfg = cfg or IndexConfig(), rcfg or RayConfig()
    functions = Path(functions).resolve()
    encoder = RayEncoder(model, functions, cfg, rcfg)
    return builder(read_functions(functions), model, out_dir, cfg, encoder=encoder, total=total, **kwargs)
