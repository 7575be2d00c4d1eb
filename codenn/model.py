"""CODEnn joint embedding: code (name, API sequence, tokens) and description in one vector space.

Plain torch, no file I/O (nanoGPT style). Shapes in comments: B batch, T time, E embedding,
H LSTM hidden size per direction, D joint dimension (= 2H).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

POOLINGS = ("max", "mean", "last")
FIELD_NAMES = ("name", "apiseq", "tokens", "desc")


@dataclass
class ModelConfig:
    """Sizes of the joint embedder; vocabulary sizes come from the dataset."""

    n_name: int = 10_000
    n_apiseq: int = 10_000
    n_tokens: int = 10_000
    n_desc: int = 10_000
    emb_size: int = 128
    lstm_hidden: int = 128       # per direction; the joint space has 2 * lstm_hidden dimensions
    bow_hidden: int = 256        # hidden width of the token-bag MLP
    pool: str = "max"            # max | mean | last
    dropout: float = 0.25
    share_embeddings: bool = False  # one embedding table over the union of the four vocabularies
    n_shared: int = 0               # its size (set from the vocabularies when share_embeddings)
    arch: str = "lstm"              # lstm: the paper's encoders | bag: weighted subword bags (codenn.bag)
    init: str = "random"            # random | minilm: bag embeddings start from MiniLM's view of each piece

    def __post_init__(self):
        if self.arch not in ("lstm", "bag"):
            raise ValueError(f"model.arch must be lstm or bag, not {self.arch!r}")
        if self.init not in ("random", "minilm"):
            raise ValueError(f"model.init must be random or minilm, not {self.init!r}")
        if self.pool not in POOLINGS:
            raise ValueError(f"model.pool must be one of {POOLINGS}, not {self.pool!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"model.dropout must be in [0, 1), not {self.dropout}")

    @property
    def dim(self) -> int:
        return self.emb_size if self.arch == "bag" else 2 * self.lstm_hidden


def length_mask(lengths: torch.Tensor, T: int) -> torch.Tensor:
    """(B,) lengths -> (B, T) bool mask of the real positions."""
    return torch.arange(T, device=lengths.device)[None, :] < lengths[:, None]


def masked_max(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Max over time of (B, T, C) where mask (B, T) is True; rows with no position give 0."""
    x = x.masked_fill(~mask[..., None], float("-inf")).max(dim=1).values   # (B, C)
    return x.masked_fill(~mask.any(dim=1)[:, None], 0.0)


def trim(x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Drop the columns past the batch's longest sequence (padding is most of a fixed-length batch)."""
    lengths = lengths.clamp(0, x.shape[1])
    T = max(1, int(lengths.max())) if len(lengths) else 1
    return x[:, :T], lengths


class SeqEncoder(nn.Module):
    """Embedding -> dropout -> BiLSTM over packed sequences -> pooling -> tanh."""

    def __init__(self, vocab_size: int, cfg: ModelConfig):
        super().__init__()
        self.pool = cfg.pool
        # vocab_size 0: the caller passes a shared embedding table to forward()
        self.emb = nn.Embedding(vocab_size, cfg.emb_size, padding_idx=0) if vocab_size else None
        self.drop = nn.Dropout(cfg.dropout)
        self.lstm = nn.LSTM(cfg.emb_size, cfg.lstm_hidden, batch_first=True, bidirectional=True)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, emb: nn.Embedding | None = None) -> torch.Tensor:
        x, lengths = trim(x, lengths)
        B, T = x.shape
        # pack_padded_sequence refuses length 0: run empty rows over one pad step, zero them after
        run_lengths = lengths.clamp(min=1)
        e = self.drop((emb if emb is not None else self.emb)(x))              # (B, T, E)
        packed = pack_padded_sequence(e, run_lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, (h, _) = self.lstm(packed)
        if self.pool == "last":
            pooled = torch.cat([h[0], h[1]], dim=1)                           # (B, 2H)
        else:
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)  # (B, T, 2H)
            mask = length_mask(run_lengths, T)                                # (B, T)
            if self.pool == "max":
                pooled = masked_max(out, mask)
            else:
                pooled = (out * mask[..., None]).sum(1) / run_lengths[:, None].to(out.dtype)
        v = torch.tanh(pooled)                                                # (B, 2H)
        return v * (lengths > 0)[:, None].to(v.dtype)


