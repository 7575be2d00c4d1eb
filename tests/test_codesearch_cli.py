"""The `codesearch` / `python -m index` commands: build, search (text and JSON), add, remove, clear errors."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from codesearch.cli import main
from index.synthetic import make_records
from preprocess.csvio import write_functions

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    records = make_records(n_repos=4, per_repo=25)
    write_functions(tmp / "functions.csv", [r for r in records if r["repo"] != "org/repo3"])
    write_functions(tmp / "more.csv", records)
    rc = main(["index", "build", "--functions", str(tmp / "functions.csv"), "--model", "hashing:64",
               "--out", str(tmp / "index"), "--data", "ignored", "--no-progress"])
    assert rc == 0
    return tmp


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_search_prints_ranked_functions_with_permalinks(built, capsys):
    rc, out, err = run(capsys, "search", "read json file", "-k", "3", "--index", str(built / "index"))
    assert rc == 0 and err == ""
    assert out.startswith("3 of ") and "1. " in out and "3. " in out and "4. " not in out
    assert "https://example.org/org/repo" in out and "#L" in out


def test_search_json_for_programs(built, capsys):
    rc, out, _ = run(capsys, "search", "save config", "-k", "5", "--mode", "lexical", "--repo", "org/repo1",
                     "--json", "--index", str(built / "index"))
    res = json.loads(out)
    assert rc == 0 and res["mode"] == "lexical" and 1 <= len(res["hits"]) <= 5 and res["total"] == len(res["hits"])
    assert all(h["repo"] == "org/repo1" and h["url"] and "matched_lines" in h for h in res["hits"])


@pytest.mark.parametrize("argv, code, message", [
    (["search", "", "--index", "{ix}"], 2, "empty"),
    (["search", "x" * 10_000, "--index", "{ix}"], 2, "10,000 characters"),
    (["search", "read", "-k", "0", "--index", "{ix}"], 2, "k must be"),
    (["search", "read", "-k", "1001", "--index", "{ix}"], 2, "k must be"),
    (["search", "read", "--repo", "org/nope", "--index", "{ix}"], 2, "unknown repository"),
    (["search", "read", "--mode", "magic", "--index", "{ix}"], 2, "unknown mode"),
    (["search", "read", "--index", "{tmp}/missing"], 1, "make index"),
    (["search", "read", "--model", "hashing:32", "--index", "{ix}"], 1, "built with model hashing-64-0"),
    (["search", "read", "--model", "{tmp}/no-model", "--index", "{ix}"], 1, "make train"),
    (["index", "build", "--functions", "{tmp}/none.csv", "--model", "hashing", "--out", "{tmp}/x"], 1, "make extract"),
    (["index", "build", "--functions", "{tmp}/functions.csv", "--model", "hashing", "--out", "{tmp}/x",
      "--set", "vectors.nope=1"], 1, "unknown index setting"),
    (["index", "remove", "org/nope", "--index", "{ix}"], 1, "not in the index"),
])
def test_bad_input_gives_one_line_and_an_exit_code(built, capsys, argv, code, message):
    argv = [a.format(ix=built / "index", tmp=built) for a in argv]
    rc, out, err = run(capsys, *argv)
    assert rc == code and message in err
    assert err.startswith("codesearch: error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_add_and_remove_repositories(built, tmp_path, capsys):
    import shutil
    ix = tmp_path / "index"
    shutil.copytree(built / "index", ix)
    rc, out, _ = run(capsys, "index", "add", "--functions", str(built / "more.csv"), "--repo", "org/repo3",
                     "--index", str(ix), "--no-progress")
    assert rc == 0 and "100 functions of 4 repositories" in out
    rc, out, _ = run(capsys, "search", "read", "--repo", "org/repo3", "--json", "--index", str(ix))
    assert rc == 0 and json.loads(out)["hits"]
    rc, out, _ = run(capsys, "index", "remove", "org/repo0", "org/repo3", "--index", str(ix))
    assert rc == 0 and "50 functions of 2 repositories" in out
    rc, out, err = run(capsys, "search", "read", "--repo", "org/repo0", "--index", str(ix))
    assert rc == 2 and "unknown repository" in err
    rc, out, _ = run(capsys, "index", "info", "--index", str(ix))
    assert json.loads(out)["size"] == 50


def test_python_m_index_and_the_console_script(built):
    r = subprocess.run([sys.executable, "-m", "index", "search", "sort list", "-k", "2", "--json",
                        "--index", str(built / "index")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["hits"]) == 2
    script = Path(sys.executable).with_name("codesearch")
    if not script.exists():
        pytest.skip("the console script is not installed in this environment")
    r = subprocess.run([str(script), "search", "", "--index", str(built / "index")], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("codesearch: error:")
