"""The index with a real (tiny, briefly trained) CODEnn model directory: the contract end to end."""
import json

import numpy as np
import pytest
import torch

import codenn
from codenn.synthetic import synthetic_records, write_synthetic_dataset
from codenn.train import main as train_main
from index.build import build_index
from index.errors import ModelMismatchError, ModelMissingError
from index.manifest import IndexConfig
from index.searcher import Searcher

SMALL = ["model.emb_size=32", "model.lstm_hidden=32", "model.bow_hidden=64", "train.batch_size=64",
         "train.lr=5e-3", "train.threads=1", "train.log_every=50"]


@pytest.fixture(scope="module")
def model_and_records(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("codenn")
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        data = write_synthetic_dataset(tmp / "dataset", n_train=1280, seed=0)
        args = ["--data", str(data), "--out", str(tmp / "model"), "--no-progress", "--epochs", "4"]
        for s in SMALL:
            args += ["--set", s]
        assert train_main(args) == 0
    finally:
        torch.set_num_threads(n)
    records = [dict(r, id=i, repo=f"org/r{i % 3}", path=f"m{i}.py", start_line=1, end_line=2, url=f"u#L1-L2",
                    language="python", code=f"def {r['name']}():\n    {r['apiseq'] or 'pass'}\n")
               for i, r in enumerate(synthetic_records(data, "test"))]
    return tmp / "model", records


def test_index_with_a_trained_model_finds_the_described_function(model_and_records, tmp_path):
    model, records = model_and_records
    m = build_index(records, model, tmp_path / "ix", IndexConfig(progress=False))
    assert m["model"]["identity"] == codenn.load(model).identity and m["model"]["dir"] == str(model.resolve())
    s = Searcher.open(tmp_path / "ix")  # the model directory comes from the manifest
    top1 = np.mean([s.search(r["desc"], k=1, mode="neural").hits[0].id == r["id"] for r in records])
    assert top1 >= 0.8
    hybrid = [s.search(r["desc"], k=10).hits for r in records[:20]]
    assert np.mean([any(h.id == r["id"] for h in hits) for r, hits in zip(records, hybrid)]) >= 0.8
    # queries the model has no word for, or no word at all, still give an answer and never fail
    for q in ("zzzz qqqq", "读取文件", "!!!", "the of and"):
        for mode in ("neural", "lexical", "hybrid"):
            s.search(q, k=5, mode=mode)


def test_a_retrained_model_is_refused(model_and_records, tmp_path):
    model, records = model_and_records
    build_index(records[:30], model, tmp_path / "ix", IndexConfig(progress=False))
    other = tmp_path / "other"
    other.mkdir()
    for f in model.iterdir():
        if f.is_file():
            (other / f.name).write_bytes(f.read_bytes())
    from safetensors.torch import load_file, save_file
    weights = load_file(str(other / "model.safetensors"))
    save_file({k: v + 0.01 for k, v in weights.items()}, str(other / "model.safetensors"))
    with pytest.raises(ModelMismatchError, match=json.loads((tmp_path / "ix" / "manifest.json").read_text())
                       ["model"]["identity"]):
        Searcher.open(tmp_path / "ix", other)


def test_a_missing_model_directory_is_named(model_and_records, tmp_path):
    model, records = model_and_records
    moved = tmp_path / "model"
    import shutil
    shutil.copytree(model, moved)
    build_index(records[:20], moved, tmp_path / "ix", IndexConfig(progress=False))
    shutil.rmtree(moved)
    with pytest.raises(ModelMissingError, match=f"missing at {moved}"):
        Searcher.open(tmp_path / "ix")
