"""Build the model a config names (the paper's LSTM encoders or the bag-of-subwords variant)."""
from __future__ import annotations

import torch.nn as nn

from .model import JointEmbedder, ModelConfig


def build_model(cfg: ModelConfig) -> nn.Module:
    """A fresh model for cfg.arch."""
    if cfg.arch == "bag":
        from .bag import BagEmbedder

        return BagEmbedder(cfg)
    return JointEmbedder(cfg)
