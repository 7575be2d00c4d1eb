"""CodeGeeX-style decoder: pre-LN GPT blocks, a top query layer, tied output embedding, KV cache.

Plain torch, no I/O (karpathy/nanoGPT style). Shapes: B batch, T new positions, S cached + new
positions, C hidden, H heads, D head size, V vocabulary.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from codegen.config import ModelConfig


def fast_gelu(x: torch.Tensor) -> torch.Tensor:
    """Apply CodeGeeX's FastGELU: x / (1 + exp(-1.702|x|)) * exp(0.851(x - |x|)).

    Algebraically x * sigmoid(1.702 x), written with |x| so that no exp() argument is positive.
    """
    ax = x.abs()
    return x / (1 + torch.exp(-1.702 * ax)) * torch.exp(0.851 * (x - ax))


class LayerNorm(nn.LayerNorm):
    """LayerNorm computed in fp32 whatever the autocast dtype (mixed-precision stability)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=x.device.type, enabled=False):
            w = None if self.weight is None else self.weight.float()
            b = None if self.bias is None else self.bias.float()
            y = F.layer_norm(x.float(), self.normalized_shape, w, b, self.eps)
        return y.to(x.dtype)


class KVCache:
    """Keys and values of the positions seen so far, one slot per attention layer."""

    def __init__(self, n_slots: int):
        self.keys: list[torch.Tensor | None] = [None] * n_slots
        self.values: list[torch.Tensor | None] = [None] * n_slots
        self.length = 0  # positions already cached; the model advances it after each forward

    def update(self, slot: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append this step's (B, H, T, D) keys/values to `slot` and return the full (B, H, S, D)."""
        if self.keys[slot] is not None:
            k = torch.cat([self.keys[slot], k], dim=2)
            v = torch.cat([self.values[slot], v], dim=2)
        self.keys[slot], self.values[slot] = k, v
        return k, v

    def select(self, index: torch.Tensor) -> None:
        """Reorder or repeat batch rows in place (beam reordering, one prompt -> n samples)."""
        for i, (k, v) in enumerate(zip(self.keys, self.values)):
            if k is not None:
                self.keys[i] = k.index_select(0, index.to(k.device))
                self.values[i] = v.index_select(0, index.to(v.device))


class Attention(nn.Module):
    """Multi-head attention, causal over cached + new positions; the query input may differ."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        c = cfg.n_embd
        self.n_head = cfg.n_head
        self.dropout = cfg.dropout
        # Separate projections, named as in CodeGeeX, so LoRA can target e.g. only query/value.
        self.query = nn.Linear(c, c, bias=cfg.bias)
        self.key = nn.Linear(c, c, bias=cfg.bias)
        self.value = nn.Linear(c, c, bias=cfg.bias)
        self.dense = nn.Linear(c, c, bias=cfg.bias)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        return x.view(b, t, self.n_head, c // self.n_head).transpose(1, 2)  # (B, H, T, D)

    def forward(self, x, q_in, cache: KVCache | None, slot: int) -> torch.Tensor:
        """Attend from `q_in` (B, T, C) to keys/values of `x` (B, T, C) and of the cache."""
        b, t, c = x.shape
        q = self._heads(self.query(q_in))
        k, v = self._heads(self.key(x)), self._heads(self.value(x))
        if cache is not None:
            k, v = cache.update(slot, k, v)  # (B, H, S, D)
        s = k.size(2)
        mask, causal = None, False
        if t == s:
            causal = True
        elif t > 1:
            # New query i sits at absolute position s - t + i and may see keys 0..s - t + i.
            mask = torch.ones(t, s, dtype=torch.bool, device=x.device).tril(diagonal=s - t)
        # SDPA's fused kernels keep the softmax statistics in fp32 even under bf16/fp16 autocast.
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=causal,
            dropout_p=self.dropout if self.training else 0.0)  # (B, H, T, D)
        return self.dense(y.transpose(1, 2).reshape(b, t, c))


class MLP(nn.Module):
    """Position-wise feed-forward: C -> ratio*C -> FastGELU -> C."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.dense_h_to_4h = nn.Linear(cfg.n_embd, cfg.mlp_ratio * cfg.n_embd, bias=cfg.bias)
        self.dense_4h_to_h = nn.Linear(cfg.mlp_ratio * cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.dense_4h_to_h(fast_gelu(self.dense_h_to_4h(x))))


class Block(nn.Module):
    """Pre-LayerNorm decoder block; with `query` given it is CodeGeeX's top query layer."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.input_layernorm = LayerNorm(cfg.n_embd, eps=cfg.ln_eps)
        self.attention = Attention(cfg)
        self.post_attention_layernorm = LayerNorm(cfg.n_embd, eps=cfg.ln_eps)
        self.mlp = MLP(cfg)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x, cache: KVCache | None, slot: int, query: torch.Tensor | None = None):
        h = self.input_layernorm(x)
        x = x + self.drop(self.attention(h, h if query is None else query, cache, slot))
        return x + self.mlp(self.post_attention_layernorm(x))


class CodeGeeX(nn.Module):
    """Decoder LM: embeddings -> n_layer blocks -> final LN -> top query layer -> tied logits."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.config = cfg
        self.word_embeddings = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.position_embeddings = nn.Embedding(cfg.n_ctx, cfg.n_embd)
        # Row p is the learned query used at position p to predict the token at position p + 1.
        self.top_query_embeddings = nn.Embedding(cfg.n_ctx, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.final_layernorm = LayerNorm(cfg.n_embd, eps=cfg.ln_eps)
        self.top_query_layer = Block(cfg)
        self.apply(self._init_weights)
        # GPT-2: scale residual output projections by depth so the residual stream stays O(1).
        std = 0.02 / math.sqrt(2 * (cfg.n_layer + 1))
        for name, p in self.named_parameters():
            if name.endswith(("attention.dense.weight", "dense_4h_to_h.weight")):
                nn.init.normal_(p, mean=0.0, std=std)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    @property
    def context_length(self) -> int:
        """Return the maximum number of positions (prompt + generated) the model accepts."""
        return self.config.n_ctx

    def new_kv_cache(self) -> KVCache:
        """Return an empty cache for incremental decoding."""
        return KVCache(self.config.n_layer + 1)

    def num_params(self, exclude_embeddings: bool = False) -> int:
        """Count parameters (tied output embedding counted once)."""
        n = sum(p.numel() for p in self.parameters())
        if exclude_embeddings:
            n -= sum(e.weight.numel() for e in (self.word_embeddings, self.position_embeddings,
                                                  self.top_query_embeddings))
        return n

    def forward(self, idx: torch.Tensor, kv_cache: KVCache | None = None) -> torch.Tensor:
        """Return next-token logits (B, T, V) for token ids `idx` (B, T), extending `kv_cache`."""
        b, t = idx.shape
        start = kv_cache.length if kv_cache is not None else 0
        if start + t > self.config.n_ctx:
            raise ValueError(f"sequence of {start + t} positions exceeds n_ctx={self.config.n_ctx}")
        pos = torch.arange(start, start + t, device=idx.device)  # (T,)
        x = self.drop(self.word_embeddings(idx) + self.position_embeddings(pos))  # (B, T, C)
        query = self.top_query_embeddings(pos).unsqueeze(0).expand(b, t, -1)  # (B, T, C)
        for i, layer in enumerate(self.layers):
            x = layer(x, kv_cache, i)
        x = self.final_layernorm(x)
        x = self.top_query_layer(x, kv_cache, self.config.n_layer, query=query.to(x.dtype))
        if kv_cache is not None:
            kv_cache.length += t
        return F.linear(x, self.word_embeddings.weight)  # (B, T, V)
