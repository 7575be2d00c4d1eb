"""A killed checkpointed build resumes from its last committed batch: no row lost or duplicated, same index."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from index import vectors
from index.build import build_index
from index.checkpoint import partial_dir
from index.lexical import LexicalIndex
from index.manifest import IndexConfig
from index.searcher import Searcher
from index.store import Store
from index.synthetic import NOUNS, VERBS, make_records

N, KILL_AT = 600, 370          # batches of 50, checkpoints every 100: the kill leaves 300 committed
SETTINGS = {"flat": ["batch_size=50", "checkpoint_rows=100"],
            "ivfpq": ["batch_size=50", "checkpoint_rows=100", "vectors.kind=ivfpq", "vectors.pq_m=8",
                      "vectors.pq_nbits=5", "vectors.train_max=200", "vectors.refine=sq8"]}
ROOT = Path(__file__).resolve().parents[1]


def config(kind: str, *more: str) -> IndexConfig:
    return IndexConfig(progress=False).override(SETTINGS[kind] + list(more))


def killed_build(out: Path, kind: str) -> None:
    """Run a build in a child process that SIGKILLs itself while reading record KILL_AT (no cleanup runs)."""
    script = textwrap.dedent(f"""
        import os, signal
        from index.build import build_index
        from index.manifest import IndexConfig
        from index.synthetic import make_records
        def records():
            for i, r in enumerate(make_records(n_repos=6, per_repo={N // 6})):
                if i == {KILL_AT}:
                    os.kill(os.getpid(), signal.SIGKILL)
                yield r
        cfg = IndexConfig(progress=False).override({SETTINGS[kind]!r})
        build_index(records(), "hashing", {str(out)!r}, cfg, total={N}, resume=True)
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    p = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == -9, p.stderr


def answers(index_dir: Path) -> dict:
    """Top-10 ids and scores of a few queries in every mode."""
    s = Searcher.open(index_dir)
    try:
        return {(q, m): [(h.id, round(h.score, 5)) for h in s.search(q, k=10, mode=m).hits]
                for q in [f"{v} {n}" for v in VERBS[:3] for n in NOUNS[:3]] for m in ("neural", "lexical", "hybrid")}
    finally:
        s.close()


def assert_complete(index_dir: Path, records: list[dict]) -> None:
    """Every record exactly once in the store, the lexical index and the vectors."""
    want = sorted(r["id"] for r in records)
    store = Store(index_dir / "store.sqlite", readonly=True)
    assert store.ids().tolist() == want
    store.close()
    assert LexicalIndex(index_dir / "lexical").num_docs() == len(want)
    got = vectors.all_ids(vectors.load(index_dir / "vectors.faiss"))
    assert sorted(got.tolist()) == want


@pytest.mark.parametrize("kind", ["flat", "ivfpq"])
def test_a_killed_build_resumes_from_its_last_checkpoint_and_equals_one_run(tmp_path, kind):
    records = make_records(n_repos=6, per_repo=N // 6)
    build_index(records, "hashing", tmp_path / "once", config(kind))
    killed_build(tmp_path / "ix", kind)
    work = partial_dir(tmp_path / "ix")
    assert not (tmp_path / "ix").exists() and Store(work / "store.sqlite", readonly=True).count() == 300
    m = build_index(records, "hashing", tmp_path / "ix", config(kind), resume=True)
    assert m["build"]["resumed_from"] == 300 and m["build"]["functions"] == N and m["size"] == N
    assert not work.exists() and sorted(p.name for p in (tmp_path / "ix").iterdir()) == \
        sorted(p.name for p in (tmp_path / "once").iterdir())
    assert_complete(tmp_path / "ix", records)
    assert answers(tmp_path / "ix") == answers(tmp_path / "once")


def test_a_kill_between_the_lexical_and_the_store_commit_rebuilds_the_lexical_index(tmp_path):
    records = make_records(n_repos=6, per_repo=N // 6)
    killed_build(tmp_path / "ix", "flat")
    lex = LexicalIndex(partial_dir(tmp_path / "ix") / "lexical")
    lex.add(records[300:350])          # the next batch reached tantivy, the store never committed it
    lex.commit()
    assert lex.num_docs() == 350
    build_index(records, "hashing", tmp_path / "ix", config("flat"), resume=True)
    assert_complete(tmp_path / "ix", records)
    build_index(records, "hashing", tmp_path / "once", config("flat"))
    assert answers(tmp_path / "ix") == answers(tmp_path / "once")


def test_an_interrupted_build_keeps_its_partial_folder_and_other_settings_are_refused(tmp_path):
    records = make_records(n_repos=6, per_repo=N // 6)

    def interrupted():
        for i, r in enumerate(records):
            if i == 250:
                raise KeyboardInterrupt
            yield r
    with pytest.raises(KeyboardInterrupt):
        build_index(interrupted(), "hashing", tmp_path / "ix", config("flat"))
    work = partial_dir(tmp_path / "ix")
    assert Store(work / "store.sqlite", readonly=True).count() == 200
    with pytest.raises(ValueError, match="config.*without --resume"):
        build_index(records, "hashing", tmp_path / "ix", config("flat", "vectors.kind=hnsw"), resume=True)
    with pytest.raises(ValueError, match="model"):
        build_index(records, "hashing:64", tmp_path / "ix", config("flat"), resume=True)
    m = build_index(records, "hashing", tmp_path / "ix", config("flat"), resume=True)
    assert m["build"]["resumed_from"] == 200
    assert_complete(tmp_path / "ix", records)


def test_without_resume_a_partial_folder_is_started_over(tmp_path):
    records = make_records(n_repos=2, per_repo=100)
    killed_build(tmp_path / "ix", "flat")
    m = build_index(records, "hashing", tmp_path / "ix", config("flat"))
    assert m["build"]["resumed_from"] == 0
    assert_complete(tmp_path / "ix", records)


def test_cli_resume_flag_builds_with_checkpoints(tmp_path):
    from preprocess.csvio import write_functions
    write_functions(tmp_path / "f.csv", make_records(n_repos=2, per_repo=30))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-m", "codesearch", "index", "build", "--functions", "f.csv", "--model",
                        "hashing", "--out", "ix", "--resume", "--no-progress", "--set", "checkpoint_rows=20"],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert p.returncode == 0, p.stderr
    m = json.loads((tmp_path / "ix" / "manifest.json").read_text())
    assert m["size"] == 60 and m["build"]["resumed_from"] == 0 and not partial_dir(tmp_path / "ix").exists()
