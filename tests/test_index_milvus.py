"""The Milvus backend (milvus-lite here) answers like the native engine, filters included."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from index.backends.milvus import MilvusConfig  # noqa: E402
from index.backends.milvus_build import build_milvus_index  # noqa: E402
from index.backends.milvus_search import expression, glob_to_like  # noqa: E402
from index.build import build_index  # noqa: E402
from index.manifest import IndexConfig, read_manifest  # noqa: E402
from index.scorers import Filter  # noqa: E402
from index.searcher import Searcher  # noqa: E402
from index.synthetic import NOUNS, VERBS, make_records  # noqa: E402

QUERIES = [f"{v} {n}" for v in VERBS[:6] for n in NOUNS[:5]]


def overlap(a, b, k=10) -> float:
    a, b = [h.id for h in a.hits[:k]], [h.id for h in b.hits[:k]]
    return len(set(a) & set(b)) / max(len(a), 1)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """The same synthetic corpus indexed natively and into milvus-lite (a file inside the index folder)."""
    tmp = tmp_path_factory.mktemp("milvus")
    records = make_records(n_repos=6, per_repo=40, languages=("python", "javascript"))
    build_index(records, "hashing", tmp / "native", IndexConfig(progress=False))
    m = build_milvus_index(records, "hashing", tmp / "milvus", IndexConfig(progress=False), MilvusConfig())
    native, milvus = Searcher.open(tmp / "native"), Searcher.open(tmp / "milvus")
    yield native, milvus, m, records
    native.close()
    milvus.close()


def test_manifest_names_the_backend_and_the_index_reopens_without_flags(pair, tmp_path):
    _, milvus, m, records = pair
    assert m["backend"]["name"] == "milvus" and m["backend"]["uri"] == "milvus.db"
    assert read_manifest(milvus.index_dir)["backend"]["collection"] == m["backend"]["collection"]
    assert milvus.size == len(records)
    assert (milvus.index_dir / "milvus.db").exists() and not (milvus.index_dir / "vectors.faiss").exists()


def test_neural_and_lexical_lists_match_the_native_engine(pair):
    native, milvus, _, _ = pair
    neural = np.mean([overlap(native.search(q, mode="neural"), milvus.search(q, mode="neural")) for q in QUERIES])
    lexical = np.mean([overlap(native.search(q, mode="lexical"), milvus.search(q, mode="lexical")) for q in QUERIES])
    assert neural == 1.0   # exact inner product over the same vectors on both sides
    assert lexical >= 0.8, lexical   # BM25 on both; ties among equal scores may break differently


def test_hybrid_by_default_is_our_fusion_over_milvus_lists(pair):
    native, milvus, m, _ = pair
    assert m["backend"]["fusion"] == "ours" and milvus.cfg.modes["hybrid"] == ("neural", "lexical")
    res = [(native.search(q), milvus.search(q)) for q in QUERIES]
    assert all(b.hits for _, b in res)
    assert np.mean([overlap(a, b) for a, b in res]) >= 0.8   # the native engine's fusion over near-equal lists
    first = res[0][1].hits[0]
    assert first.code and first.url and first.matched_lines   # records and matched lines from the store


@pytest.mark.parametrize("ranker", ["weighted", "rrf"])
def test_a_milvus_ranker_on_request_goes_through_milvus_fusion(pair, tmp_path, ranker):
    native, _, _, records = pair
    build_milvus_index(records, "hashing", tmp_path / "m", IndexConfig(progress=False), MilvusConfig(fusion=ranker))
    s = Searcher.open(tmp_path / "m")
    try:
        assert s.cfg.modes["hybrid"] == ("milvus_hybrid",) and s.scorers["milvus_hybrid"].method == ranker
        res = [(native.search(q), s.search(q)) for q in QUERIES]
        assert all(b.hits for _, b in res)
        assert np.mean([overlap(a, b) for a, b in res]) >= 0.3
    finally:
        s.close()


def test_the_old_fusion_name_native_still_means_ours():
    assert MilvusConfig(fusion="native").fusion == "ours"
    with pytest.raises(ValueError, match="ours, weighted, rrf"):
        MilvusConfig(fusion="arctan")


@pytest.mark.parametrize("filters", [{"repo": "org/repo2"}, {"lang": "javascript"}, {"path": "pkg1/*"},
                                     {"repo": "org/repo3", "path": "pkg[12]/*.py"}])
def test_filters_become_milvus_expressions(pair, filters):
    native, milvus, _, records = pair
    # the native store's GLOB is the reference for what passes
    allowed = set(native.store.filter_ids(filters.get("repo"), filters.get("lang"), filters.get("path")).tolist())
    assert 0 < len(allowed) < len(records)
    for mode in ("neural", "lexical", "hybrid"):
        for q in QUERIES[:6]:
            got = milvus.search(q, k=10, mode=mode, **filters)
            assert got.hits and {h.id for h in got.hits} <= allowed
            if mode == "neural":   # exact on both sides: the same filtered top-10
                assert [h.id for h in got.hits] == [h.id for h in native.search(q, k=10, mode=mode, **filters).hits]


def test_globs_translate_to_like_patterns():
    assert glob_to_like("json/*.py") == "json/%.py"
    assert glob_to_like("a_b?.py") == "a\\\\_b_.py"
    assert glob_to_like("pkg[12]/*") is None
    f = Filter(repo='o/"r"', language="go", path="x/*", allowed=np.array([1]))
    assert expression(f) == 'repo == "o/\\"r\\"" and language == "go" and path like "x/%"'


def test_cli_builds_milvus_and_search_needs_no_new_flag(tmp_path):
    from preprocess.csvio import write_functions
    write_functions(tmp_path / "f.csv", make_records(n_repos=2, per_repo=20))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    run = lambda *a: subprocess.run([sys.executable, "-m", "codesearch", *a], capture_output=True, text=True, env=env,
                                    cwd=tmp_path, timeout=240)
    b = run("index", "build", "--functions", "f.csv", "--model", "hashing", "--out", "ix", "--backend", "milvus",
            "--milvus-uri", "shared.db", "--no-progress")
    assert b.returncode == 0, b.stderr
    assert read_manifest(tmp_path / "ix")["backend"]["uri"] == str(tmp_path / "shared.db")
    s = run("search", "read json", "--index", "ix", "--json", "--repo", "org/repo1")
    assert s.returncode == 0, s.stderr
    hits = json.loads(s.stdout)["hits"]
    assert hits and {h["repo"] for h in hits} == {"org/repo1"}
    bad = run("index", "build", "--functions", "f.csv", "--model", "hashing", "--out", "ix2", "--milvus-uri", "x.db")
    assert bad.returncode == 1 and "needs --backend milvus" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.skipif(not os.environ.get("MILVUS_URI"), reason="set MILVUS_URI=http://host:19530 to test a Milvus server")
def test_a_milvus_server_answers_like_milvus_lite(pair, tmp_path):
    native, _, _, records = pair
    m = build_milvus_index(records, "hashing", tmp_path / "server", IndexConfig(progress=False),
                           MilvusConfig(uri=os.environ["MILVUS_URI"], token=os.environ.get("MILVUS_TOKEN", ""),
                                        index_type="HNSW", index_params={"M": 16, "efConstruction": 200}))
    s = Searcher.open(tmp_path / "server")
    try:
        assert np.mean([overlap(native.search(q, mode="neural"), s.search(q, mode="neural")) for q in QUERIES]) >= 0.9
    finally:
        s.close()
        from pymilvus import MilvusClient
        MilvusClient(os.environ["MILVUS_URI"]).drop_collection(m["backend"]["collection"])


def test_similar_functions_on_a_milvus_index_equal_the_native_ones(pair):
    from index import lookup
    from index.errors import QueryError

    native, milvus, _, records = pair
    for r in records[:20]:
        a, b = lookup.similar(native, r["id"], 5), lookup.similar(milvus, r["id"], 5)
        assert a and r["id"] not in {h["id"] for h in b}
        # exact inner product over the same vectors: the same neighbours, scores equal (ties may swap)
        np.testing.assert_allclose([h["score"] for h in a], [h["score"] for h in b], atol=1e-5)
        top = {h["id"] for h in a if h["score"] > a[-1]["score"] + 1e-5}
        assert top <= {h["id"] for h in b}
    with pytest.raises(QueryError, match="no function"):
        lookup.similar(milvus, 10 ** 9, 3)


def test_api_similar_on_a_milvus_index(pair):
    from webapp import create_app

    native, milvus, _, records = pair
    fid = records[0]["id"]
    got = {}
    for name, s in (("native", native), ("milvus", milvus)):
        r = create_app({"SEARCHER": s}).test_client().get(f"/api/similar?id={fid}&k=5")
        assert r.status_code == 200, r.get_json()
        got[name] = [round(h["score"], 5) for h in r.get_json()["results"]]
    assert got["milvus"] == got["native"] and len(got["milvus"]) == 5
