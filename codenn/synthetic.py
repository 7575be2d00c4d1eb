"""A seeded synthetic description->code task in the dataset layout, for tests and throughput runs.

Each pair has two hidden attributes (a, b). The description says them with words `da..` and
`db..`; the code says them in other vocabularies (name `na..`, API call `api...op..`, tokens
`tb..`), so a model scores well only by learning the cross-vocabulary mapping. Noise words are
mixed in; a fraction of functions have no API call at all. Valid/test pairs have distinct (a, b),
so every query has exactly one right answer.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from preprocess.hdf5 import write_field
from preprocess.text import Vocab

FIELDS = ("name", "apiseq", "tokens", "desc")


def w(prefix: str, i: int) -> str:
    """A lower-case word that every shared tokenizer keeps whole: w('da', 27) == 'dabb'."""
    return prefix + chr(97 + i // 26 % 26) + chr(97 + i % 26)


def make_pair(a: int, b: int, rng: np.random.Generator, n_noise: int, empty_api: bool) -> dict[str, list[str]]:
    noise = lambda k: [w("x", int(i)) for i in rng.integers(0, n_noise, k)]  # noqa: E731
    desc = [w("da", a), w("db", b)] + noise(int(rng.integers(0, 3)))
    rng.shuffle(desc)
    tokens = [w("tb", b)] + noise(int(rng.integers(1, 6)))
    rng.shuffle(tokens)
    return {
        "name": [w("na", a)] + noise(int(rng.integers(0, 2))),
        "apiseq": [] if empty_api else [f"{w('api', a)}.{w('op', b)}"] + noise(int(rng.integers(0, 3))),
        "tokens": tokens,
        "desc": desc,
    }


def make_split(combos: np.ndarray, rng: np.random.Generator, n_noise: int, empty_api_frac: float) -> list[dict]:
    return [make_pair(int(a), int(b), rng, n_noise, bool(rng.random() < empty_api_frac)) for a, b in combos]


def write_synthetic_dataset(out: str | Path, n_train: int = 2000, n_eval: int = 100, n_a: int = 20, n_b: int = 20,
                            n_noise: int = 50, empty_api_frac: float = 0.1, seed: int = 0) -> Path:
    """Write {train,valid,test,use}.{field}.h5 and vocab.{field}.json into out; return out."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    every = np.array([(a, b) for a in range(n_a) for b in range(n_b)])
    if n_eval > len(every):
        raise ValueError(f"n_eval={n_eval} exceeds the {len(every)} distinct (a, b) combinations")
    splits = {
        "train": make_split(every[rng.integers(0, len(every), n_train)], rng, n_noise, empty_api_frac),
        "valid": make_split(every[rng.permutation(len(every))[:n_eval]], rng, n_noise, empty_api_frac),
        "test": make_split(every[rng.permutation(len(every))[:n_eval]], rng, n_noise, empty_api_frac),
    }
    splits["use"] = splits["train"] + splits["valid"] + splits["test"]
    vocabs = {f: Vocab.build(r[f] for r in splits["train"]) for f in FIELDS}
    for f, v in vocabs.items():
        (out / f"vocab.{f}.json").write_text(v.to_json(), encoding="utf-8")
    for split, recs in splits.items():
        for f in FIELDS:
            write_field(out / f"{split}.{f}.h5", [vocabs[f].encode(r[f]) for r in recs])
    return out


def synthetic_records(out: str | Path, split: str = "test") -> list[dict[str, str]]:
    """The split's pairs as functions.csv-style strings (name, apiseq, tokens, desc), decoded from out."""
    from preprocess.hdf5 import read_field
    out = Path(out)
    vocabs = {f: Vocab.load(out / f"vocab.{f}.json") for f in FIELDS}
    cols = {f: read_field(out / f"{split}.{f}.h5") for f in FIELDS}
    sep = {"name": "_", "apiseq": " ", "tokens": " ", "desc": " "}
    n = len(cols["desc"])
    return [{f: sep[f].join(vocabs[f].decode(cols[f][i].tolist())) for f in FIELDS} for i in range(n)]
