"""Tests for codegen.trainer / codegen.train: schedule, overfitting, CLI run, resume."""
from __future__ import annotations

import json
import math

import pytest
import torch

from codegen.checkpoint import load_model
from codegen.config import ModelConfig
from codegen.data import pack
from codegen.model import CodeGeeX
from codegen.sample import generate
from codegen.tokenizer import TokenizerConfig, train_tokenizer
from codegen.train import main
from codegen.trainer import TrainConfig, Trainer, lr_at

CODE = '''def fizzbuzz(n):
    """Return the FizzBuzz word for n."""
    if n % 15 == 0:
        return "FizzBuzz"
    if n % 3 == 0:
        return "Fizz"
    if n % 5 == 0:
        return "Buzz"
    return str(n)


def main():
    for i in range(1, 101):
        print(fizzbuzz(i))
'''


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # small matrices: extra threads only contend on 2 shared cores
    yield
    torch.set_num_threads(n)


def test_lr_schedule_warmup_then_paper_cosine():
    cfg = TrainConfig(max_steps=110, warmup_steps=10, lr_max=1.0, lr_min=0.1)
    assert lr_at(0, cfg) == pytest.approx(0.1)
    assert lr_at(9, cfg) == pytest.approx(1.0)
    n_decay = 100
    for n in (0, 25, 50, 75, 100):
        expected = 0.1 + 0.5 * (1.0 - 0.1) * (1 + math.cos(math.pi * n / n_decay))
        assert lr_at(10 + n, cfg) == pytest.approx(expected)
    assert lr_at(500, cfg) == pytest.approx(0.1)  # flat at lr_min after n_decay
    assert lr_at(10 + 30, TrainConfig(warmup_steps=10, decay_steps=60, lr_max=1.0, lr_min=0.0)) \
        == pytest.approx(0.5)


def test_tiny_model_overfits_a_code_file():
    tok = train_tokenizer([CODE], TokenizerConfig(vocab_size=260))
    segs = pack([tok.encode_sample(CODE, "python")] * 4, 64, tok.eos_id)
    torch.manual_seed(0)
    # n_ctx above the 64-token segments so that prompt + 40 new tokens are never left-truncated.
    model = CodeGeeX(ModelConfig(vocab_size=tok.vocab_size, n_ctx=128, n_layer=2, n_head=2, n_embd=64))
    cfg = TrainConfig(max_steps=150, batch_size=8, lr_max=5e-3, lr_min=5e-4, warmup_steps=10,
                      weight_decay=0.0)
    trainer = Trainer(cfg, model, segs, valid=segs)
    first = trainer.evaluate()["loss"]
    trainer.run(progress=False)
    last = trainer.evaluate()["loss"]
    assert first > 4.0 and last < 0.1, (first, last)
    # Memorised: greedy decoding from the file's start continues with the docstring.
    prompt = "# language: Python\ndef fizzbuzz(n):\n"
    out = generate(model, tok, [prompt], max_new_tokens=24)[0][0]
    assert out.startswith('    """Return the F'), out


def test_grad_accumulation_matches_a_bigger_batch():
    segs = torch.randint(0, 50, (8, 17))
    losses = []
    for bs, accum in ((8, 1), (4, 2)):
        torch.manual_seed(0)
        m = CodeGeeX(ModelConfig(vocab_size=50, n_ctx=16, n_layer=1, n_head=2, n_embd=16))
        t = Trainer(TrainConfig(max_steps=1, batch_size=bs, grad_accum=accum, warmup_steps=1), m, segs)
        t._batch = lambda micro, bs=bs: (segs[micro * bs:(micro + 1) * bs, :-1],
                                         segs[micro * bs:(micro + 1) * bs, 1:])
        losses.append(t.train_step())
        losses.append(m.word_embeddings.weight.detach().clone())
    assert losses[0] == pytest.approx(losses[2], rel=1e-5)
    torch.testing.assert_close(losses[1], losses[3], rtol=1e-4, atol=1e-6)


@pytest.fixture()
def corpus(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(12):
        (src / f"mod{i}.py").write_text(CODE.replace("fizzbuzz", f"fizz{i}") * 3)
    return src


def _train(corpus, out, *extra):
    return main(["--files", str(corpus), "--out", str(out), "--config", "tiny", "--no-progress",
                 "--model", "n_layer=1", "--model", "n_embd=32", "--model", "n_ctx=32",
                 "--vocab-size", "300", "--batch-size", "4", "--valid-fraction", "0.25",
                 "--log-interval", "1", "--eval-interval", "2", "--ckpt-interval", "2", *extra])


def test_cli_trains_resumes_and_the_folder_samples(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(corpus, out, "--max-steps", "3") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["step"] == 3 and summary["valid_perplexity"] > 1
    names = {p.name for p in out.iterdir()}
    assert {"tokenizer.json", "config.json", "model.safetensors", "ckpt.pt", "metrics.json"} <= names
    assert any(n.startswith("events.out.tfevents") for n in names)
    saved = json.loads((out / "config.json").read_text())
    assert saved["model"]["n_layer"] == 1 and saved["train"]["max_steps"] == 3

    assert _train(corpus, out, "--max-steps", "5") == 0  # resumes from step 3
    summary = json.loads(capsys.readouterr().out)
    assert summary["step"] == 5 and summary["steps_run"] == 2

    model, tok = load_model(out)
    assert model.config.n_embd == 32
    assert len(generate(model, tok, ["def f("], n=2, strategy="sample", seed=0, max_new_tokens=4)[0]) == 2

    assert _train(corpus, out, "--max-steps", "2", "--fresh") == 0
    assert json.loads(capsys.readouterr().out)["steps_run"] == 2


def test_resume_reproduces_an_uninterrupted_run(corpus, tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert _train(corpus, a, "--max-steps", "4") == 0
    assert _train(corpus, b, "--max-steps", "2") == 0
    assert _train(corpus, b, "--max-steps", "4") == 0
    capsys.readouterr()
    wa, _ = load_model(a)
    wb, _ = load_model(b)
    for (name, pa), pb in zip(wa.state_dict().items(), wb.state_dict().values()):
        torch.testing.assert_close(pa, pb, rtol=1e-5, atol=1e-6, msg=name)


@pytest.mark.parametrize("args, message", [
    ([], "give --functions"),
    (["--files", "/nonexistent/dir"], "no such file"),
    (["--files", ".", "--model", "n_layers=2"], "KEY=VALUE"),
    (["--files", ".", "--valid-fraction", "1.5"], "valid-fraction"),
])
def test_cli_bad_input_is_one_line_error(args, message, tmp_path, capsys):
    assert main(["--out", str(tmp_path / "o"), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err and err.count("\n") == 1
