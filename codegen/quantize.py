"""Weight-only int8 quantization: absmax per output row, dequantised on the fly at inference.

W_q = round(W / lambda), lambda = max_j |W_ij| / (2^(b-1) - 1) per row i, b = 8 (CodeGeeX).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def absmax_quantize(w: torch.Tensor, bits: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Return int8 codes (out, in) and per-row scales lambda (out, 1) for a weight (out, in)."""
    if not 2 <= bits <= 8:
        raise ValueError(f"bits must be in 2..8 (stored as int8), got {bits}")
    qmax = 2 ** (bits - 1) - 1
    lam = w.detach().float().abs().amax(dim=1, keepdim=True) / qmax  # (out, 1)
    lam = torch.where(lam == 0, torch.ones_like(lam), lam)  # an all-zero row stays zero
    q = torch.round(w.detach().float() / lam).clamp_(-qmax, qmax).to(torch.int8)
    return q, lam


def dequantize(q: torch.Tensor, scale: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Return the approximate weight q * lambda in `dtype`."""
    return q.to(dtype) * scale.to(dtype)


class Int8Linear(nn.Module):
    """Linear layer holding int8 weights + fp32 row scales; dequantises per forward call."""

    def __init__(self, weight_q: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor | None):
        super().__init__()
        self.out_features, self.in_features = weight_q.shape
        self.register_buffer("weight_q", weight_q)  # (out, in) int8
        self.register_buffer("scale", scale)  # (out, 1) fp32
        self.bias = None if bias is None else nn.Parameter(bias.detach().clone(), requires_grad=False)

    @classmethod
    def from_linear(cls, lin: nn.Linear, bits: int = 8) -> "Int8Linear":
        """Quantize an nn.Linear's weight; keep its bias in floating point."""
        q, lam = absmax_quantize(lin.weight, bits)
        return cls(q, lam, lin.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = dequantize(self.weight_q, self.scale, x.dtype)
        return F.linear(x, w, None if self.bias is None else self.bias.to(x.dtype))

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8"


def linear_weight_bytes(model: nn.Module) -> int:
    """Return the bytes held by Linear weights (int8 codes + scales once quantized); biases excluded."""
    total = 0
    for m in model.modules():
        if isinstance(m, Int8Linear):
            total += m.weight_q.numel() * m.weight_q.element_size() + m.scale.numel() * m.scale.element_size()
        elif isinstance(m, nn.Linear):
            total += m.weight.numel() * m.weight.element_size()
    return total


def quantize_model(model: nn.Module, bits: int = 8) -> dict:
    """Replace every nn.Linear of `model` in place by an Int8Linear; return the memory report."""
    before = linear_weight_bytes(model)
    targets = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not targets:
        raise ValueError("model has no nn.Linear layers to quantize")
    for name, lin in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, Int8Linear.from_linear(lin, bits))
    after = linear_weight_bytes(model)
    return {"linear_layers": len(targets), "linear_weight_bytes_before": before,
            "linear_weight_bytes_after": after, "reduction": before / after}
