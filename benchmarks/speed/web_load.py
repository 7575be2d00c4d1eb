"""Load the served search app on 127.0.0.1: requests/s and p50/p99 latency at 1, 8 and 32 clients.

    python -m benchmarks.speed.web_load --index data/index                 # starts `python -m webapp` itself
    python -m benchmarks.speed.web_load --url http://127.0.0.1:8000         # against a running `make serve`

Each level sends exactly --requests requests (keep-alive connections, one per client, queries cycled
from a fixed list) after a short warm-up, and stops early only at --max-seconds. A request is an
error unless it answers 200 with a JSON body holding results (or, with --endpoint page, an HTML page).
"""
from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import numpy as np

from codesearch_common.fsutil import atomic_open

QUERIES = (
    "read a json file", "write a dictionary to a json file", "join two paths", "compute the sha256 of a file",
    "parse a url query string", "sort a dictionary by value", "download a file over http", "create a temporary directory",
    "convert a string to camel case", "check whether a file exists", "list the files in a directory recursively",
    "parse command line arguments", "read a csv file", "base64 encode bytes", "get the current time in utc",
    "compress data with gzip", "split a string on whitespace", "remove duplicates from a list",
    "format a number with thousands separators", "compute the mean of a list", "open a sqlite database",
    "send an email", "match a regular expression", "copy a file", "flatten a nested list", "retry a function call",
    "merge two dictionaries", "parse an iso date", "generate a random password", "read lines from a text file",
    "make an http post request", "escape html", "serialize an object with pickle", "convert bytes to hex",
    "find the maximum value in an array", "multiply two matrices", "tokenize a sentence", "load a yaml config",
    "calculate the cosine similarity of two vectors", "start a thread pool",
)


@dataclass
class Level:
    clients: int
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float


def request_path(endpoint: str, i: int, k: int) -> str:
    args = urlencode({"q": QUERIES[i % len(QUERIES)], "k": k})
    return f"/api/search?{args}" if endpoint == "api" else f"/?{args}"


def answered(status: int, body: bytes, endpoint: str) -> bool:
    """True for a real answer: 200 and results (API) or the page (HTML)."""
    if status != 200:
        return False
    if endpoint == "page":
        return b'id="results"' in body
    try:
        return isinstance(json.loads(body)["results"], list)
    except (ValueError, KeyError, TypeError):
        return False


class Client(threading.Thread):
    """One keep-alive connection sending requests until the shared budget is spent."""

    def __init__(self, host: str, port: int, endpoint: str, k: int, budget: "Budget"):
        super().__init__(daemon=True)
        self.host, self.port, self.endpoint, self.k, self.budget = host, port, endpoint, k, budget
        self.latencies: list[float] = []
        self.errors = 0
        self.first_error: str | None = None

    def run(self) -> None:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        while (i := self.budget.take()) is not None:
            t0 = time.perf_counter()
            try:
                conn.request("GET", request_path(self.endpoint, i, self.k))
                response = conn.getresponse()
                ok = answered(response.status, response.read(), self.endpoint)
                why = f"HTTP {response.status}"
            except (OSError, http.client.HTTPException) as e:
                ok, why = False, f"{type(e).__name__}: {e}"
                conn.close()
                conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            self.latencies.append(time.perf_counter() - t0)
            if not ok:
                self.errors += 1
                self.first_error = self.first_error or why
        conn.close()


class Budget:
    """A bounded, thread-safe request counter with a wall-clock cap."""

    def __init__(self, n: int, max_seconds: float, start: int = 0):
        self.n, self.next, self.lock = start + n, start, threading.Lock()
        self.deadline = time.perf_counter() + max_seconds

    def take(self) -> int | None:
        with self.lock:
            if self.next >= self.n or time.perf_counter() > self.deadline:
                return None
            self.next += 1
            return self.next - 1


