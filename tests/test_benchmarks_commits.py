"""benchmarks.quality.commit_localization on a small git history built here: which commits it takes, and its report."""
from pathlib import Path

import pytest

from benchmarks.quality.commit_localization import counted, main, run, select
from benchmarks.quality.quality import QualityConfig

git = pytest.importorskip("git")

A = '''def scale(values, factor):
    """Multiply every value by a factor."""
    return [v * factor for v in values]


def mean(values):
    """The arithmetic mean."""
    return sum(values) / len(values)
'''


def commit(repo, files: dict[str, str | None], subject: str) -> None:
    """Write (None: delete) the files and commit them under this subject."""
    root = Path(repo.working_tree_dir)
    for rel, text in files.items():
        if text is None:
            repo.index.remove([rel], working_tree=True)
            continue
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
        repo.index.add([rel])
    repo.index.commit(subject)


@pytest.fixture
def history(tmp_path):
    repo = git.Repo.init(tmp_path / "repo")
    with repo.config_writer() as cw:
        cw.set_value("user", "name", "t")
        cw.set_value("user", "email", "t@example.com")
    commit(repo, {"pkg/stats.py": A, "tests/test_stats.py": "def test_mean():\n    assert True\n"},
           "Add the statistics module with helpers")                                     # first commit
    commit(repo, {"pkg/stats.py": A.replace("sum(values) / len(values)", "sum(values) / max(len(values), 1)")},
           "Let mean survive an empty list of values")                                   # taken: mean
    commit(repo, {"pkg/stats.py": A.replace("v * factor", "factor * v").replace("/ len(values)", "/ float(len(values))")},
           "Reorder the products and divide in floating point")                          # two functions
    commit(repo, {"pkg/stats.py": A}, "Revert")                                          # short subject
    commit(repo, {"tests/test_stats.py": "def test_mean():\n    assert 1\n", "docs/notes.md": "notes\n"},
           "Tighten the test of the mean function")                                      # no counted function
    commit(repo, {"pkg/stats.py": A + "\n\ndef median(values):\n    return sorted(values)[len(values) // 2]\n"},
           "Add a median of the values too")                                             # adds a function
    repo.git.mv("pkg/stats.py", "pkg/numbers.py")
    repo.index.commit("Move the statistics helpers to numbers")                          # rename
    text = (Path(repo.working_tree_dir) / "pkg/numbers.py").read_text()
    commit(repo, {"pkg/numbers.py": text.replace("[v * factor for v in values]", "list(map(lambda v: v * factor, values))")},
           "Scale the values with map instead of a comprehension")                       # taken: scale
    repo.git.checkout("-b", "side")
    commit(repo, {"README.md": "readme\n"}, "Write a readme for the project")
    repo.git.checkout("master" if "master" in repo.heads else "main")
    commit(repo, {"pkg/numbers.py": text}, "Go back to the comprehension in scale")       # taken: scale
    repo.git.merge("--no-ff", "side", "-m", "Merge the side branch into the main line")   # merge
    return repo


def test_counted_files():
    assert counted("pkg/a.py") and counted("src/lib.rs") and counted("web/app.ts")
    for path in ("tests/test_a.py", "pkg/test_a.py", "pkg/a_test.go", "docs/conf.py", "web/app.spec.ts",
                 "README.md", "node_modules/x/index.js", "src/FooTest.java"):
        assert not counted(path), path


def test_selects_the_commits_that_change_one_function(history):
    sel, pool = select(history.working_tree_dir)
    assert sel.commits == 11
    assert [s["query"] for s in sel.selected] == ["Go back to the comprehension in scale",
                                                  "Scale the values with map instead of a comprehension",
                                                  "Let mean survive an empty list of values"]
    # the gold is the function at HEAD: mean moved with its file
    assert [s["key"][:2] for s in sel.selected] == [("pkg/numbers.py", "scale")] * 2 + [("pkg/numbers.py", "mean")]
    assert dict(sel.skipped) == {"first commit": 1, "changes several functions": 1, "subject under 5 words": 1,
                                 "changes no function": 2, "adds or removes a function": 1,
                                 "renames a source file": 1, "merge": 1}
    assert {k[1] for k in pool} == {"scale", "mean", "median", "test_mean"}

    old, _ = select(history.working_tree_dir, rev="HEAD~6")     # before the rename and the median
    assert [s["query"] for s in old.selected] == ["Let mean survive an empty list of values"]


def test_report_measures_every_mode_on_the_commits(history, capsys):
    cfg = QualityConfig(modes=("neural", "lexical", "hybrid", "bm25"), model_dir="hashing", chart=None, progress=False)
    report = run(history.working_tree_dir, cfg)
    assert report["commits"]["selected"] == 3 and report["commits"]["pool_functions"] == 4
    assert report["bench"]["queries"] == 3 and report["bench"]["pool"] == 4
    for mode in cfg.modes:
        row = report["modes"][mode]
        assert 0 < row["MRR"] <= 1 and row["SR@10"] == 1.0, mode   # every gold is in the pool of 4
    assert main([history.working_tree_dir, "--model", "hashing", "--modes", "lexical,bm25", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "3 of 11 commits" in out and "| lexical |" in out and "| bm25 |" in out
    assert main([str(Path(history.working_tree_dir).parent), "--model", "hashing", "--rev", "nope"]) == 2
