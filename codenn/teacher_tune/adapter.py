"""A query-side adapter over the frozen teacher: q -> unit(q + q A + b), trained on cached vectors.

The cheap lever beside the fine-tune: the teacher's vectors of code heads (the index's settings)
and of typed queries are encoded once and cached by text hash (codenn.distill_data), so an epoch
over every pair costs seconds. Only the query side moves: an index of teacher code vectors stays
valid, and the `best` mode applies the map after MiniLM encodes the query. A starts at zero, so
the untrained adapter is the stock teacher; early stopping watches MRR on the valid split.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .. import metrics
from ..metrics import normalize

ADAPTER = "adapter.safetensors"
MANIFEST = "manifest.json"


@dataclass
class AdapterConfig:
    """Optimiser and loss of the adapter."""

    epochs: int = 30
    batch_size: int = 512          # in-batch negatives per step
    lr: float = 1e-3
    weight_decay: float = 0.0
    temperature: float = 0.05
    l2_to_identity: float = 1e-2   # keeps the map near the stock teacher (A and b towards 0)
    patience: int = 4              # epochs without a better valid MRR before stopping
    seed: int = 0


def apply(q: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Adapted unit query vectors (numpy: no torch at query time)."""
    q = np.asarray(q, np.float32)
    return normalize(q + q @ a + b)


def mrr(q: np.ndarray, c: np.ndarray) -> float:
    """MRR of query i's gold code i among all the codes (ranks fully sorted, ties against the gold)."""
    return metrics.mrr(metrics.whole_split_ranks(q, c))


def train_adapter(q_train: np.ndarray, c_train: np.ndarray, q_valid: np.ndarray, c_valid: np.ndarray,
                  cfg: AdapterConfig | None = None, progress: bool = True) -> tuple[np.ndarray, np.ndarray, dict]:
    """(A, b, history): the map with the best valid MRR; the codes' vectors stay fixed."""
    import torch
    cfg = cfg or AdapterConfig()
    g = torch.Generator().manual_seed(cfg.seed)
    d = q_train.shape[1]
    a = torch.zeros(d, d, requires_grad=True)
    b = torch.zeros(d, requires_grad=True)
    opt = torch.optim.AdamW([a, b], lr=cfg.lr, weight_decay=cfg.weight_decay)
    q, c = torch.from_numpy(np.ascontiguousarray(q_train, np.float32)), torch.from_numpy(np.ascontiguousarray(c_train, np.float32))
    best = {"epoch": 0, "valid_mrr": mrr(q_valid, c_valid)}
    history = [dict(best)]
    kept = (np.zeros((d, d), np.float32), np.zeros(d, np.float32))
    for epoch in range(1, cfg.epochs + 1):
        order = torch.randperm(len(q), generator=g)
        total = 0.0
        for i in range(0, len(order), cfg.batch_size):
            idx = order[i : i + cfg.batch_size]
            qb, cb = q[idx], c[idx]
            qa = torch.nn.functional.normalize(qb + qb @ a + b, dim=1)
            logits = qa @ cb.T / cfg.temperature
            # the same code can sit twice in a batch (two typed forms of one function): not a negative
            same = (cb @ cb.T) > 0.9999
            logits = logits.masked_fill(same & ~torch.eye(len(idx), dtype=torch.bool), float("-inf"))
            loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(idx)))
            loss = loss + cfg.l2_to_identity * (a.pow(2).sum() + b.pow(2).sum())
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        with torch.no_grad():
            va = apply(q_valid, a.numpy(), b.numpy())
        row = {"epoch": epoch, "loss": round(total / len(q), 4), "valid_mrr": round(mrr(va, c_valid), 4)}
        history.append(row)
        if progress:
            print(json.dumps(row), flush=True)
        if row["valid_mrr"] > best["valid_mrr"]:
            best, kept = row, (a.detach().numpy().copy(), b.detach().numpy().copy())
        elif epoch - best["epoch"] >= cfg.patience:
            break
    return kept[0], kept[1], {"best": best, "history": history, "config": asdict(cfg)}


def save_adapter(out: Path, a: np.ndarray, b: np.ndarray, manifest: dict) -> Path:
    """adapter.safetensors (fp32 A and b) and manifest.json into out, each through a temporary name."""
    from safetensors.numpy import save_file
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / (ADAPTER + ".tmp")
    save_file({"a": np.ascontiguousarray(a, np.float32), "b": np.ascontiguousarray(b, np.float32)}, str(tmp))
    os.replace(tmp, out / ADAPTER)
    tmp = out / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, out / MANIFEST)
    return out


def load_adapter(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """(A, b) of a saved adapter."""
    from safetensors.numpy import load_file
    t = load_file(str(Path(folder) / ADAPTER))
    return t["a"], t["b"]
