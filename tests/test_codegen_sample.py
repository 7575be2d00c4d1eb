"""Tests for codegen.sample / codegen.decoding: strategies, KV cache, stop sequences, filters."""
from __future__ import annotations

import pytest
import torch

from codegen.config import ModelConfig
from codegen.data import pack
from codegen.decoding import choose_next, top_k_filter, top_p_filter
from codegen.model import CodeGeeX
from codegen.sample import generate, main, truncate_at_stop
from codegen.tokenizer import TokenizerConfig, train_tokenizer
from codegen.trainer import TrainConfig, Trainer

CODE = '''
import os


def read_lines(path):
    """Return the non-empty lines of a file."""
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def total(values):
    result = 0
    for v in values:
        result += v
    return result
'''
PROMPTS = ["def read_lines(path):\n", "import os\n\n\ndef total("]


@pytest.fixture(scope="module")
def tok():
    return train_tokenizer([CODE] * 10, TokenizerConfig(vocab_size=300))


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Tiny matrices: OpenMP threads only add contention on a shared 2-core machine.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def model(tok):
    # A briefly trained model: peaked, code-like predictions (random weights give near-ties,
    # where cache/no-cache rounding could flip an argmax).
    torch.manual_seed(0)
    m = CodeGeeX(ModelConfig(vocab_size=tok.vocab_size, n_ctx=64, n_layer=2, n_head=2, n_embd=32))
    segs = pack([tok.encode(CODE)] * 8, 64, tok.eos_id)
    Trainer(TrainConfig(max_steps=60, batch_size=8, warmup_steps=5, lr_max=1e-2, lr_min=1e-3), m, segs).run(
        progress=False)
    return m.eval()


def gen(model, tok, **kw):
    kw.setdefault("max_new_tokens", 24)
    return generate(model, tok, PROMPTS, **kw)


def test_top_p_keeps_smallest_set_reaching_p():
    probs = torch.tensor([[0.15, 0.5, 0.1, 0.25]])  # sorted: 0.5, 0.25, 0.15, 0.1
    logits = probs.log()
    kept = lambda p: set(torch.nonzero(torch.isfinite(top_p_filter(logits, p))[0]).flatten().tolist())
    assert kept(0.3) == {1}  # 0.5 alone reaches 0.3
    assert kept(0.7) == {1, 3}  # 0.5 < 0.7 <= 0.75
    assert kept(0.9) == {1, 3, 0}  # 0.75 < 0.9 <= 0.9
    assert kept(0.95) == {0, 1, 2, 3}
    assert kept(1.0) == {0, 1, 2, 3}
    kept_values = top_p_filter(logits, 0.7)[0, [1, 3]]
    torch.testing.assert_close(kept_values, logits[0, [1, 3]])  # survivors keep their logits


def test_top_p_sampling_draws_only_from_the_nucleus():
    logits = torch.tensor([[0.15, 0.5, 0.1, 0.25]]).log().expand(2000, -1)
    g = torch.Generator().manual_seed(0)
    draws = choose_next(logits, False, 1.0, 0, 0.7, g)
    assert set(draws.tolist()) == {1, 3}
    share = (draws == 1).float().mean().item()
    assert abs(share - 0.5 / 0.75) < 0.05  # renormalised over the nucleus


def test_top_k_filter():
    logits = torch.tensor([[1.0, 5.0, 3.0, 4.0]])
    assert torch.isfinite(top_k_filter(logits, 2)).tolist() == [[False, True, False, True]]
    assert torch.equal(top_k_filter(logits, 0), logits)


def test_greedy_n_copies_and_shapes(model, tok):
    out = gen(model, tok, n=3)
    assert len(out) == 2 and all(len(o) == 3 for o in out)
    assert all(o[0] == o[1] == o[2] for o in out)
    assert all(len(o[0]) > 10 for o in out)


