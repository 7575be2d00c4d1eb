"""Dataset stage: cleaning rules, repository split, vocabularies, HDF5 round trip, determinism."""
import json
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from preprocess.csvio import write_functions
from preprocess.dataset import DatasetConfig, build_dataset
from preprocess.hdf5 import read_field, write_field
from preprocess.reader import CodeSearchDataset
from preprocess.text import Vocab, tokenize_apiseq, tokenize_desc, tokenize_name

WORDS = "read write parse load save json file path list dict sort merge split join open close".split()


def synthetic_rows(n_repos=30, per_repo=12):
    rows, i = [], 0
    rng = np.random.default_rng(0)
    for r in range(n_repos):
        for k in range(per_repo):
            w = rng.choice(WORDS, 3, replace=False)
            name = f"{w[0]}_{w[1]}_{k}"
            code = f"def {name}(x):\n    return {w[2]}(x) + {r * 100 + k}\n"
            rows.append(dict(id=i, repo=f"org/repo{r}", path="m.py", start_line=1, end_line=2, url="u",
                             language="python", name=name, apiseq=f"os.{w[2]} self.{w[0]}",
                             tokens=" ".join(w), desc=f"{w[0].capitalize()} the {w[1]} with {w[2]}.", code=code))
            i += 1
    # rows that must not become training pairs
    extra = [("__init__", "Init it.", "def __init__(self):\n    pass\n"),
             ("f", "Short name.", "def f():\n    return 1\n"),
             ("undocumented", "", "def undocumented():\n    return 2\n"),
             ("read_copy_0", "Duplicate code with another docstring.", rows[0]["code"].replace("\n    return", "\n    # comment\n    return"))]
    for name, desc, code in extra:
        rows.append(dict(rows[0], id=i, name=name, desc=desc, code=code, repo="org/extra"))
        i += 1
    return rows


def build(tmp_path, name="ds"):
    csv_path = tmp_path / "functions.csv"
    write_functions(csv_path, synthetic_rows())
    out = tmp_path / name
    stats = build_dataset(csv_path, out, DatasetConfig(workers=2, progress=False))
    return stats, out


def test_cleaning_split_and_counts(tmp_path):
    stats, out = build(tmp_path)
    assert stats.functions == 364
    assert dict(stats.dropped) == {"dunder names": 1, "short names": 1, "no description": 1, "duplicates": 1}
    assert sum(stats.pairs.values()) == 360
    assert stats.pairs["train"] > stats.pairs["valid"] > 0 and stats.pairs["test"] > 0
    repos = json.loads((out / "stats.json").read_text())["repos"]
    sets = [set(repos[s]) for s in ("train", "valid", "test")]
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    assert len(json.loads((out / "use.ids.json").read_text())) == 364  # every function stays searchable


def test_hdf5_round_trips_token_sequences(tmp_path):
    _, out = build(tmp_path)
    rows = {r["id"]: r for r in synthetic_rows()}
    ids = json.loads((out / "train.ids.json").read_text())
    names = read_field(out / "train.name.h5")
    descs = read_field(out / "train.desc.h5")
    apis = read_field(out / "train.apiseq.h5")
    vn, vd, va = (Vocab.load(out / f"vocab.{f}.json") for f in ("name", "desc", "apiseq"))
    assert vn.itos[:4] == ["<pad>", "<s>", "</s>", "<unk>"]
    for i, fid in enumerate(ids):
        assert vn.decode(names[i].tolist()) == tokenize_name(rows[fid]["name"])
        assert vd.decode(descs[i].tolist()) == tokenize_desc(rows[fid]["desc"])
        assert va.decode(apis[i].tolist()) == tokenize_apiseq(rows[fid]["apiseq"])


def test_write_read_field_with_empty_sequences(tmp_path):
    seqs = [[5, 6, 7], [], [8], []]
    write_field(tmp_path / "x.h5", seqs)
    assert [s.tolist() for s in read_field(tmp_path / "x.h5")] == seqs


