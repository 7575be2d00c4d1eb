"""Training objectives over (code, description) vector pairs."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

LOSSES = ("inbatch", "margin", "distill")


@dataclass
class LossConfig:
    """Which objective, and its knobs."""

    kind: str = "inbatch"    # inbatch: every other description of the batch is a negative; margin: DeepCS
    margin: float = 0.05     # margin of the ranking loss (the paper's value)
    scale: float = 20.0      # inverse temperature of the in-batch softmax over cosines
    distill_weight: float = 1.0   # distill: weight of the cosine-to-teacher terms beside the in-batch ones
    distill_query_inbatch: float = 1.0   # distill: weight of the queries' in-batch term against teacher code

    def __post_init__(self):
        if self.kind not in LOSSES:
            raise ValueError(f"loss.kind must be one of {LOSSES}, not {self.kind!r}")


def wrong_partner(B: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
    """Index of a different sample for each of B samples (a random cyclic shift, never itself)."""
    if B < 2:
        raise ValueError("the margin loss needs at least 2 samples per batch")
    shift = int(torch.randint(1, B, (1,), generator=generator))
    return (torch.arange(B, device=device) + shift) % B


def margin_ranking_loss(code: torch.Tensor, good: torch.Tensor, bad: torch.Tensor, margin: float) -> torch.Tensor:
    """Mean of max(0, margin - cos(code, good) + cos(code, bad)) over (B, D) inputs."""
    pos = F.cosine_similarity(code, good, dim=1)        # (B,)
    neg = F.cosine_similarity(code, bad, dim=1)         # (B,)
    return (margin - pos + neg).clamp(min=0).mean()


def in_batch_loss(code: torch.Tensor, desc: torch.Tensor, scale: float) -> torch.Tensor:
    """Symmetric InfoNCE: sample i's code must pick description i among the batch, and vice versa."""
    c = F.normalize(code.float(), dim=1)
    d = F.normalize(desc.float(), dim=1)
    logits = scale * c @ d.T                            # (B, B)
    target = torch.arange(len(c), device=c.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


class JointLoss:
    """Callable loss(code, desc) for the configured objective."""

    def __init__(self, cfg: LossConfig, generator: torch.Generator | None = None):
        self.cfg = cfg
        # a dedicated generator keeps negative sampling reproducible and resumable
        self.generator = generator or torch.Generator().manual_seed(0)

    def __call__(self, code: torch.Tensor, desc: torch.Tensor) -> torch.Tensor:
        if self.cfg.kind == "distill":
            raise ValueError("loss.kind=distill needs teacher targets: build it with make_loss")
        if self.cfg.kind == "inbatch":
            return in_batch_loss(code, desc, self.cfg.scale)
        # the batch is shuffled, so another sample's description is a random wrong description
        bad = desc[wrong_partner(len(desc), self.generator, desc.device)]
        return margin_ranking_loss(code.float(), desc.float(), bad.float(), self.cfg.margin)
