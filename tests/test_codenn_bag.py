"""The bag-of-subwords CODEnn variant: shapes, empty fields, training through the generic trainer."""
import json

import numpy as np
import pytest
import torch

import codenn
from codenn.bag import BagEmbedder
from codenn.config import build_config
from codenn.encoder import unit
from codenn.init import idf_weights
from codenn.metrics import mrr, whole_split_ranks
from codenn.model import ModelConfig
from codenn.train import main as train_main
from preprocess.csvio import read_functions
from tests.test_dataset import subword_dataset


def batch(B=4, T=5, V=50, empty_api=True):
    g = torch.Generator().manual_seed(0)
    out = {}
    for f in ("name", "apiseq", "tokens", "desc"):
        out[f] = torch.randint(1, V, (B, T), generator=g)
        out[f"{f}_len"] = torch.full((B,), T)
    if empty_api:
        out["apiseq"].zero_()
        out["apiseq_len"].zero_()
    return out


def test_shapes_and_empty_fields_are_finite():
    m = BagEmbedder(ModelConfig(n_name=50, n_apiseq=50, n_tokens=50, n_desc=50, emb_size=16, arch="bag"))
    code, desc = m(batch())
    assert code.shape == desc.shape == (4, 16)
    assert torch.isfinite(code).all() and torch.isfinite(desc).all()
    b = batch()
    b["desc"].zero_()
    b["desc_len"].zero_()
    loss = m(b)[1].sum() + m(b)[0].sum()
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in m.parameters() if p.grad is not None)


def test_bag_needs_one_shared_vocabulary():
    with pytest.raises(ValueError, match="shared subword vocabulary"):
        BagEmbedder(ModelConfig(n_name=50, n_apiseq=60, n_tokens=50, n_desc=50, arch="bag"))


def test_idf_weights():
    arrays = {"name": torch.tensor([[4, 5], [4, 0]]), "name_len": torch.tensor([2, 1]),
              "apiseq": torch.zeros(2, 1, dtype=torch.long), "apiseq_len": torch.tensor([0, 0]),
              "tokens": torch.tensor([[4], [6]]), "tokens_len": torch.tensor([1, 1])}
    idf = idf_weights(arrays, 8)
    assert idf[4] == pytest.approx(np.log(3 / 3) + 1) and idf[5] == pytest.approx(np.log(3 / 2) + 1)
    assert idf[7] == pytest.approx(np.log(3) + 1)


def test_bag_model_trains_and_loads(tmp_path):
    torch.set_num_threads(1)
    data = subword_dataset(tmp_path)
    out = tmp_path / "model"
    args = ["--data", str(data), "--out", str(out), "--config", "bag", "--no-progress",
            "--set", "model.init=random", "--set", "model.emb_size=32", "--set", "train.batch_size=32",
            "--set", "train.epochs=6", "--set", "train.lr=1e-2", "--set", "train.projector_size=0"]
    assert train_main(args) == 0
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert history[-1]["mrr"] > 0.3  # 36 validation pairs: random ranking gives ~0.12
    enc = codenn.load(out)
    assert (out / "subword.json").exists() and enc.dim == 32
    rows = list(read_functions(tmp_path / "functions.csv"))[:20]
    xb = enc.encode_functions(rows)
    assert xb.shape == (20, 32) and np.isfinite(xb).all()
    # a documented function's vector adds its docstring's description vector to its code vector
    code_only = enc.encode_functions([dict(r, desc="") for r in rows])
    np.testing.assert_allclose(xb, unit(code_only) + unit(enc.encode_texts([r["desc"] for r in rows])), atol=1e-5)
    # the word "python" says nothing in a Python index
    np.testing.assert_allclose(enc.encode_queries(["python read json"]), enc.encode_queries(["read json"]), atol=1e-6)
