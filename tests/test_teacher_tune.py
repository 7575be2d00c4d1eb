"""The teacher fine-tune: typed query forms, split-safe pairs, shipped layers, resumable training."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from codenn.teacher_tune.pairs import Pair, PairsConfig, build_pairs, chosen_forms
from preprocess.csvio import write_functions
from preprocess.dataset import build_dataset
from preprocess.query_forms import base_verb, keywords, name_phrase, plain, query_forms
from tests.test_dataset import synthetic_rows


def test_query_forms_exact():
    assert query_forms("Returns the parsed contents of the JSON file at *path*.", "load_json_file", "python") == [
        "Returns the parsed contents of the JSON file at *path*.",
        "return parsed contents json file path",
        "how to return parsed contents json file path",
        "python return parsed contents json file path",
        "load json file"]
    assert query_forms("Applies a function to each element of the list.", "Mapper.applyAll", "javascript") == [
        "Applies a function to each element of the list.", "apply function element list",
        "how to apply function element list", "javascript apply function element list", "mapper apply all"]
    assert plain("Processes incoming HTTP requests and dispatches them.") == "process incoming http requests dispatches"
    assert keywords("Sort the list, then sort it again by `key`.") == "sort list again key"
    assert name_phrase("parse_http_date") == "parse http date" and name_phrase("Cookie.getValue") == "cookie get value"
    assert [base_verb(w) for w in ("returns", "applies", "matches", "is", "class", "gets")] == [
        "return", "apply", "match", "is", "class", "get"]
    # one-word forms say nothing a query would: left out (the docstring and the name here)
    assert query_forms("Run.", "go", "go") == ["how to run", "go run"]


@pytest.fixture
def dataset(tmp_path) -> tuple[Path, Path]:
    rows = synthetic_rows()
    csv = tmp_path / "functions.csv"
    write_functions(csv, rows)
    build_dataset(csv, tmp_path / "ds")
    return tmp_path / "ds", csv


def test_no_function_on_both_sides_of_the_split(dataset):
    data, csv = dataset
    train_ids = json.loads((data / "train.ids.json").read_text())
    valid_ids = json.loads((data / "valid.ids.json").read_text())
    # a valid function whose code is a train function's (another copy the dedup could not see)
    from preprocess.csvio import read_functions
    rows = list(read_functions(csv))
    twin = dict(rows[int(train_ids[0])], id=len(rows), repo="org/twin")
    write_functions(csv, rows + [twin])
    (data / "valid.ids.json").write_text(json.dumps(valid_ids + [twin["id"]]))
    train = build_pairs(data, csv, PairsConfig("train"))
    valid = build_pairs(data, csv, PairsConfig("valid"), other_splits=("train", "test"))
    t_ids = {p.function_id for p in train}
    assert int(train_ids[0]) not in t_ids                       # dropped: its code is on the valid side
    assert len(t_ids) == len(train_ids) - 1
    assert not t_ids & {p.function_id for p in valid}
    assert not {p.code for p in train} & {p.code for p in valid}
    assert {p.repo for p in train}.isdisjoint({p.repo for p in valid})
    # seeded: the same pairs again; forms come from the function's docstring
    assert [(p.query, p.function_id) for p in build_pairs(data, csv, PairsConfig("train"))] == \
           [(p.query, p.function_id) for p in train]
    two = build_pairs(data, csv, PairsConfig("train", forms_per_function=2))
    assert len(two) == 2 * len(train) and len({p.function_id for p in two}) == len(train)


def test_chosen_forms_rotate_between_docstring_and_rewrites():
    rows = [dict(id=i, desc="Read the JSON file at path.", name="read_json", language="python") for i in range(200)]
    picked = [chosen_forms(r, PairsConfig())[0] for r in rows]
    assert 60 < sum(p == "Read the JSON file at path." for p in picked) < 140
    assert set(picked) <= set(query_forms("Read the JSON file at path.", "read_json", "python"))


PAIRS = [Pair(f"read {w} file", f"def read_{w}(path):\n    return open(path).read()\n", i, "org/r", "python")
         for i, w in enumerate("json csv xml yaml toml ini text bytes log html css svg png gif".split())]


@pytest.mark.filterwarnings("ignore")
def test_training_resumes_and_ships_only_trained_layers(tmp_path, monkeypatch):
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("datasets")
    from codenn.code_teacher import CodeTeacher, TeacherConfig
    from codenn.teacher_tune import weights
    from codenn.teacher_tune.train import TuneConfig, train
    cfg = TuneConfig(max_tokens=16, batch_size=4, mini_batch_size=2, max_steps=2, save_steps=1,
                     frozen_layers=5, threads=1, lr=1e-3, warmup_ratio=0.0)
    _, resumed = train(PAIRS[:12], PAIRS[12:], tmp_path / "run", cfg, progress=False)
    assert resumed is None and (tmp_path / "run" / "checkpoint-2").is_dir()
    model, resumed = train(PAIRS[:12], PAIRS[12:], tmp_path / "run", TuneConfig(**{**vars(cfg), "max_steps": 3}),
                           progress=False)
    assert resumed.endswith("checkpoint-2")
    state = json.loads((tmp_path / "run" / "checkpoint-3" / "trainer_state.json").read_text())
    assert state["global_step"] == 3
    # shipped: the top layer (and the pooler) only, in fp16; loading it over the base gives the tuned vectors
    monkeypatch.setattr(weights, "PRETRAINED", tmp_path)
    weights.export_tuned(model, 5, tmp_path / "teacher-t1", {"base": "all-MiniLM-L6-v2"})
    from safetensors.numpy import load_file
    names = set(load_file(str(tmp_path / "teacher-t1" / weights.LAYERS)))
    assert names and all(n.startswith(("encoder.layer.5.", "pooler.")) for n in names)
    tuned = CodeTeacher(TeacherConfig(weights="t1", max_tokens=16, int8=False))
    stock = CodeTeacher(TeacherConfig(max_tokens=16, int8=False))
    texts = [p.code for p in PAIRS[:3]]
    want = model.encode(texts, normalize_embeddings=True)
    assert abs(tuned.encode(texts) - want).max() < 2e-3            # fp16 layers: close to the trained model
    assert abs(stock.encode(texts) - want).max() > 1e-3            # and not the stock model
    with pytest.raises(FileNotFoundError, match="not shipped"):
        TeacherConfig(weights="missing")