def drive(host: str, port: int, clients: int, budget: Budget, endpoint: str, k: int) -> tuple[list[Client], float]:
    """Run `clients` connections until the budget is spent; return them and the wall time."""
    threads = [Client(host, port, endpoint, k, budget) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return threads, time.perf_counter() - t0


def run_level(url: str, clients: int, n: int, endpoint: str, k: int, max_seconds: float, warmup: int) -> Level:
    """Warm up, then send n requests from `clients` concurrent connections; summarise latencies."""
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or 80
    drive(host, port, clients, Budget(warmup, max_seconds, start=len(QUERIES) // 2), endpoint, k)
    threads, seconds = drive(host, port, clients, Budget(n, max_seconds), endpoint, k)
    lat = np.array([x for t in threads for x in t.latencies]) * 1000  # (n,) ms
    errors = sum(t.errors for t in threads)
    first = next((t.first_error for t in threads if t.first_error), None)
    if first:
        print(f"  {clients} clients: {errors} errors, first: {first}", file=sys.stderr)
    p50, p90, p99 = np.percentile(lat, [50, 90, 99]) if len(lat) else (float("nan"),) * 3
    return Level(clients=clients, requests=len(lat), errors=errors, seconds=round(seconds, 2),
                 rps=round(len(lat) / seconds, 1), p50_ms=round(float(p50), 2), p90_ms=round(float(p90), 2),
                 p99_ms=round(float(p99), 2), max_ms=round(float(lat.max()), 2) if len(lat) else float("nan"))


def start_server(index: str, threads: int, log: Path, timeout: float) -> tuple[subprocess.Popen, str]:
    """Start `python -m webapp` (what `make serve` runs) on a free port; return it and its URL.

    Its stderr (waitress's "task queue depth" warnings at high concurrency) goes to `log`.
    """
    cmd = [sys.executable, "-m", "webapp", "--index", index, "--host", "127.0.0.1", "--port", "0",
           "--threads", str(threads)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(log, "w"), text=True)
    line = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        line = proc.stdout.readline()
        if line.startswith("Serving code search on "):
            return proc, line.split()[4].rstrip("/")
    proc.kill()
    raise SystemExit(f"error: the server did not start (exit code {proc.poll()}); see {log}")


def describe(url: str) -> dict:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=30)
    conn.request("GET", "/healthz")
    response = conn.getresponse()
    body = json.loads(response.read())
    if response.status != 200:
        raise SystemExit(f"error: {url}/healthz answered {response.status}: {body.get('error')}")
    return body


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.speed.web_load", description=__doc__.split("\n")[0])
    where = p.add_mutually_exclusive_group()
    where.add_argument("--url", help="a running server (e.g. `make serve`), like http://127.0.0.1:8000")
    where.add_argument("--index", default="data/index", help="index to serve when no --url is given")
    p.add_argument("--clients", default="1,8,32", help="comma-separated concurrency levels")
    p.add_argument("--requests", type=int, default=10_000, help="requests per level")
    p.add_argument("--warmup", type=int, default=100, help="uncounted requests before each level")
    p.add_argument("--endpoint", choices=("api", "page"), default="api")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--threads", type=int, default=4, help="waitress threads of the server this starts")
    p.add_argument("--max-seconds", type=float, default=900, help="stop a level after this long")
    p.add_argument("--out", help="write the figures as JSON here")
    p.add_argument("--server-log", default=str(Path(tempfile.gettempdir()) / "web_load_server.log"),
                   help="where the started server's stderr goes")
    args = p.parse_args(argv)
    try:
        args.levels = [int(c) for c in args.clients.split(",")]
    except ValueError:
        p.error(f"--clients must be comma-separated integers, got {args.clients!r}")
    if any(c < 1 for c in args.levels) or args.requests < 1:
        p.error("--clients and --requests must be positive")
    if args.url and urlsplit(args.url).hostname not in ("127.0.0.1", "localhost"):
        p.error("--url must be on 127.0.0.1 (this is a load generator)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    proc, url = (None, args.url.rstrip("/")) if args.url else start_server(args.index, args.threads, Path(args.server_log), 600)
    try:
        info = describe(url)
        print(f"{url}: {info['functions']:,} functions, {info['repos']} repos; endpoint {args.endpoint}, k={args.k}")
        print("| clients | requests | errors | seconds | req/s | p50 ms | p90 ms | p99 ms | max ms |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        levels = []
        for clients in args.levels:
            lv = run_level(url, clients, args.requests, args.endpoint, args.k, args.max_seconds, args.warmup)
            levels.append(lv)
            print(f"| {lv.clients} | {lv.requests} | {lv.errors} | {lv.seconds} | {lv.rps} | {lv.p50_ms} | "
                  f"{lv.p90_ms} | {lv.p99_ms} | {lv.max_ms} |", flush=True)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
    if args.out:
        with atomic_open(Path(args.out), "w", encoding="utf-8") as f:
            json.dump({"url": url, "server": info, "endpoint": args.endpoint, "k": args.k,
                       "server_threads": None if args.url else args.threads,
                       "levels": [asdict(lv) for lv in levels]}, f, indent=2)
    return 1 if any(lv.errors for lv in levels) else 0


if __name__ == "__main__":
    sys.exit(main())
