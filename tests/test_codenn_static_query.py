"""The default model's query side in numpy: the same vectors as the torch model, and a search process without torch."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import codenn
from codenn.static_query import StaticEncoder
from index.build import build_index
from index.manifest import IndexConfig
from index.searcher import Searcher
from index.synthetic import make_records

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "codenn" / "pretrained"
QUERIES = ["python read a csv file into a list of dicts", "How to copy a file?", "", "py", "getFileSize",
           "zzqx unknownword " * 20]

SEARCH = """
import json, sys
from index.searcher import Searcher
s = Searcher.open(sys.argv[1])
hits = s.search("read a file and return its lines", k=5, mode="hybrid").hits
print(json.dumps({"torch": "torch" in sys.modules, "ids": [h.id for h in hits]}))
"""


def test_numpy_queries_equal_the_torch_model():
    full, static = codenn.load(SHIPPED), StaticEncoder(SHIPPED)
    assert static.identity == full.identity and static.dim == full.dim
    assert static.teacher_config == full.teacher_config
    np.testing.assert_allclose(static.encode_queries(QUERIES), full.encode_queries(QUERIES), rtol=1e-5, atol=1e-6)
    assert isinstance(codenn.load_static(SHIPPED), StaticEncoder)


@pytest.mark.parametrize("scope", ["documented", "all"])
def test_numpy_functions_equal_the_torch_model(scope):
    static, full = StaticEncoder(SHIPPED), codenn.load(SHIPPED)
    records = make_records(12) + [{"name": "read_lines", "apiseq": "open read splitlines", "tokens": "path f lines",
                                   "code": "", "desc": ""}, {"name": "", "apiseq": "", "tokens": "", "code": "", "desc": ""}]
    assert any(r["desc"] for r in records) and any(not r["desc"] for r in records)
    assert static.configure_teacher(scope) == full.configure_teacher(scope)
    np.testing.assert_allclose(static.encode_functions(records), full.encode_functions(records), rtol=1e-5, atol=1e-6)


SYNC = """
import json, sys
from codesearch.cli import main
rc = main(["index", "sync", "--index", sys.argv[1], "--no-progress"])
print(json.dumps({"rc": rc, "torch": "torch" in sys.modules}))
"""


def test_a_one_file_sync_imports_no_torch(tmp_path):
    from index.sync import SyncConfig, sync
    from syncutil import make_project
    folder = make_project(tmp_path / "proj")
    sync([folder], tmp_path / "ix", SyncConfig(progress=False))   # also exports the teacher once, with torch
    path = folder / "pkg" / "maths.py"
    path.write_text(path.read_text() + '\n\ndef halve(x):\n    """Half of a number."""\n    return x / 2\n')
    run = subprocess.run([sys.executable, "-c", SYNC, str(tmp_path / "ix")], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report == {"rc": 0, "torch": False}, run.stderr[-2000:]
    hits = Searcher.open(tmp_path / "ix").search("half of a number", k=3, mode="hybrid").hits
    assert hits and hits[0].name.endswith("halve")


@pytest.mark.skipif(not (SHIPPED / "model.safetensors").exists(), reason="needs the shipped model")
def test_a_search_process_imports_no_torch(tmp_path):
    records = [{**r, "desc": ""} for r in make_records(60)]   # undocumented: no teacher vectors needed
    out = tmp_path / "ix"
    build_index(records, str(SHIPPED), out, IndexConfig(progress=False, teacher="documented"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", SEARCH, str(out)], env=env, capture_output=True, text=True,
                         timeout=300, check=True)
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["torch"] is False
    # the same ranking as a searcher holding the torch model
    hits = Searcher.open(out, encoder=codenn.load(SHIPPED)).search("read a file and return its lines", k=5,
                                                                     mode="hybrid").hits
    assert report["ids"] == [h.id for h in hits] and len(hits) == 5
