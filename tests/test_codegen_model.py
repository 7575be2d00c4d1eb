"""Tests for codegen.model: FastGELU, causality, KV cache, top query layer, 13B shape."""
from __future__ import annotations

import math

import pytest
import torch

from codegen.config import ModelConfig, get_config
from codegen.model import CodeGeeX, fast_gelu

CFG = ModelConfig(vocab_size=97, n_ctx=32, n_layer=2, n_head=4, n_embd=32)


@pytest.fixture(scope="module")
def model() -> CodeGeeX:
    torch.manual_seed(0)
    return CodeGeeX(CFG).eval()


def test_fast_gelu_matches_the_paper_formula():
    xs = [-30.0, -5.0, -1.702, -1.0, -0.3, 0.0, 1e-4, 0.5, 1.0, 3.0, 30.0]
    got = fast_gelu(torch.tensor(xs, dtype=torch.float64)).tolist()
    for x, y in zip(xs, got):
        direct = x / (1 + math.exp(-1.702 * abs(x))) * math.exp(0.851 * (x - abs(x)))
        assert y == pytest.approx(direct, rel=1e-12, abs=1e-300)
        assert y == pytest.approx(x / (1 + math.exp(-1.702 * x)), rel=1e-9, abs=1e-12)  # x*sigmoid(1.702x)


def test_fast_gelu_approximates_gelu_and_is_finite():
    x = torch.linspace(-8, 8, 2001)
    assert (fast_gelu(x) - torch.nn.functional.gelu(x)).abs().max() < 0.03
    big = torch.tensor([-1e4, 1e4], dtype=torch.float32)
    assert torch.isfinite(fast_gelu(big)).all()


def test_causality(model):
    torch.manual_seed(1)
    idx = torch.randint(0, CFG.vocab_size, (2, 20))
    base = model(idx)
    for t in (0, 7, 18):
        changed = idx.clone()
        changed[:, t + 1:] = (changed[:, t + 1:] + 1) % CFG.vocab_size
        out = model(changed)
        torch.testing.assert_close(out[:, :t + 1], base[:, :t + 1], rtol=0, atol=1e-5)
        assert not torch.allclose(out[:, t + 1:], base[:, t + 1:])


def test_kv_cache_equals_full_forward(model):
    torch.manual_seed(2)
    idx = torch.randint(0, CFG.vocab_size, (3, 24))
    full = model(idx)
    cache = model.new_kv_cache()
    parts = [model(idx[:, :10], kv_cache=cache), model(idx[:, 10:15], kv_cache=cache)]
    parts += [model(idx[:, t:t + 1], kv_cache=cache) for t in range(15, 24)]
    torch.testing.assert_close(torch.cat(parts, dim=1), full, rtol=1e-4, atol=1e-5)
    assert cache.length == 24


def test_cache_select_repeats_rows(model):
    idx = torch.randint(0, CFG.vocab_size, (1, 6))
    cache = model.new_kv_cache()
    model(idx, kv_cache=cache)
    cache.select(torch.zeros(3, dtype=torch.long))
    nxt = torch.tensor([[1], [2], [3]])
    out = model(nxt, kv_cache=cache)
    ref = model(torch.cat([idx.expand(3, -1), nxt], dim=1))[:, -1:]
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)


def test_top_query_embedding_drives_the_next_token_logits():
    torch.manual_seed(3)
    m = CodeGeeX(CFG).eval()
    idx = torch.randint(0, CFG.vocab_size, (1, 8))
    before = m(idx)
    with torch.no_grad():
        m.top_query_embeddings.weight[5] = 30 * torch.randn(CFG.n_embd)  # sharpen attention
    after = m(idx)
    changed = (after - before).abs().amax(dim=-1)[0]  # (T,)
    # Small-init weights keep the effect small, but only position 5 moves at all.
    assert changed[5] > 1e-5
    assert torch.all(changed[torch.arange(8) != 5] < 1e-7)


def test_logits_use_tied_word_embeddings(model):
    names = [n for n, _ in model.named_parameters()]
    assert not any("lm_head" in n for n in names)
    assert model(torch.zeros(1, 1, dtype=torch.long)).shape == (1, 1, CFG.vocab_size)


def test_context_overflow_is_rejected(model):
    with pytest.raises(ValueError, match="n_ctx"):
        model(torch.zeros(1, CFG.n_ctx + 1, dtype=torch.long))


def test_codegeex_13b_parameter_count():
    cfg = get_config("codegeex-13b")
    assert (cfg.n_layer, cfg.n_embd, cfg.n_head, cfg.n_ctx, cfg.vocab_size) == (39, 5120, 40, 2048, 52224)
    with torch.device("meta"):
        m = CodeGeeX(cfg)
    h, v, L = 5120, 52224, 40  # 39 blocks + the top query layer, same shape
    per_layer = 4 * (h * h + h) + (h * 4 * h + 4 * h) + (4 * h * h + h) + 4 * h
    assert m.num_params() == L * per_layer + v * h + 2 * 2048 * h + 2 * h
    assert 12.5e9 < m.num_params() < 13.5e9
    assert next(m.parameters()).is_meta


def test_config_rejects_bad_shapes():
    with pytest.raises(ValueError):
        ModelConfig(n_embd=30, n_head=4)
    with pytest.raises(ValueError, match="unknown"):
        ModelConfig.from_dict({"n_layers": 3})
    with pytest.raises(ValueError, match="unknown model config"):
        get_config("gpt-5")
