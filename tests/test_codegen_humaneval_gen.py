"""Generate mode: retrieval-augmented prompts (fake retriever), Hugging Face and local models."""
from __future__ import annotations

import json

import pytest

from codegen import rag
from codegen.humaneval.cli import main
from codegen.humaneval.data import default_bench_dir, load_problems, read_samples
from codegen.humaneval.generation import GenerationConfig, generate_samples, load_completer
from codegen.humaneval.languages import context

BENCH = default_bench_dir()
pytestmark = pytest.mark.skipif(not (BENCH / "HumanEval.jsonl.gz").is_file(),
                                reason=f"benchmark data not found under {BENCH}")
CODE = ["def add(a, b):\n    return a + b\n", "int main() { return 0; }\n",
        "def close(xs, t):\n    return any(abs(a - b) < t for a in xs for b in xs)\n"] * 20


class FakeRetriever:
    """Return canned snippets and remember every query."""

    def __init__(self, snippets):
        self.snippets, self.calls = snippets, []

    def __call__(self, query: str, k: int) -> list[str]:
        self.calls.append((query, k))
        return self.snippets[:k]


class RecordingCompleter:
    """A stand-in model: records prompts and returns a body followed by trailing junk."""

    def __init__(self, text: str):
        self.text, self.prompts = text, []

    def complete(self, prompt, n, *, temperature, top_p, max_new_tokens, stop, seed):
        self.prompts.append(prompt)
        return [self.text] * n


def test_query_is_the_description_without_examples():
    he = load_problems(BENCH, "humaneval")["HumanEval/0"]
    q = rag.query_of(context(he, "humaneval"), "humaneval")
    assert q.startswith("Check if in given list of numbers, are any two numbers closer")
    assert ">>>" not in q and "True" not in q
    cpp = load_problems(BENCH, "cpp")["CPP/0"]
    assert rag.query_of(context(cpp, "cpp"), "cpp").startswith("Check if in given vector of numbers")
    go = load_problems(BENCH, "go")["Go/0"]
    qg = rag.query_of(context(go, "go"), "go")
    assert qg.startswith("Check if in given list of numbers") and "HasCloseElements(" not in qg


def test_build_prompt_orders_budgets_and_dedups():
    cfg = rag.RagConfig(k=4, max_snippet_chars=60, max_total_chars=150)
    long = "def long():\n" + "    x = 1\n" * 20
    snippets = ["def a():\n    return 1\n", "def a():\n    return 1\n", long, "def b():\n    return 2\n"]
    prompt = rag.build_prompt("def f(x):\n", "python", snippets, cfg)
    assert prompt.endswith("def f(x):\n")
    block = prompt[: -len("def f(x):\n")]
    assert block.count("def a():") == 1 and block.index("def a():") < block.index("def long():")
    assert len(block) <= cfg.max_total_chars
    cut = block[block.index("def long():"):]
    assert cut.count("x = 1") < 20 and "\n    x = 1\n" in cut  # cut at a line boundary
    java = rag.build_prompt("class Solution {\n", "java", ["/* c */ def g(): pass"], cfg)
    assert java.startswith("/* Related python code:") and "* /" in java and java.count("*/") == 1


def test_generate_samples_puts_retrieved_code_in_the_prompt():
    problems = dict(list(load_problems(BENCH, "humaneval").items())[:2])
    retriever = FakeRetriever(["def helper_from_index(xs):\n    return sorted(xs)\n", "def other():\n    pass\n"])
    completer = RecordingCompleter("    return 1\nprint('junk')\n")
    cfg = GenerationConfig(n=3, language_tag=False)
    samples = generate_samples(problems, "humaneval", completer, cfg, "local", retriever,
                               rag.RagConfig(k=1), progress=False)
    assert [q for q, _ in retriever.calls][0].startswith("Check if in given list")
    assert all(k == 1 for _, k in retriever.calls)
    for prompt, problem in zip(completer.prompts, problems.values()):
        assert prompt.startswith("def helper_from_index") and "def other" not in prompt
        assert prompt.endswith(problem["prompt"])
    assert [s.task_id for s in samples] == ["HumanEval/0"] * 3 + ["HumanEval/1"] * 3
    assert {s.completion for s in samples} == {"    return 1\n"}  # stop rule applied
    plain = RecordingCompleter("    return 1\n")
    generate_samples(problems, "humaneval", plain, GenerationConfig(n=1, language_tag=False), "local",
                     progress=False)
    assert plain.prompts == [p["prompt"] for p in problems.values()]


