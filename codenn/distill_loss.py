"""The asymmetric objective: static vectors learn to find, and to stand in for, the teacher's code vectors.

Batches carry the teacher's unit vectors of each pair's code head (`t_code`) and description
(`t_desc`). The query side (the description bag) must pick its own function's teacher vector among
the batch (InfoNCE) and sit near the teacher's view of its own text (cosine distillation, the
Model2Vec/tokenlearn step). The code side (the field bags, used for functions without a docstring)
must be found by the query and land near the teacher's vector of its code, so that both kinds of
index vector score on one scale.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .loss import LossConfig, in_batch_loss

TARGETS = ("t_code", "t_desc")


def cosine_distance(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean of 1 - cos(x_i, target_i) over (B, D) rows."""
    return (1 - F.cosine_similarity(x.float(), target.float(), dim=1)).mean()


class DistillLoss:
    """loss(code, desc, batch): needs the batch for its teacher targets (`wants_batch`)."""

    wants_batch = True

    def __init__(self, cfg: LossConfig):
        self.cfg = cfg

    def __call__(self, code: torch.Tensor, desc: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        missing = [k for k in TARGETS if k not in batch]
        if missing:
            raise KeyError(f"loss.kind=distill needs teacher targets in the batch: {', '.join(missing)} missing")
        t_code, t_desc = batch["t_code"], batch["t_desc"]                  # (B, 384) unit rows
        w = self.cfg.distill_weight
        query = w * cosine_distance(desc, t_desc)
        if self.cfg.distill_query_inbatch:
            query = query + self.cfg.distill_query_inbatch * in_batch_loss(t_code, desc, self.cfg.scale)
        static_code = in_batch_loss(code, desc, self.cfg.scale) + w * cosine_distance(code, t_code)
        return query + static_code