def test_rebuild_is_byte_identical(tmp_path):
    _, a = build(tmp_path, "a")
    _, b = build(tmp_path, "b")
    files = sorted(p.name for p in a.iterdir())
    assert files == sorted(p.name for p in b.iterdir())
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_reader_yields_padded_batches(tmp_path):
    _, out = build(tmp_path)
    ds = CodeSearchDataset(out, "train", max_lens={"desc": 4})
    batch = next(iter(DataLoader(ds, batch_size=8)))
    assert batch["desc"].shape == (8, 4) and batch["desc"].dtype == torch.int64
    assert batch["name"].shape == (8, 6)
    assert (batch["desc_len"] <= 4).all() and (batch["desc_len"] > 0).all()
    # padding is 0 exactly beyond each length
    for row, n in zip(batch["name"], batch["name_len"]):
        assert (row[n:] == 0).all() and (row[:n] != 0).all()


def test_tokenizers():
    assert tokenize_name("parseHTTPResponse_v2") == ["parse", "http", "response", "v", "2"]
    assert tokenize_apiseq("self.cache.update os.path.join super.__init__ json.load") == [
        "cache.update", "path.join", "__init__", "json.load"]
    assert tokenize_desc("Return the JSON-encoded `fooBar`.") == ["return", "the", "json", "encoded", "foo", "bar"]


def tiny_wordpiece(path):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator([" ".join(WORDS)] * 10, trainers.WordPieceTrainer(vocab_size=60, special_tokens=["[UNK]"]))
    tok.save(str(path))
    return path


def subword_dataset(folder: Path, name: str = "ds") -> Path:
    """synthetic_rows() as folder/functions.csv and a subword dataset of them in folder/name."""
    write_functions(folder / "functions.csv", synthetic_rows())
    out = folder / name
    build_dataset(folder / "functions.csv", out,
                  DatasetConfig(workers=1, progress=False, subword=str(tiny_wordpiece(folder / "wp.json"))))
    return out


def test_subword_mode_shares_one_vocabulary(tmp_path):
    from preprocess.text import FieldTokenizer

    out = subword_dataset(tmp_path, "sub")
    vocabs = {f: (out / f"vocab.{f}.json").read_text() for f in ("name", "apiseq", "tokens", "desc")}
    assert len(set(vocabs.values())) == 1
    tok = FieldTokenizer.load(out)
    assert tok.subword is not None
    v = Vocab.load(out / "vocab.desc.json")
    rows = {r["id"]: r for r in synthetic_rows()}
    ids = json.loads((out / "train.ids.json").read_text())
    descs = read_field(out / "train.desc.h5")
    assert v.decode(descs[0].tolist()) == tok.tokenize("desc", rows[ids[0]]["desc"])
    assert tok.tokenize("apiseq", "os.path.join") == tok.tokenize("desc", "path join")


def test_pairs_are_taken_from_every_language_and_counted(tmp_path):
    rows = synthetic_rows()
    for r in rows[:60]:   # five repositories of JavaScript and Go
        lang = "javascript" if r["repo"] < "org/repo3" else "go"
        r.update(language=lang, code=r["code"].replace("def ", "function " if lang == "javascript" else "func "))
    rows.append(dict(rows[0], id=len(rows), name="Cache.__init__", desc="Init.", repo="org/extra"))
    csv_path = tmp_path / "functions.csv"
    write_functions(csv_path, rows)
    stats = build_dataset(csv_path, tmp_path / "ds", DatasetConfig(workers=2, progress=False))
    totals = {}
    for per in stats.pairs_by_language.values():
        for lang, n in per.items():
            totals[lang] = totals.get(lang, 0) + n
    assert totals == {"javascript": 36, "go": 24, "python": 301}   # the duplicate of row 0 is one no more
    assert stats.dropped["dunder names"] == 2          # `Cache.__init__` is a dunder by its own name
    saved = json.loads((tmp_path / "ds" / "stats.json").read_text())["stats"]["pairs_by_language"]
    assert saved == stats.pairs_by_language
    assert "by language: go 24, javascript 36, python 301" in stats.summary()
