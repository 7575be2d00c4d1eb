"""The web tests' corpus, a real tiny index of it, and a small in-memory searcher with the Searcher interface.

The web tests pass the fake as test_config["SEARCHER"] where they need to see or break what the app
asks of the searcher; the contract tests at the bottom run the same checks against the fake and a
real index (index.build.build_index with the hashing encoder), so the fake stays honest.
"""
from __future__ import annotations

import math
import re
import time
from dataclasses import asdict, dataclass, field

import pytest

from index.errors import QueryError

XSS = "</script><script>alert(1)</script>"
MODES = ("neural", "lexical", "hybrid")
GH = "https://github.com/example/{repo}/blob/0123456789abcdef0123456789abcdef01234567/{path}#L{start}-L{end}"


def fn(repo: str, path: str, start: int, name: str, desc: str, code: str, url: str | None = None) -> dict:
    """One functions.csv-like record (tokens/apiseq derived crudely from the code)."""
    end = start + len(code.rstrip("\n").splitlines()) - 1
    words = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", code)
    return {"repo": repo, "path": path, "start_line": start, "end_line": end, "language": "python", "name": name,
            "desc": desc, "code": code, "url": url or GH.format(repo=repo.split("/")[-1], path=path, start=start, end=end),
            "tokens": " ".join(w.lower() for w in words), "apiseq": " ".join(re.findall(r"\b\w+\.\w+(?=\()", code))}


CORPUS = [
    fn("demo/jsonio", "jsonio/files.py", 10, "read_json", "Read a JSON file and return the parsed object.",
       'def read_json(path):\n    """Read a JSON file and return the parsed object."""\n'
       '    with open(path, encoding="utf-8") as f:\n        return json.load(f)\n'),
    fn("demo/jsonio", "jsonio/files.py", 16, "write_json", "Write an object to a JSON file, pretty-printed.",
       'def write_json(path, obj):\n    """Write an object to a JSON file, pretty-printed."""\n'
       '    with open(path, "w", encoding="utf-8") as f:\n        json.dump(obj, f, indent=2)\n'),
    fn("demo/jsonio", "jsonio/config.py", 5, "load_config", "Load settings from a JSON config file.",
       'def load_config(path, defaults=None):\n    """Load settings from a JSON config file."""\n'
       '    settings = dict(defaults or {})\n    settings.update(read_json(path))\n    return settings\n'),
    fn("demo/netutil", "netutil/urls.py", 3, "parse_query_string", "Parse a URL query string into a dict.",
       'def parse_query_string(url):\n    """Parse a URL query string into a dict."""\n'
       '    query = urllib.parse.urlsplit(url).query\n    return dict(urllib.parse.parse_qsl(query))\n'),
    fn("demo/netutil", "netutil/urls.py", 9, "build_url", "Join a base URL and query parameters.",
       'def build_url(base, params):\n    """Join a base URL and query parameters."""\n'
       '    return base + "?" + urllib.parse.urlencode(params)\n'),
    fn("demo/netutil", "netutil/http.py", 20, "download_file", "Download a URL to a local file.",
       'def download_file(url, path):\n    """Download a URL to a local file."""\n'
       '    with urllib.request.urlopen(url) as r, open(path, "wb") as f:\n'
       '        shutil.copyfileobj(r, f)\n    return path\n'),
    fn("demo/hashing", "hashing/digest.py", 1, "sha256_of_file", "Compute the SHA-256 hex digest of a file.",
       'def sha256_of_file(path, chunk=1 << 20):\n    """Compute the SHA-256 hex digest of a file."""\n'
       '    h = hashlib.sha256()\n    with open(path, "rb") as f:\n'
       '        for block in iter(lambda: f.read(chunk), b""):\n            h.update(block)\n'
       '    return h.hexdigest()\n'),
    fn("demo/hashing", "hashing/digest.py", 12, "md5_hex", "Return the MD5 hex digest of bytes.",
       'def md5_hex(data):\n    """Return the MD5 hex digest of bytes."""\n    return hashlib.md5(data).hexdigest()\n'),
    fn("demo/textutil", "textutil/sorting.py", 4, "sort_by_value", "Sort a dictionary by value, largest first.",
       'def sort_by_value(d):\n    """Sort a dictionary by value, largest first."""\n'
       '    return dict(sorted(d.items(), key=lambda kv: kv[1], reverse=True))\n'),
    fn("demo/textutil", "textutil/slug.py", 7, "slugify", "Turn a title into a URL slug.",
       'def slugify(title):\n    """Turn a title into a URL slug."""\n'
       '    words = re.findall(r"[a-z0-9]+", title.lower())\n    return "-".join(words)\n'),
    fn("demo/textutil", "textutil/paths.py", 30, "join_paths", "Join two paths and normalise the result.",
       'def join_paths(a, b):\n    """Join two paths and normalise the result."""\n'
       '    return os.path.normpath(os.path.join(a, b))\n'),
    # Hostile record: markup in name, path, description and code, and a javascript: link.
    fn("evil/xss", "evil/<b>bold</b>.py", 1, XSS, f"Say hello {XSS}",
       f'def evil():\n    """Say hello."""\n    return "{XSS}"\n', url="javascript:alert(1)"),
]
for i, record in enumerate(CORPUS):
    record["id"] = i