def test_kv_cache_equals_no_cache(model, tok):
    for kw in (dict(strategy="greedy"), dict(strategy="sample", n=3, temperature=0.9, top_p=0.9, seed=7),
               dict(strategy="beam", num_beams=3, n=2)):
        assert gen(model, tok, use_cache=True, **kw) == gen(model, tok, use_cache=False, **kw), kw


def test_beam_width_one_equals_greedy(model, tok):
    assert gen(model, tok, strategy="beam", num_beams=1) == gen(model, tok, strategy="greedy")
    stop = ["("]
    assert gen(model, tok, strategy="beam", num_beams=1, stop=stop) == gen(model, tok, stop=stop)


def test_top_k_one_equals_greedy(model, tok):
    sampled = gen(model, tok, strategy="sample", n=4, top_k=1, temperature=0.7, seed=3)
    assert sampled == gen(model, tok, strategy="greedy", n=4)


def test_sampling_is_seeded_and_varied(model, tok):
    a = gen(model, tok, strategy="sample", n=4, temperature=1.5, seed=1)
    assert a == gen(model, tok, strategy="sample", n=4, temperature=1.5, seed=1)
    assert len(set(a[0])) > 1  # n samples of one prompt differ
    assert a != gen(model, tok, strategy="sample", n=4, temperature=1.5, seed=2)


def test_beam_returns_n_distinct_hypotheses(model, tok):
    out = gen(model, tok, strategy="beam", num_beams=4, n=3)
    assert all(len(set(o)) == 3 for o in out)


def test_stop_sequences_cut_the_completion(model, tok):
    free = gen(model, tok, max_new_tokens=40)[0][0]
    stop = free[12:15]
    assert stop and free.find(stop) >= 1
    got = gen(model, tok, max_new_tokens=40, stop=[stop, "NEVER-SEEN"])[0][0]
    assert got == free[:free.find(stop)]
    assert truncate_at_stop("abcXdefY", ["Y", "X"]) == "abc"


def test_stop_predicate_ends_rows_early(model, tok):
    free = gen(model, tok, max_new_tokens=40)[0][0]
    got = gen(model, tok, max_new_tokens=40, stop_fn=lambda text: len(text) >= 6)[0][0]
    assert 6 <= len(got) < len(free) and free.startswith(got)


def test_long_prompt_is_left_truncated(model, tok):
    out = generate(model, tok, [CODE * 5], max_new_tokens=8)
    assert len(out[0]) == 1


def test_bad_settings_are_rejected(model, tok):
    for kw in (dict(strategy="nucleus"), dict(strategy="beam", num_beams=2, n=3),
               dict(strategy="sample", temperature=0.0), dict(max_new_tokens=100)):
        with pytest.raises(ValueError):
            generate(model, tok, ["x"], **kw)


class Bigram(torch.nn.Module):
    """A model outside this package: only forward(idx, kv_cache) and no cache support."""

    def __init__(self, vocab):
        super().__init__()
        self.table = torch.nn.Embedding(vocab, vocab)

    def forward(self, idx, kv_cache=None):
        return self.table(idx)


def test_generate_accepts_any_logits_model(tok):
    torch.manual_seed(0)
    m = Bigram(tok.vocab_size)
    out = generate(m, tok, ["def "], n=2, strategy="beam", num_beams=2, max_new_tokens=5, use_cache=False)
    first = tok.decode([int(m.table.weight[tok.encode("def ")[-1]].argmax())])
    assert len(out[0]) == 2 and out[0][0].startswith(first)


def test_cli_samples_from_a_model_folder(model, tok, tmp_path, capsys):
    from codegen.checkpoint import save_model

    save_model(tmp_path, model)
    tok.save(tmp_path / "tokenizer.json")
    assert main(["--model", str(tmp_path), "--prompt", "def f(", "--n", "2", "--seed", "0",
                 "--max-new-tokens", "5", "--json"]) == 0
    assert '"completions"' in capsys.readouterr().out
    assert main(["--model", str(tmp_path / "nope"), "--prompt", "x"]) == 2
    assert capsys.readouterr().err.startswith("error:")
