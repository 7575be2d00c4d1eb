"""Tests for codegen.quantize: absmax int8 error bound, layer replacement, memory."""
from __future__ import annotations

import torch
import torch.nn as nn

from codegen.config import ModelConfig
from codegen.model import CodeGeeX
from codegen.quantize import Int8Linear, absmax_quantize, dequantize, linear_weight_bytes, quantize_model


def test_round_trip_error_is_at_most_half_a_step_per_weight():
    torch.manual_seed(0)
    w = torch.randn(64, 300)
    w[3] = 0.0  # all-zero row
    w[5, 7] = 50.0  # outlier: coarse steps for that row only
    w[9] *= 1e-6  # tiny row
    q, lam = absmax_quantize(w)
    assert q.dtype == torch.int8 and lam.shape == (64, 1)
    assert q.abs().max() <= 127
    expected = w.abs().amax(dim=1, keepdim=True) / 127
    nonzero = expected.squeeze(1) > 0
    torch.testing.assert_close(lam[nonzero], expected[nonzero])
    err = (dequantize(q, lam) - w).abs()
    assert torch.all(err <= lam / 2 * (1 + 1e-5) + 1e-12)
    assert torch.all(dequantize(q, lam)[3] == 0)
    assert (q.abs().amax(dim=1)[nonzero] == 127).all()  # each row's absmax maps to +-127


def test_fewer_bits_use_the_matching_range():
    w = torch.randn(4, 16)
    q, lam = absmax_quantize(w, bits=4)
    assert q.abs().max() == 7
    assert torch.all((dequantize(q, lam) - w).abs() <= lam / 2 * (1 + 1e-5))


def test_int8_linear_matches_dequantised_weights():
    torch.manual_seed(1)
    lin = nn.Linear(40, 24)
    ql = Int8Linear.from_linear(lin)
    x = torch.randn(5, 40)
    ref = x @ dequantize(ql.weight_q, ql.scale).T + lin.bias
    torch.testing.assert_close(ql(x), ref)
    assert (ql(x) - lin(x)).abs().max() < 0.05


def test_quantize_model_replaces_every_linear_and_shrinks_weights():
    torch.manual_seed(2)
    cfg = ModelConfig(vocab_size=64, n_ctx=16, n_layer=2, n_head=2, n_embd=64)
    model = CodeGeeX(cfg).eval()
    idx = torch.randint(0, 64, (2, 16))
    ref = model(idx)
    n_linear = sum(isinstance(m, nn.Linear) for m in model.modules())
    fp_bytes = linear_weight_bytes(model)
    report = quantize_model(model)
    assert report["linear_layers"] == n_linear == 6 * (cfg.n_layer + 1)
    assert not any(type(m) is nn.Linear for m in model.modules())
    assert report["linear_weight_bytes_before"] == fp_bytes
    assert report["reduction"] >= 3.5
    out = model(idx)
    rel = (out - ref).norm() / ref.norm()
    assert 0 < rel < 0.02