def test_cli_retrieve_needs_an_index(tmp_path, capsys):
    assert main(["--generate", "--model", str(tmp_path), "--samples", str(tmp_path / "s.jsonl"),
                 "--retrieve", "2"]) == 2
    assert "--index" in capsys.readouterr().err
    assert main(["--generate", "--model", str(tmp_path), "--samples", str(tmp_path / "s.jsonl"),
                 "--retrieve", "2", "--index", str(tmp_path)]) == 2
    assert "make index" in capsys.readouterr().err


@pytest.fixture(scope="module")
def hf_model(tmp_path_factory):
    """A tiny randomly initialised GPT-2 with its own BPE, saved like any Hugging Face model."""
    transformers = pytest.importorskip("transformers")
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    folder = tmp_path_factory.mktemp("tiny-hf")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(CODE, trainers.BpeTrainer(
        vocab_size=320, special_tokens=["<|endoftext|>"], show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>")
    fast.save_pretrained(folder)
    torch.manual_seed(0)
    cfg = transformers.GPT2Config(vocab_size=len(fast), n_positions=96, n_embd=32, n_layer=2, n_head=2,
                                  bos_token_id=fast.eos_token_id, eos_token_id=fast.eos_token_id)
    transformers.GPT2LMHeadModel(cfg).save_pretrained(folder)
    return folder


def test_hf_completer_is_seeded_and_honours_the_stop_rule(hf_model):
    completer, backend = load_completer(hf_model, GenerationConfig(backend="auto"))
    assert backend == "hf"
    kw = dict(temperature=1.0, top_p=1.0, max_new_tokens=24)
    a = completer.complete("def f(x):\n", 3, seed=5, stop=None, **kw)
    assert a == completer.complete("def f(x):\n", 3, seed=5, stop=None, **kw)
    assert len(a) == 3 and all(isinstance(t, str) for t in a)
    short = completer.complete("def f(x):\n", 3, seed=5, stop=lambda t: len(t) >= 2, **kw)
    assert all(len(s) < len(t) for s, t in zip(short, a) if len(t) > 8)
    # A prompt far longer than the 96-token context is left-truncated, not rejected.
    assert len(completer.complete("x = 1\n" * 500, 1, seed=0, stop=None, **kw)) == 1


def test_cli_generates_with_a_hugging_face_model_and_scores(hf_model, tmp_path, capsys):
    samples = tmp_path / "gen.jsonl"
    rc = main(["--generate", "--model", str(hf_model), "--lang", "humaneval", "--limit", "2",
               "--n", "2", "--max-new-tokens", "12", "--samples", str(samples), "--k", "1,2",
               "--json", "--workers", "2", "--no-progress"])
    assert rc == 0
    report = json.loads(capsys.readouterr().out)["humaneval"]
    assert report["n_problems"] == 2 and report["n_samples"] == 4
    assert report["pass@1"] == 0.0 and report["solved"] == 0  # random weights solve nothing
    got = read_samples(samples)
    assert [s.task_id for s in got] == ["HumanEval/0"] * 2 + ["HumanEval/1"] * 2
    assert (tmp_path / "gen_results.jsonl").is_file()


def test_local_model_folder_generates_through_codegen_sample(tmp_path):
    checkpoint = pytest.importorskip("codegen.checkpoint")
    from codegen.config import ModelConfig
    from codegen.model import CodeGeeX
    from codegen.tokenizer import TokenizerConfig, train_tokenizer

    tok = train_tokenizer(CODE, TokenizerConfig(vocab_size=300, min_frequency=1))
    model = CodeGeeX(ModelConfig(vocab_size=tok.vocab_size, n_ctx=64, n_layer=1, n_head=2, n_embd=32))
    checkpoint.save_model(tmp_path, model)
    tok.save(tmp_path / checkpoint.TOKENIZER)
    completer, backend = load_completer(tmp_path, GenerationConfig())
    assert backend == "local"
    problems = dict(list(load_problems(BENCH, "js").items())[:1])
    samples = generate_samples(problems, "js", completer, GenerationConfig(n=2, max_new_tokens=16),
                               backend, progress=False)
    assert len(samples) == 2 and all(s.task_id == "JavaScript/0" for s in samples)
