"""The teacher on ONNX Runtime: vectors independent of their batch, close to torch's, exported once."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sentence_transformers")
pytest.importorskip("onnxruntime")

from codenn.code_teacher import CodeTeacher, TeacherConfig  # noqa: E402

TEXTS = ["def read_json(path):\n    \"\"\"Read a JSON file.\"\"\"\n    with open(path) as f:\n        return json.load(f)\n",
         "def add(a, b):\n    return a + b\n",
         "function sortBy(xs, key) {\n  return xs.slice().sort((a, b) => key(a) - key(b));\n}\n" * 3,
         "x"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    folder = tmp_path_factory.mktemp("onnx-cache")
    mp.setenv("CODESEARCH_CACHE", str(folder))
    yield folder
    mp.undo()


@pytest.mark.filterwarnings("ignore")
def test_vectors_do_not_depend_on_batch_neighbours(cache):
    t = CodeTeacher(TeacherConfig(threads=1, max_tokens=64))
    assert t.onnx
    together = t.encode(TEXTS)
    alone = np.stack([t.encode([x])[0] for x in TEXTS])
    shuffled = t.encode(TEXTS[::-1])[::-1]
    assert np.array_equal(together, alone) and np.array_equal(together, shuffled)
    assert np.allclose(np.linalg.norm(together, axis=1), 1, atol=1e-5)
    exported = list((cache / "teacher-onnx").glob("*.onnx"))
    assert len(exported) == 1
    mtime = exported[0].stat().st_mtime_ns
    CodeTeacher(TeacherConfig(threads=1, max_tokens=64)).encode(TEXTS[:1])      # a second load reuses the export
    assert [p.stat().st_mtime_ns for p in (cache / "teacher-onnx").glob("*.onnx")] == [mtime]


@pytest.mark.filterwarnings("ignore")
def test_onnx_is_close_to_torch(cache):
    fp32 = CodeTeacher(TeacherConfig(threads=1, max_tokens=64, int8=False, runtime="torch")).encode(TEXTS)
    onnx32 = CodeTeacher(TeacherConfig(threads=1, max_tokens=64, int8=False)).encode(TEXTS)
    onnx8 = CodeTeacher(TeacherConfig(threads=1, max_tokens=64)).encode(TEXTS)
    assert np.abs(onnx32 - fp32).max() < 1e-4                 # the same network
    assert (onnx8 * fp32).sum(1).min() > 0.85                  # int8 weights: near, not equal
    with pytest.raises(ValueError, match="runtime"):
        TeacherConfig(runtime="tensorrt")


@pytest.mark.filterwarnings("ignore")
def test_preparing_the_query_teacher_exports_it_without_loading_it(tmp_path, monkeypatch):
    from codenn.code_teacher import TeacherQueries
    monkeypatch.setenv("CODESEARCH_CACHE", str(tmp_path))
    q = TeacherQueries(TeacherConfig())
    q.prepare()
    exported = list((tmp_path / "teacher-onnx").glob("*.onnx"))
    assert len(exported) == 1 and q.teacher._model is None      # exported, no session held
    q.prepare()                                                  # cached: nothing exported again
    assert list((tmp_path / "teacher-onnx").glob("*.onnx")) == exported
    assert np.allclose(np.linalg.norm(q.encode_queries(["read a json file"]), axis=1), 1, atol=1e-5)
    assert list((tmp_path / "teacher-onnx").glob("*.onnx")) == exported   # the queries run on that export
