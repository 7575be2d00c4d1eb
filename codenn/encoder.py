"""A trained model ready for the index and the search page: functions and queries in, vectors out."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch

from preprocess.text import FieldTokenizer, Vocab
from . import bundle
from .static_code import reconfigured_teacher, unit, with_teacher
from .static_query import clean_query


def pad_ids(seqs: Sequence[list[int]], max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Lists of ids -> (N, max_len) int64 zero-padded and truncated, and (N,) lengths."""
    ids = torch.zeros((len(seqs), max_len), dtype=torch.int64)
    lens = torch.zeros(len(seqs), dtype=torch.int64)
    for i, s in enumerate(seqs):
        s = s[:max_len]
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.int64)
        lens[i] = len(s)
    return ids, lens


class CodeEncoder:
    """codenn.load(path): encode_code / encode_functions / encode_queries, plus .dim and .identity.

    Vectors are NOT normalised (the index normalises them); compare them by cosine.
    """

    def __init__(self, model_dir: str | Path, device: str | torch.device = "cpu", batch_size: int = 512):
        self.model_dir = Path(model_dir)
        _, data_cfg, self.config = bundle.read_config(self.model_dir)
        self.model = bundle.load_model(self.model_dir, device)
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.max_lens = data_cfg.max_lens()
        self.vocabs = {}
        for field in bundle.FIELDS:
            path = self.model_dir / bundle.vocab_file(field)
            if not path.exists():
                raise FileNotFoundError(f"{path} is missing: a model directory carries its vocabularies")
            self.vocabs[field] = Vocab.load(path)
        self.tokenizer = FieldTokenizer.load(self.model_dir)
        # a distilled model stores the teacher's vector of a documented function's code (index time only)
        teacher = self.config.get("meta", {}).get("index_teacher")
        self.teacher = None
        shift = self.config.get("meta", {}).get("static_shift")
        self.static_shift = np.asarray(shift, np.float32) if shift is not None else None
        if teacher is not None:
            from .code_teacher import CodeTeacher, TeacherConfig
            self.teacher = CodeTeacher(TeacherConfig.from_dict(teacher))
        self.teacher_scope = "documented"   # or "all": see configure_teacher
        # other bag models place a function's docstring, through the description encoder, in its vector
        self.use_docstring = self.model.cfg.arch == "bag" and self.teacher is None
        self.identity = bundle.weights_identity(self.model_dir)
        self.dim = self.model.cfg.dim
        self.normalized = False

    @property
    def teacher_config(self):
        """The index-time teacher's settings (None for a model without one)."""
        return self.teacher.cfg if self.teacher is not None else None

    def field_tensors(self, field: str, texts: Iterable[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Tokenise strings of one field with the shared tokenizers and this model's vocabulary."""
        vocab = self.vocabs[field]
        pieces = self.tokenizer.tokenize_batch(field, [t or "" for t in texts])
        return pad_ids([vocab.encode(p) for p in pieces], self.max_lens[field])

    @torch.no_grad()
    def encode_code(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(N, D) float32 code vectors of a reader-style batch."""
        b = {k: v.to(self.device) for k, v in batch.items() if not k.startswith("desc")}
        return self.model.encode_code(b).float()

    def encode_functions(self, records: Sequence[dict]) -> np.ndarray:
        """(N, D) float32 vectors of functions.csv-style records (string fields name, apiseq, tokens)."""
        out = []
        for i0 in range(0, len(records), self.batch_size):
            chunk = records[i0 : i0 + self.batch_size]
            code = self.static_code(chunk)
            if self.teacher is not None:
                code = self.with_teacher(chunk, code)
            elif self.use_docstring:
                code = unit(code) + unit(self.encode_texts([r.get("desc") or "" for r in chunk]))
            out.append(code)
        return np.concatenate(out) if out else np.zeros((0, self.dim), dtype=np.float32)

    def static_code(self, records: Sequence[dict]) -> np.ndarray:
        """(N, D) code vectors of the model's own field encoders (name, API sequence, tokens)."""
        batch = {}
        for field in ("name", "apiseq", "tokens"):
            batch[field], batch[f"{field}_len"] = self.field_tensors(field, (r.get(field, "") for r in records))
        return self.encode_code(batch).cpu().numpy()

    def configure_teacher(self, scope: str, max_tokens: int = 0, int8: bool | None = None,
                          runtime: str = "") -> dict | None:
        """Which functions get the teacher's vectors ("documented" or "all"), and how it reads them.

        Queries are unaffected (the static query side was trained for the teacher's space); returns
        the settings now in force, for the index manifest (None for a model without a teacher).
        """
        if self.teacher is None:
            return None
        self.teacher = reconfigured_teacher(self.teacher, scope, max_tokens, int8, runtime)
        self.teacher_scope = scope
        return {**self.teacher.cfg.to_dict(), "scope": scope}

    def with_teacher(self, records: Sequence[dict], code: np.ndarray) -> np.ndarray:
        """Unit static code vectors, the rows the teacher's scope covers replaced by its vector of their code."""
        return with_teacher(records, code, self.teacher, self.teacher_scope, self.static_shift)

    def encode_queries(self, queries: Sequence[str]) -> np.ndarray:
        """(N, D) float32 vectors of natural-language queries."""
        return self.encode_texts([clean_query(q) for q in queries])

    @torch.no_grad()
    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """(N, D) float32 description-encoder vectors of texts."""
        out = []
        for i0 in range(0, len(texts), self.batch_size):
            ids, lens = self.field_tensors("desc", texts[i0 : i0 + self.batch_size])
            out.append(self.model.encode_desc(ids.to(self.device), lens.to(self.device)).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.dim), dtype=np.float32)



def load(model_dir: str | Path, device: str | torch.device = "cpu") -> CodeEncoder:
    """Rebuild a trained model from its directory alone."""
    return CodeEncoder(model_dir, device)
