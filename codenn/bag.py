"""CODEnn with bag-of-subword field encoders: the fast default model of the search engine.

Each field (name, API sequence, identifier tokens; the description) is a weighted mean of subword
embeddings with a learned weight per piece (initialised to its idf). The code side combines its
three fields with learned field scales; the description side has its own table. Embeddings can
start from a pretrained sentence encoder's view of each piece (codenn.teacher), which carries
word knowledge the small training corpus lacks; nothing pretrained is needed at query time.
Plain torch, no I/O. Shapes: B batch, T time, E embedding size, V vocabulary.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .model import ModelConfig, trim

CODE_FIELDS = ("name", "apiseq", "tokens")


class WeightedBag(nn.Module):
    """Sum of embeddings weighted by a learned non-negative weight per piece; returns (sum, weight)."""

    def __init__(self, vocab_size: int, emb_size: int, dropout: float):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, emb_size, padding_idx=0)
        self.weight = nn.Parameter(torch.ones(vocab_size))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, lengths = trim(x, lengths)
        mask = torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None]   # (B, T)
        w = torch.relu(self.weight[x]) * mask                                           # (B, T)
        if self.training and self.drop.p > 0:
            e = self.drop(self.emb(x))                                                  # (B, T, E)
            return (e * w[..., None]).sum(1), w.sum(1)
        # inference: one fused gather-and-sum instead of a (B, T, E) intermediate
        return F.embedding_bag(x, self.emb.weight, mode="sum", per_sample_weights=w), w.sum(1)


class BagEmbedder(nn.Module):
    """Code and description vectors as idf-weighted means of subword embeddings."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if len({cfg.n_name, cfg.n_apiseq, cfg.n_tokens, cfg.n_desc}) != 1:
            raise ValueError("the bag model needs one shared subword vocabulary (preprocess dataset --subword)")
        self.cfg = cfg
        self.code_bag = WeightedBag(cfg.n_name, cfg.emb_size, cfg.dropout)
        self.desc_bag = WeightedBag(cfg.n_desc, cfg.emb_size, cfg.dropout)
        # the name says most about what a function does: it starts with twice the weight of the others
        self.field_scale = nn.Parameter(torch.tensor([2.0, 1.0, 1.0]))
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Xavier-uniform embeddings (pad row zero) and unit piece weights."""
        for bag in (self.code_bag, self.desc_bag):
            nn.init.xavier_uniform_(bag.emb.weight)
            bag.emb.weight[0].zero_()
            bag.weight.fill_(1.0)

    @torch.no_grad()
    def init_from(self, embeddings: torch.Tensor | None = None, idf: torch.Tensor | None = None) -> None:
        """Start both tables from pretrained piece embeddings (V, E) and piece weights from idf (V,)."""
        for bag in (self.code_bag, self.desc_bag):
            if embeddings is not None:
                bag.emb.weight.copy_(embeddings)
                bag.emb.weight[0].zero_()
            if idf is not None:
                bag.weight.copy_(idf)

    def encode_code(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Code vectors (B, E) from a reader-style batch; not normalised."""
        total, weight = 0.0, 0.0
        for i, field in enumerate(CODE_FIELDS):
            s, w = self.code_bag(batch[field], batch[f"{field}_len"])                   # (B, E), (B,)
            scale = torch.relu(self.field_scale[i])
            total, weight = total + scale * s, weight + scale * w
        return total / weight.clamp(min=1e-6)[:, None]

    def encode_desc(self, desc: torch.Tensor, desc_len: torch.Tensor) -> torch.Tensor:
        """Description or query vectors (B, E); not normalised."""
        s, w = self.desc_bag(desc, desc_len)
        return s / w.clamp(min=1e-6)[:, None]

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encode_code(batch), self.encode_desc(batch["desc"], batch["desc_len"])

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
