"""Helpers for the sync tests: a tiny project folder, and what an index holds, keyed by function place (not row id)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from index import vectors
from index.searcher import Searcher

FIXTURES = Path(__file__).parent / "fixtures"
QUERIES = ["read json file", "write text", "add numbers", "parse config", "http request", "sort list"]

FILES = {
    "pkg/io_utils.py": '''def read_json(path):
    """Read a json file and return a dict."""
    import json
    with open(path) as f:
        return json.load(f)


def write_text(path, text):
    """Write text to a file."""
    with open(path, "w") as f:
        f.write(text)
''',
    "pkg/maths.py": '''def add_numbers(a, b):
    """Add two numbers."""
    return a + b


def sort_list(items):
    """Sort a list in place and return it."""
    items.sort()
    return items
''',
    "pkg/config.py": '''def parse_config(text):
    """Parse a config file of key=value lines."""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
''',
    "tools/net.py": '''def http_request(url):
    """Send an http request and return the body."""
    import urllib.request
    return urllib.request.urlopen(url).read()
''',
}


def make_project(root: Path, files: dict[str, str] | None = None) -> Path:
    """A folder holding the fixture files (plus the multi-language sample of the extraction tests)."""
    for rel, text in (files or FILES).items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    js = FIXTURES / "languages" / "sample.js"
    if js.exists():
        shutil.copy(js, root / "web.js")
    return root


def contents(index_dir) -> dict:
    """Records, vectors and lexical hits of an index, keyed by (repo, path, start_line, name)."""
    s = Searcher.open(index_dir)
    try:
        recs = {}
        for batch in s.store.iter_records():
            for r in batch:
                recs[(r["repo"], r["path"], r["start_line"], r["name"])] = r
        key_of = {r["id"]: k for k, r in recs.items()}
        ids = np.array(sorted(key_of), np.int64)
        xb = vectors.reconstruct(s.scorers["neural"].index, ids)
        vecs = {key_of[int(i)]: x for i, x in zip(ids, xb)}
        lex = {}
        for q in QUERIES:
            hit_ids, scores = s.scorers["lexical"].lex.top(q.split(), 1000)
            lex[q] = [(key_of[int(i)], round(float(sc), 4)) for i, sc in zip(hit_ids, scores) if int(i) in key_of]
        fields = {k: {f: r[f] for f in r if f != "id"} for k, r in recs.items()}
        return {"records": fields, "vectors": vecs, "lexical": lex}
    finally:
        s.close()


def assert_same_index(a: dict, b: dict, exact_bm25: bool) -> None:
    """Same functions, same vectors, same lexical hits (and BM25 scores, when the statistics are fresh)."""
    assert a["records"] == b["records"]
    assert a["vectors"].keys() == b["vectors"].keys()
    for k in a["vectors"]:
        np.testing.assert_allclose(a["vectors"][k], b["vectors"][k], atol=1e-6)
    for q in QUERIES:
        if exact_bm25:   # ties may be ordered by row id, which differs: compare (function, score) pairs
            assert sorted(a["lexical"][q]) == sorted(b["lexical"][q]), q
        else:
            assert {k for k, _ in a["lexical"][q]} == {k for k, _ in b["lexical"][q]}, q