class BOWEncoder(nn.Module):
    """Embedding -> dropout -> max-pool over the bag -> MLP -> tanh (order-free identifier tokens)."""

    def __init__(self, vocab_size: int, cfg: ModelConfig):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, cfg.emb_size, padding_idx=0) if vocab_size else None
        self.drop = nn.Dropout(cfg.dropout)
        self.fc1 = nn.Linear(cfg.emb_size, cfg.bow_hidden)
        self.fc2 = nn.Linear(cfg.bow_hidden, cfg.dim)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, emb: nn.Embedding | None = None) -> torch.Tensor:
        x, lengths = trim(x, lengths)
        B, T = x.shape
        e = self.drop((emb if emb is not None else self.emb)(x))              # (B, T, E)
        pooled = masked_max(e, length_mask(lengths, T))                       # (B, E)
        return torch.tanh(self.fc2(F.relu(self.fc1(pooled))))                 # (B, D)


class JointEmbedder(nn.Module):
    """Map code and descriptions into one space where matching pairs have high cosine similarity."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        shared = cfg.share_embeddings
        if shared and cfg.n_shared < 4:
            raise ValueError("model.share_embeddings needs n_shared, the size of the union vocabulary")
        self.shared_emb = nn.Embedding(cfg.n_shared, cfg.emb_size, padding_idx=0) if shared else None
        if shared:
            # field id -> shared id; filled by set_remaps() and saved with the weights
            for field in FIELD_NAMES:
                self.register_buffer(f"remap_{field}", torch.zeros(getattr(cfg, f"n_{field}"), dtype=torch.int64))
        self.name_enc = SeqEncoder(0 if shared else cfg.n_name, cfg)
        self.api_enc = SeqEncoder(0 if shared else cfg.n_apiseq, cfg)
        self.tok_enc = BOWEncoder(0 if shared else cfg.n_tokens, cfg)
        self.desc_enc = SeqEncoder(0 if shared else cfg.n_desc, cfg)
        self.fuse = nn.Linear(3 * cfg.dim, cfg.dim)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Xavier for tanh-fed layers and LSTM inputs, orthogonal recurrences, He before ReLU."""
        for m in self.modules():
            if isinstance(m, nn.Embedding):
                nn.init.uniform_(m.weight, -0.1, 0.1)
                m.weight[m.padding_idx].zero_()
            elif isinstance(m, nn.LSTM):
                for name, p in m.named_parameters():
                    if name.startswith("weight_ih"):
                        nn.init.xavier_uniform_(p)
                    elif name.startswith("weight_hh"):
                        for gate in p.chunk(4, dim=0):   # one orthogonal block per gate
                            nn.init.orthogonal_(gate)
                    else:
                        p.zero_()
                        # forget-gate bias 1 (bias_ih only, so the sum is 1): remember by default
                        if name.startswith("bias_ih"):
                            p[m.hidden_size : 2 * m.hidden_size].fill_(1.0)
        for enc in (self.tok_enc,):
            nn.init.kaiming_uniform_(enc.fc1.weight, nonlinearity="relu")
            nn.init.zeros_(enc.fc1.bias)
            nn.init.xavier_uniform_(enc.fc2.weight, gain=nn.init.calculate_gain("tanh"))
            nn.init.zeros_(enc.fc2.bias)
        nn.init.xavier_uniform_(self.fuse.weight, gain=nn.init.calculate_gain("tanh"))
        nn.init.zeros_(self.fuse.bias)

    def set_remaps(self, remaps: dict[str, torch.Tensor]) -> None:
        """Install each field's id -> shared id table (shared embeddings only)."""
        for field in FIELD_NAMES:
            getattr(self, f"remap_{field}").copy_(remaps[field])

    def ids(self, field: str, x: torch.Tensor) -> torch.Tensor:
        """A field's token ids as the embedding table numbers them."""
        return getattr(self, f"remap_{field}")[x] if self.shared_emb is not None else x

    def encode_code(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Code vectors (B, D) from a reader-style batch; not normalised."""
        e = self.shared_emb
        name = self.name_enc(self.ids("name", batch["name"]), batch["name_len"], e)          # (B, D)
        api = self.api_enc(self.ids("apiseq", batch["apiseq"]), batch["apiseq_len"], e)      # (B, D)
        tok = self.tok_enc(self.ids("tokens", batch["tokens"]), batch["tokens_len"], e)      # (B, D)
        return torch.tanh(self.fuse(torch.cat([name, api, tok], dim=1)))                    # (B, D)

    def encode_desc(self, desc: torch.Tensor, desc_len: torch.Tensor) -> torch.Tensor:
        """Description or query vectors (B, D); not normalised."""
        return self.desc_enc(self.ids("desc", desc), desc_len, self.shared_emb)

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (code vectors, description vectors), both (B, D)."""
        return self.encode_code(batch), self.encode_desc(batch["desc"], batch["desc_len"])

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
