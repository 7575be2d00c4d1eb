"""Model configuration: the dataclass and the named sizes, from a CPU toy to CodeGeeX-13B."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass
class ModelConfig:
    """Shape of a CodeGeeX-style decoder; `n_layer` counts the plain blocks, not the top query layer."""

    vocab_size: int = 4096
    n_ctx: int = 128  # maximum sequence length (learned position embeddings)
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 128
    mlp_ratio: int = 4
    dropout: float = 0.0
    ln_eps: float = 1e-5
    bias: bool = True

    def __post_init__(self):
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head})")
        for name in ("vocab_size", "n_ctx", "n_layer", "n_head", "n_embd", "mlp_ratio"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")

    def to_dict(self) -> dict:
        """Return the fields as a plain dict (JSON-ready)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        """Build from a dict, refusing keys this dataclass does not define."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown model config keys: {', '.join(unknown)}")
        return cls(**d)


# vocab_size here is the default for a freshly trained tokenizer; train.py replaces it with the
# actual tokenizer's size (padded to a multiple of 64) except for the published 13B shape.
CONFIGS: dict[str, ModelConfig] = {
    # Trains in a few minutes on 2 CPU cores.
    "tiny": ModelConfig(vocab_size=4096, n_ctx=128, n_layer=2, n_head=4, n_embd=128),
    # The tiny shape with room for retrieved functions before a HumanEval prompt (benchmarks/codegen/humaneval_rag.py).
    "tiny-1k": ModelConfig(vocab_size=4096, n_ctx=1024, n_layer=2, n_head=4, n_embd=128),
    "small": ModelConfig(vocab_size=8192, n_ctx=256, n_layer=6, n_head=6, n_embd=384),
    # ~100M parameters with a 16k vocabulary: the size used for GPU throughput / MFU figures.
    "codegeex-100m": ModelConfig(vocab_size=16384, n_ctx=1024, n_layer=11, n_head=12, n_embd=768),
    # The published CodeGeeX: 39 blocks + the top query layer, hidden 5120, 40 heads.
    "codegeex-13b": ModelConfig(vocab_size=52224, n_ctx=2048, n_layer=39, n_head=40, n_embd=5120),
}


def get_config(name: str, **overrides) -> ModelConfig:
    """Return a copy of a named config with `overrides` applied (unknown keys rejected)."""
    if name not in CONFIGS:
        raise ValueError(f"unknown model config {name!r}; choose from {', '.join(CONFIGS)}")
    d = CONFIGS[name].to_dict()
    d.update(overrides)
    return ModelConfig.from_dict(d)