@dataclass
class Hit:
    id: int
    name: str
    repo: str
    path: str
    start_line: int
    end_line: int
    url: str
    language: str
    score: float
    code: str
    desc: str
    matched_lines: list[int] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SearchResult:
    query: str
    mode: str
    hits: list[Hit]
    total: int
    took_ms: float


def words(text: str) -> list[str]:
    return [w.lower() for w in re.findall(r"[A-Za-z][a-z0-9]*|[A-Z]+(?![a-z])|[0-9]+", text.replace("_", " "))]


class FakeSearcher:
    """Term-overlap scoring over name, description and code; filters, paging and errors as the contract says."""

    def __init__(self, records: list[dict] = CORPUS):
        self.records = list(records)
        self.calls: list[dict] = []

    @property
    def size(self) -> int:
        return len(self.records)

    def repos(self) -> list[str]:
        return sorted({r["repo"] for r in self.records})

    def languages(self) -> list[str]:
        return sorted({r["language"] for r in self.records})

    def check(self, query, k, mode, repo, lang, offset) -> None:
        if mode not in MODES:
            raise QueryError(f"unknown mode {mode!r}")
        if not query or not query.strip():
            raise QueryError("empty query")
        if len(query) > 1000:
            raise QueryError("query too long")
        if not 1 <= k <= 1000:
            raise QueryError("k must be between 1 and 1000")
        if offset < 0:
            raise QueryError("offset must be >= 0")
        if repo is not None and repo not in self.repos():
            raise QueryError(f"unknown repository {repo!r}")
        if lang is not None and lang not in self.languages():
            raise QueryError(f"unknown language {lang!r}")

    def search(self, query: str, k: int = 10, mode: str = "hybrid", repo: str | None = None,
               lang: str | None = None, path: str | None = None, offset: int = 0) -> SearchResult:
        t0 = time.perf_counter()
        self.calls.append({"query": query, "k": k, "mode": mode, "repo": repo, "lang": lang, "offset": offset})
        self.check(query, k, mode, repo, lang, offset)
        terms = set(words(query))
        scored = []
        for r in self.records:
            if (repo and r["repo"] != repo) or (lang and r["language"] != lang) or (path and not r["path"].startswith(path)):
                continue
            overlap = len(terms & set(words(f"{r['name']} {r['desc']} {r['code']}")))
            if overlap:
                scored.append((overlap / math.sqrt(len(terms)), r))
        scored.sort(key=lambda sr: (-sr[0], sr[1]["id"]))
        hits = [Hit(id=r["id"], name=r["name"], repo=r["repo"], path=r["path"], start_line=r["start_line"],
                    end_line=r["end_line"], url=r["url"], language=r["language"], score=round(s, 4), code=r["code"],
                    desc=r["desc"], matched_lines=[i for i, line in enumerate(r["code"].splitlines(), 1)
                                                   if terms & set(words(line))])
                for s, r in scored[offset:offset + k]]
        return SearchResult(query=query, mode=mode, hits=hits, total=len(scored),
                            took_ms=(time.perf_counter() - t0) * 1000)


def build_tiny_index(out_dir) -> str:
    """Build a real index of CORPUS (untrained hashing encoder: no model needed); return its folder."""
    from index.build import build_index
    from index.manifest import IndexConfig
    build_index(CORPUS, "hashing", out_dir, IndexConfig(progress=False))
    return str(out_dir)


# -- the fake keeps the contract, as the real searcher does -------------------------------------

@pytest.fixture(scope="module", params=["fake", "real"])
def any_searcher(request, tmp_path_factory):
    if request.param == "fake":
        return FakeSearcher()
    from index.searcher import Searcher
    return Searcher.open(build_tiny_index(tmp_path_factory.mktemp("tiny") / "index"))


@pytest.mark.parametrize("kwargs", [dict(query=""), dict(query="   "), dict(query="x" * 1001), dict(k=0),
                                    dict(k=1001), dict(mode="fuzzy"), dict(repo="nope/nope"), dict(lang="cobol")])
def test_refuses_what_the_contract_refuses(any_searcher, kwargs):
    args = {"query": "json", **kwargs}
    with pytest.raises(QueryError):
        any_searcher.search(args.pop("query"), **args)


def test_pages_filters_and_marks_lines(any_searcher):
    s = any_searcher
    assert s.size == len(CORPUS) and "demo/jsonio" in s.repos() and s.languages() == ["python"]
    everything = s.search("json file", k=100)
    assert everything.total == len(everything.hits) >= 4
    pages = [h.id for off in range(0, everything.total, 2) for h in s.search("json file", k=2, offset=off).hits]
    assert pages == [h.id for h in everything.hits]
    only = s.search("json file", repo="demo/jsonio")
    assert only.hits and {h.repo for h in only.hits} == {"demo/jsonio"}
    assert everything.hits[0].name in ("read_json", "write_json")
    assert everything.hits[0].matched_lines  # the description line mentions json
