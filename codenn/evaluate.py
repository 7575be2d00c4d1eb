"""Encode aligned (code, description) arrays with a model and score them with codenn.metrics."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from .metrics import evaluate_pairs, summarize, whole_split_ranks

Batch = dict[str, torch.Tensor]


def split_arrays(dataset) -> Batch:
    """Whole-split tensors of a reader dataset (its `arrays`, or stacked item by item)."""
    arrays = getattr(dataset, "arrays", None)
    if arrays is not None:
        return dict(arrays)
    items = [dataset[i] for i in range(len(dataset))]
    return {k: torch.stack([it[k] for it in items]) for k in items[0]} if items else {}


@torch.no_grad()
def encode_pairs(model: nn.Module, arrays: Batch, bs: int = 1024, device=None) -> tuple[np.ndarray, np.ndarray]:
    """(description vectors, code vectors), each (N, D) float32, in the arrays' order."""
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    n = len(arrays["desc"])
    xq, xb = [], []
    for i0 in range(0, n, bs):
        b = {k: v[i0 : i0 + bs].to(device) for k, v in arrays.items()}
        xb.append(model.encode_code(b).float().cpu())
        xq.append(model.encode_desc(b["desc"], b["desc_len"]).float().cpu())
    model.train(was_training)
    d = getattr(getattr(model, "cfg", None), "dim", 0)
    empty = np.zeros((0, d), dtype=np.float32)
    return (torch.cat(xq).numpy() if xq else empty), (torch.cat(xb).numpy() if xb else empty)


def validation_metrics(model: nn.Module, arrays: Batch, bs: int = 1024) -> dict[str, float]:
    """Whole-split MRR, SuccessRate@1/5/10 and nDCG@10 (the trainer's model-selection figures)."""
    xq, xb = encode_pairs(model, arrays, bs)
    return summarize(whole_split_ranks(xq, xb))


def split_metrics(model: nn.Module, arrays: Batch, bs: int = 1024, pool_size: int = 1000, seed: int = 0) -> dict:
    """Both protocols: whole split, and DeepCS's pools of pool_size."""
    xq, xb = encode_pairs(model, arrays, bs)
    return evaluate_pairs(xq, xb, pool_size, seed)
