"""The GitHub crawler against a fake search API on 127.0.0.1 and local bare git repositories."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import git
import pytest

from crawler.__main__ import main
from crawler.api import ApiClient, ApiError, RetryConfig
from crawler.clone import CloneConfig, CloneError, clone
from crawler.github import GitHubConfig, crawl
from crawler.manifest import RepoRecord, permalink, read_manifest
from crawler.search import SearchConfig

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "ghp_TESTtoken0123456789abcdefSECRET"
T0 = 1_700_000_000.0
# (full_name, stars, licence spdx_id, created, kind): kind says what its clone URL points at
REPOS = [
    ("ann/alpha", 90, "MIT", "2015-01-01", "ok"),
    ("ann/beta", 70, "MIT", "2016-01-01", "ok"),
    ("bob/gamma", 50, "Apache-2.0", "2016-06-01", "ok"),
    ("bob/delta", 50, "MIT", "2017-01-01", "ok"),
    ("cat/broken", 40, "MIT", "2017-02-01", "missing"),
    ("cat/unlicensed", 35, None, "2017-03-01", "ok"),
    *[(f"dan/t{i}", 20, "MIT", f"2018-0{i}-15", "ok") for i in range(1, 6)],  # 5 share a star count: over the cap
    ("eve/huge", 10, "MIT", "2019-01-01", "huge"),
    ("eve/last", 5, "MIT", "2020-01-01", "ok"),
]
PER_PAGE, CAP = 2, 4  # the fake's "1000 results per query" is 4, so every split path runs


class FakeClock:
    """Time that moves only when the crawler sleeps; records every wait."""

    def __init__(self):
        self.t = T0
        self.waits: list[float] = []

    def time(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.t += seconds


class FakeGitHub:
    """A search API serving REPOS, with scripted faults keyed by request number (1-based)."""

    def __init__(self, clone_urls: dict[str, str], clock: FakeClock | None = None):
        self.clone_urls = clone_urls
        self.clock = clock or FakeClock()
        self.faults: dict[int, str] = {}
        self.default_fault: str | None = None
        self.block_at: int | None = None
        self.release = threading.Event()
        self.requests: list[dict] = []
        self.sent_resets: list[tuple[float, int]] = []  # (clock time, X-RateLimit-Reset) for "exhaust"
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                fake.handle(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        u = urlparse(h.path)
        params = {k: v[0] for k, v in parse_qs(u.query).items()}
        with self.lock:
            self.requests.append({"path": u.path, "params": params, "auth": h.headers.get("Authorization")})
            n = len(self.requests)
        if n == self.block_at:
            self.release.wait(30)  # bounded: the test kills the crawler meanwhile
        fault = self.faults.get(n, self.default_fault)
        now = self.clock.time()
        if fault == "ratelimit":
            return self.send(h, 403, {"message": "API rate limit exceeded"},
                             {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(now) + 1)})
        if fault == "secondary":
            return self.send(h, 403, {"message": "You have exceeded a secondary rate limit."})
        if fault == "429":
            return self.send(h, 429, {"message": "slow down"}, {"Retry-After": "3"})
        if fault == "500":
            return self.send(h, 500, {"message": "Server Error"})
        if fault == "401":
            return self.send(h, 401, {"message": "Bad credentials"})
        if fault == "drop":
            h.close_connection = True  # no status line at all: the client sees a broken connection
            return
        if fault == "malformed":
            return self.send(h, 200, "{not json")
        status, body = self.search(params)
        headers = {}
        if fault == "exhaust":
            reset = int(now) + 5
            self.sent_resets.append((now, reset))
            headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset), "X-RateLimit-Resource": "search"}
        self.send(h, status, body, headers)

    def send(self, h, status: int, body, headers: dict | None = None) -> None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def search(self, params: dict) -> tuple[int, dict]:
        """Filter on stars:/created: qualifiers (others ignored), sort by stars, page, cap."""
        lo, hi, c_lo, c_hi = 0, 10**9, "0000", "9999"
        for tok in params["q"].split():
            key, _, val = tok.partition(":")
            if key == "stars":
                if val.startswith(">="):
                    lo = int(val[2:])
                elif ".." in val:
                    lo, hi = map(int, val.split(".."))
                else:
                    lo = hi = int(val)
            elif key == "created":
                c_lo, c_hi = val.split("..")
        hits = [r for r in REPOS if lo <= r[1] <= hi and c_lo <= r[3] <= c_hi]
        hits.sort(key=lambda r: (-r[1], r[0]))
        page, per_page = int(params["page"]), int(params["per_page"])
        if page * per_page > CAP:
            return 422, {"message": f"Only the first {CAP} search results are available"}
        items = [self.item(r) for r in hits[(page - 1) * per_page: page * per_page]]
        return 200, {"total_count": len(hits), "incomplete_results": False, "items": items}

    def item(self, r) -> dict:
        name, stars, spdx, created, _ = r
        return {"full_name": name, "html_url": f"https://github.com/{name}", "stargazers_count": stars,
                "created_at": created + "T00:00:00Z", "clone_url": self.clone_urls[name],
                "license": {"key": spdx.lower(), "spdx_id": spdx} if spdx else None}


def make_bare(root: Path, name: str, files: dict[str, bytes]) -> tuple[str, str]:
    """Create a bare repository holding one commit of `files`; return (file:// URL, sha)."""
    work = root / "work" / name
    work.mkdir(parents=True)
    repo = git.Repo.init(work)
    for rel, data in files.items():
        (work / rel).write_bytes(data)
    repo.index.add(list(files))
    actor = git.Actor("Test", "test@example.com")
    sha = repo.index.commit(f"add {name}", author=actor, committer=actor).hexsha
    bare = root / "bare" / f"{name}.git"
    git.Repo.clone_from(str(work), str(bare), bare=True).close()
    repo.close()
    return bare.as_uri(), sha


@pytest.fixture(scope="module")
def origin(tmp_path_factory):
    """Bare repositories for every fake repository; returns ({name: clone URL}, {name: sha})."""
    root = tmp_path_factory.mktemp("origin")
    urls, shas = {}, {}
    for name, _, _, _, kind in REPOS:
        slug = name.replace("/", "_")
        if kind == "missing":
            urls[name] = (root / "bare" / "does-not-exist.git").as_uri()
            continue
        files = {"main.py": f'def hello():\n    """Greet from {name}."""\n    return "{name}"\n'.encode()}
        if kind == "huge":
            files["blob.bin"] = random.Random(0).randbytes(400_000)  # incompressible: over a 0.2 MB cap
        urls[name], shas[name] = make_bare(root, slug, files)
    return urls, shas


def config(tmp: Path, **kw) -> GitHubConfig:
    search = SearchConfig(per_page=PER_PAGE, result_cap=CAP, latest="2024-12-31")
    cfg = GitHubConfig(out=str(tmp / "repos.jsonl"), repos_dir=str(tmp / "repos"), max_repos=0, jobs=2,
                       flush_seconds=0, search=search, clone=CloneConfig(max_mb=0.2))
    return replace(cfg, **kw)


def expected(shas: dict, repos_dir: Path, names=None) -> list[dict]:
    """What the manifest must say about REPOS (errors checked separately, by prefix)."""
    out = []
    for name, stars, spdx, _, kind in REPOS:
        if names is not None and name not in names:
            continue
        rec = RepoRecord(name=name, source="github", url=f"https://github.com/{name}", licence=spdx, stars=stars)
        if spdx != "MIT":
            rec.status = "skipped"
        elif kind in ("missing", "huge"):
            rec.status = "failed"
        else:
            rec.sha, rec.path = shas[name], str((repos_dir / "github" / name).resolve())
        out.append(asdict(rec))
    return sorted(out, key=lambda d: d["name"])


def manifest_dicts(path: Path) -> list[dict]:
    rows = [asdict(r) for r in read_manifest(path)]
    for d in rows:
        d["error"] = None
    return rows


def errors(path: Path) -> dict[str, str]:
    return {r.name: r.error for r in read_manifest(path) if r.error}


def test_crawl_writes_exact_manifest_and_observes_waits(origin, tmp_path, caplog):
    urls, shas = origin
    clock = FakeClock()
    with FakeGitHub(urls, clock) as api:
        api.faults = {1: "ratelimit", 2: "429", 3: "secondary", 4: "500", 5: "drop", 7: "exhaust"}
        client = ApiClient(api.url, token=TOKEN, clock=clock, rng=random.Random(7))
        counts = crawl(config(tmp_path), client)
    out = tmp_path / "repos.jsonl"
    assert manifest_dicts(out) == expected(shas, tmp_path / "repos")
    errs = errors(out)
    assert errs["bob/gamma"] == "licence Apache-2.0 is not one of MIT"
    assert errs["cat/unlicensed"] == "licence none is not one of MIT"
    assert errs["cat/broken"].startswith("git clone failed: ")
    assert "over the 0.2 MB cap" in errs["eve/huge"]
    assert (counts["ok"], counts["failed"], counts["skipped"]) == (9, 2, 2)
    # each checkout is the recorded commit of its origin
    for r in read_manifest(out):
        if r.status == "ok":
            assert git.Repo(r.path).head.commit.hexsha == r.sha
            assert (Path(r.path) / "main.py").read_text().count(r.name) == 2
    # waits: reset+margin, Retry-After, secondary-limit minute, jittered backoff x2, proactive reset wait
    jitter = random.Random(7)
    jitter.uniform(0, 0.5)  # the secondary limit's backoff draw, under its one-minute floor
    w500 = 0.5 + jitter.uniform(0, 0.5)
    wdrop = 1.0 + jitter.uniform(0, 1.0)
    (t_sent, reset), = api.sent_resets
    assert clock.waits == pytest.approx([2.0, 3.0, 60.0, w500, wdrop, reset - t_sent + 1.0])
    # every request carried the token; nothing the crawler wrote or logged contains it
    assert {r["auth"] for r in api.requests} == {f"Bearer {TOKEN}"}
    assert TOKEN not in caplog.text and TOKEN not in out.read_text()
    assert caplog.text.count("waiting") >= 5
    # the star windows and the date split for the five 20-star repositories were all used
    queries = [r["params"]["q"] for r in api.requests]
    assert any("stars:0..50" in q for q in queries) and any("stars:20 created:" in q for q in queries)
    assert all(int(r["params"]["page"]) * PER_PAGE <= CAP for r in api.requests)


def test_max_repos_stops_the_search_early(origin, tmp_path):
    urls, shas = origin
    with FakeGitHub(urls) as api:
        crawl(config(tmp_path, max_repos=3), ApiClient(api.url, clock=FakeClock()))
    assert manifest_dicts(tmp_path / "repos.jsonl") == expected(shas, tmp_path / "repos",
                                                                 {"ann/alpha", "ann/beta", "bob/delta"})
    assert len(api.requests) == 2  # the third repository is on page 2: no page 3 was asked for
    assert api.requests[0]["auth"] is None  # no token given, none sent


def test_extractor_reads_the_manifest_and_links_point_at_the_sha(origin, tmp_path):
    extract = pytest.importorskip("preprocess.extract")
    from preprocess.csvio import read_functions

    urls, shas = origin
    with FakeGitHub(urls) as api:
        crawl(config(tmp_path, max_repos=3), ApiClient(api.url, clock=FakeClock()))
    extract.extract(tmp_path / "repos.jsonl", tmp_path / "functions.csv", extract.ExtractConfig(workers=1, progress=False))
    rows = list(read_functions(tmp_path / "functions.csv"))
    assert sorted((r["repo"], r["name"], r["url"]) for r in rows) == [
        (n, "hello", f"https://github.com/{n}/blob/{shas[n]}/main.py#L1-L3") for n in ("ann/alpha", "ann/beta", "bob/delta")]
    rec = read_manifest(tmp_path / "repos.jsonl")[0]
    assert permalink(rec, "main.py", 2, 2) == f"https://github.com/ann/alpha/blob/{shas['ann/alpha']}/main.py#L2-L2"


def test_restart_skips_done_work_and_widened_licences_take_skipped_ones(origin, tmp_path):
    urls, shas = origin
    cfg = config(tmp_path)
    with FakeGitHub(urls) as api:
        crawl(cfg, ApiClient(api.url, clock=FakeClock()))
        first = (tmp_path / "repos.jsonl").read_text()
        marker = Path(read_manifest(tmp_path / "repos.jsonl")[0].path) / "marker"
        marker.write_text("a second clone would remove me")
        counts = crawl(cfg, ApiClient(api.url, clock=FakeClock()))
        assert (tmp_path / "repos.jsonl").read_text() == first and marker.exists()
        assert counts["done before"] == 13 and counts["ok"] == 0
        crawl(replace(cfg, licences=("MIT", "Apache-2.0")), ApiClient(api.url, clock=FakeClock()))
    gamma = {r.name: r for r in read_manifest(tmp_path / "repos.jsonl")}["bob/gamma"]
    assert (gamma.status, gamma.sha, gamma.licence) == ("ok", shas["bob/gamma"], "Apache-2.0")


def cli_args(api_url: str, tmp: Path) -> list[str]:
    return ["github", "--api-url", api_url, "--out", str(tmp / "repos.jsonl"), "--repos-dir", str(tmp / "repos"),
            "--per-page", str(PER_PAGE), "--result-cap", str(CAP), "--max-repos", "0", "--max-mb", "0.2",
            "--jobs", "2", "--flush-seconds", "0"]


def test_killed_crawl_restarted_matches_uninterrupted(origin, tmp_path, monkeypatch):
    urls, _ = origin
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    with FakeGitHub(urls) as api:
        assert main(cli_args(api.url, tmp_path / "whole")) == 0
    killed = tmp_path / "killed"
    with FakeGitHub(urls) as api:
        api.block_at = 3  # window 2, page 1: by then window 1's four repositories are answered
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([sys.executable, "-m", "crawler", *cli_args(api.url, killed)], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(read_rows(killed / "repos.jsonl")) < 4:
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=30)
        assert len(read_rows(killed / "repos.jsonl")) == 4 and len(api.requests) == 3
        api.release.set()
        assert main(cli_args(api.url, killed)) == 0
    assert TOKEN not in err.decode()

    def normalised(tmp: Path) -> list[dict]:
        rows = [asdict(r) for r in read_manifest(tmp / "repos.jsonl")]
        for d in rows:
            d["path"] = d["path"] and os.path.relpath(d["path"], tmp)
        return rows

    assert normalised(killed) == normalised(tmp_path / "whole")
    assert not list((killed / "repos").rglob(".*.partial"))


def read_rows(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_malformed_json_is_a_clear_error_and_keeps_finished_work(origin, tmp_path, monkeypatch, capsys):
    urls, shas = origin
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    with FakeGitHub(urls) as api:
        api.faults = {3: "malformed"}
        assert main(cli_args(api.url, tmp_path)) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: malformed JSON from http://127.0.0.1:") and "Traceback" not in err
    assert TOKEN not in err
    assert manifest_dicts(tmp_path / "repos.jsonl") == expected(
        shas, tmp_path / "repos", {"ann/alpha", "ann/beta", "bob/delta", "bob/gamma"})


def test_bounded_tries_and_unretryable_errors(origin):
    urls, _ = origin
    clock = FakeClock()
    with FakeGitHub(urls, clock) as api:
        api.default_fault = "500"
        client = ApiClient(api.url, token=TOKEN, retry=RetryConfig(max_tries=3), clock=clock)
        with pytest.raises(ApiError, match="after 3 tries: HTTP 500"):
            client.get_json("/search/repositories", {"q": "x", "page": 1, "per_page": 2})
        assert len(api.requests) == 3 and len(clock.waits) == 2
        assert clock.waits[1] > 1.0 >= clock.waits[0] >= 0.5  # backoff doubles, jitter keeps the lower half
        api.default_fault = "401"
        with pytest.raises(ApiError, match="HTTP 401: Bad credentials") as e:
            client.get_json("/search/repositories", {"q": "x", "page": 1, "per_page": 2})
        assert len(api.requests) == 4 and TOKEN not in str(e.value)


def test_clone_timeout_kills_git_and_its_helpers(tmp_path, monkeypatch):
    # git runs the "ssh" command for ssh:// URLs through sh; this one just hangs, like a stalled server
    marker = f"crawler-clone-test-{os.getpid()}-{tmp_path.name}"
    monkeypatch.setenv("GIT_SSH_COMMAND", f"sleep 30 # {marker}")
    with pytest.raises(CloneError, match="timed out after 0.5 s"):
        clone("ssh://git@127.0.0.1/x.git", tmp_path / "x", CloneConfig(timeout_s=0.5, poll_s=0.1))
    assert not (tmp_path / "x").exists() and not (tmp_path / ".x.partial").exists()
    alive = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker.encode() in cmdline.read_bytes():
                alive.append(cmdline.parent.name)
        except OSError:
            pass  # the process ended while we looked
    assert alive == []  # the helper shell went down with git
