"""Build the model and the loss a config names (LSTM encoders or bag of subwords; joint or distill loss)."""
from __future__ import annotations

import torch
import torch.nn as nn

from .loss import JointLoss, LossConfig
from .model import JointEmbedder, ModelConfig


def build_model(cfg: ModelConfig) -> nn.Module:
    """A fresh model for cfg.arch."""
    if cfg.arch == "bag":
        from .bag import BagEmbedder

        return BagEmbedder(cfg)
    return JointEmbedder(cfg)


def make_loss(cfg: LossConfig, generator: torch.Generator | None = None):
    """The configured objective: JointLoss, or the asymmetric DistillLoss (which reads teacher targets)."""
    if cfg.kind == "distill":
        from .distill_loss import DistillLoss

        return DistillLoss(cfg)
    return JointLoss(cfg, generator)
