"""A store with compressed code text serves the same records and results as a plain one."""
from __future__ import annotations

import sqlite3

from index.build import build_index
from index.manifest import IndexConfig
from index.searcher import Searcher
from index.store import Store
from index.synthetic import make_records


def test_compressed_store_reads_back_the_same_records_and_results(tmp_path):
    records = make_records(n_repos=3, per_repo=30)
    for r in records[::2]:   # long, repetitive code: what zlib shrinks most
        r["code"] += "\n".join(f"    # step {k}: keep going" for k in range(40))
    build_index(records, "hashing", tmp_path / "plain", IndexConfig(progress=False))
    m = build_index(records, "hashing", tmp_path / "small", IndexConfig(progress=False).override(["compress_code=true"]))
    assert m["config"]["compress_code"] is True
    plain, small = Store(tmp_path / "plain/store.sqlite"), Store(tmp_path / "small/store.sqlite")
    ids = [r["id"] for r in records]
    assert plain.get(ids) == small.get(ids)
    assert [r for b in plain.iter_records() for r in b] == [r for b in small.iter_records() for r in b]
    db = sqlite3.connect(tmp_path / "small/store.sqlite")
    kinds = {t for (t,) in db.execute("SELECT typeof(code) FROM functions")}
    assert "blob" in kinds
    stored = db.execute("SELECT SUM(length(CAST(code AS BLOB))) FROM functions").fetchone()[0]
    assert stored < sum(len(r["code"].encode()) for r in records) / 2
    a, b = Searcher.open(tmp_path / "plain"), Searcher.open(tmp_path / "small")
    for q in ("read json", "sort the list", "open a socket"):
        assert [h.to_dict() for h in a.search(q).hits] == [h.to_dict() for h in b.search(q).hits]
