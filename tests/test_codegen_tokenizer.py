"""Tests for codegen.tokenizer and the corpus helpers in codegen.data."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codegen import data
from codegen.tokenizer import CodeTokenizer, TokenizerConfig, language_tag, main, train_tokenizer

CODE = '''
def parse(path, *, strict=True):
    """Read a file and return its lines."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield line.rstrip("\\n")


class Config:
    def __init__(self, name):
        self.name = name
        self.values = {}
'''


@pytest.fixture(scope="module")
def tok() -> CodeTokenizer:
    return train_tokenizer([CODE] * 20, TokenizerConfig(vocab_size=400, max_whitespace=10))


TRICKY = [
    "", " ", "  ", "\t\t  x", "a" * 3 + " " * 37 + "b", "x\r\n  y\n", "é 中文 😀 \u00a0\u2028",
    "literal <|endoftext|> in code", "\x00\x01\x7f", "   leading and trailing   ",
    "line\n" + " " * 11 + "eleven",
]


@pytest.mark.parametrize("text", TRICKY)
def test_round_trip_tricky(tok, text):
    assert tok.decode(tok.encode(text)) == text


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=80))
def test_round_trip_any_text(tok, text):
    assert tok.decode(tok.encode(text)) == text


def test_space_runs_are_single_tokens(tok):
    for n in range(2, 11):
        ids = tok.encode(" " * n + "x")
        assert tok.decode(ids[:1]) == " " * n
    # 23 spaces = 10 + 10 + 3: greedy longest runs
    ids = tok.encode(" " * 23)
    assert [tok.decode([i]) for i in ids] == [" " * 10, " " * 10, " " * 3]


def test_literal_eos_text_is_not_the_eos_token(tok):
    assert tok.eos_id not in tok.encode("x = '<|endoftext|>'")


def test_language_tag_and_sample(tok):
    assert language_tag("Python") == "# language: Python\n"
    assert language_tag("java") == "// language: Java\n"
    ids = tok.encode_sample("print(1)", "python")
    assert tok.decode(ids) == "# language: Python\nprint(1)"


def test_save_and_load(tok, tmp_path):
    tok.save(tmp_path / "t.json")
    again = CodeTokenizer.from_file(tmp_path / "t.json")
    assert again.vocab_size == tok.vocab_size
    assert again.encode(CODE) == tok.encode(CODE)
    assert again.encode("<|endoftext|>") == tok.encode("<|endoftext|>")


def test_cli_train_from_files(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.py").write_text(CODE)
    (src / "b.py").write_text(CODE.replace("parse", "load"))
    (src / "notes.txt").write_text("not code")
    out = tmp_path / "run" / "tokenizer.json"
    assert main(["train", "--files", str(src), "--out", str(out), "--vocab-size", "300"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["samples"] == 2
    assert CodeTokenizer.from_file(out).decode(CodeTokenizer.from_file(out).encode(CODE)) == CODE


def test_cli_bad_input_is_one_line_error(tmp_path, capsys):
    assert main(["train", "--files", str(tmp_path / "missing"), "--out", str(tmp_path / "t.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and err.count("\n") == 1


def test_read_functions_csv(tmp_path):
    import csv

    path = tmp_path / "functions.csv"
    cols = ["id", "repo", "path", "start_line", "end_line", "url", "language", "name", "apiseq",
            "tokens", "desc", "code"]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, cols)
        w.writeheader()
        w.writerow({c: "" for c in cols} | {"repo": "r", "path": "a.py", "language": "python",
                                            "code": "def f():\n    return 1\n"})
        w.writerow({c: "" for c in cols} | {"repo": "r", "path": "b.py", "language": "python", "code": " "})
    samples = data.load_samples(str(path))
    assert [s.code for s in samples] == ["def f():\n    return 1\n"]
    assert samples[0].source == "r/a.py"


def test_split_is_by_file_and_deterministic():
    samples = [data.Sample(f"x = {i}\n", "python", f"repo/f{i // 3}.py") for i in range(300)]
    train, held = data.split(samples, 0.2)
    assert train and held and len(train) + len(held) == 300
    assert not {s.source for s in train} & {s.source for s in held}
    assert data.split(samples, 0.2) == (train, held)


def test_pack_shapes_and_content():
    docs = [[5, 6, 7], [8, 9]]
    segs = data.pack(docs, seq_len=3, eos_id=0, seed=0)
    assert segs.shape == (1, 4)  # stream of 7 tokens -> one segment of 4, tail dropped
    flat = segs.flatten().tolist()
    assert flat in ([5, 6, 7, 0], [8, 9, 0, 5])
    tiny = data.pack([[1]], seq_len=8, eos_id=0)
    assert tiny.tolist() == [[1] + [0] * 8]


def test_read_source_files_skips_non_code(tmp_path):
    (tmp_path / "x.py").write_text("a = 1\n")
    (tmp_path / "y.bin").write_bytes(b"\xff\xfe")
    (tmp_path / "z.py").write_bytes(b"\xff\xfe not utf8")
    got = list(data.read_source_files([tmp_path]))
    assert [Path(s.source).name for s in got] == ["x.py"]
