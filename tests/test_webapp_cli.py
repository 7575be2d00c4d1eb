"""`python -m webapp`: served by waitress on 127.0.0.1, prints its URL, one-line errors with exit code 2."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from webapp.__main__ import main

ROOT = Path(__file__).parents[1]


@pytest.fixture(autouse=True)
def private_environ(monkeypatch):
    """main() sets OMP_NUM_THREADS for the server; keep that out of the test process's environment."""
    monkeypatch.setattr("webapp.__main__.os.environ", dict(os.environ))


def get(url: str) -> tuple[int, str, str]:
    """GET url; return status, content type and body (error statuses included)."""
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.headers["Content-Type"], r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], e.read().decode()


def serve(*args: str) -> tuple[subprocess.Popen, str]:
    """Start `python -m webapp ARGS --port 0`; return the process and the URL it printed."""
    proc = subprocess.Popen([sys.executable, "-m", "webapp", "--port", "0", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("Serving code search on http://127.0.0.1:"):
            return proc, line.split()[4].rstrip("/")
        if proc.poll() is not None:
            break
    proc.kill()
    pytest.fail(f"the server did not start: {proc.stderr.read()}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=20)


def test_a_missing_index_is_a_one_line_error_and_exit_2(tmp_path, capsys):
    assert main(["--index", str(tmp_path / "nothing"), "--port", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "make index" in err and "\n" not in err and "Traceback" not in err


def test_a_busy_port_is_a_one_line_error_and_exit_2(tmp_path, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["--index", str(tmp_path), "--no-check", "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: cannot listen on 127.0.0.1:{port}") and "\n" not in err


@pytest.mark.parametrize("argv", [["--port", "70000"], ["--port", "x"], ["--threads", "0"], ["--search-threads", "0"], ["--bogus"]])
def test_bad_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2 and "Traceback" not in capsys.readouterr().err


def test_started_without_an_index_the_page_says_how_to_build_one(tmp_path):
    proc, url = serve("--index", str(tmp_path / "nothing"), "--no-check")
    try:
        assert url.startswith("http://127.0.0.1:")
        status, ctype, body = get(url + "/healthz")
        assert status == 503 and ctype == "application/json" and json.loads(body)["status"] == "unavailable"
        status, ctype, body = get(url + "/")
        assert status == 503 and ctype.startswith("text/html") and "make index" in body
        status, ctype, body = get(url + "/api/search?q=json")
        assert status == 503 and "make index" in json.loads(body)["error"]
    finally:
        stop(proc)
    assert "Traceback" not in proc.stderr.read()


def test_sync_keeps_the_served_index_in_sync_with_its_folder(tmp_path):
    from index.manifest import IndexConfig
    from index.sync import SyncConfig, sync
    sys.path.insert(0, str(Path(__file__).parent))
    from syncutil import make_project
    proj = make_project(tmp_path / "proj")
    sync([str(proj)], tmp_path / "idx", SyncConfig(model="hashing:64", index=IndexConfig(progress=False), progress=False))
    proc, url = serve("--index", str(tmp_path / "idx"), "--sync")
    try:
        (proj / "pkg/widgets.py").write_text('def frobnicate_widgets(w):\n    """Frobnicate widgets."""\n    return w\n')
        for _ in range(600):     # bounded: at most 60 s for the background sync to publish it
            status, _, body = get(url + "/api/search?q=frobnicate+widgets&mode=lexical")
            found = [r["name"] for r in json.loads(body)["results"]] if status == 200 else []
            if "frobnicate_widgets" in found:
                break
            time.sleep(0.1)
        assert "frobnicate_widgets" in found
    finally:
        stop(proc)
    assert "Traceback" not in proc.stderr.read()
