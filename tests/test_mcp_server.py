"""`codesearch mcp`: the official SDK's client talks to the server over a real stdio subprocess (and HTTP)."""
import json
import socket
import subprocess
import threading
import sys
import time
from pathlib import Path

import anyio
import pytest

from index.manifest import IndexConfig
from index.sync import SyncConfig, sync
from syncutil import make_project

mcp = pytest.importorskip("mcp")
from mcp import ClientSession  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TOOLS = {"search_code", "get_function", "similar_functions", "list_repositories", "index_status", "sync_index"}


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mcp")
    proj = make_project(tmp / "proj")
    idx = tmp / "idx"
    sync([str(proj)], idx, SyncConfig(model="hashing:64", index=IndexConfig(progress=False), progress=False))
    return idx


def payload(res) -> dict:
    assert not res.is_error, res.content
    return json.loads(res.content[0].text)


async def session_calls(idx: Path, stderr) -> dict:
    params = StdioServerParameters(command=sys.executable, args=["-m", "index", "mcp", "--index", str(idx)],
                                   cwd=str(ROOT))
    out = {}
    async with stdio_client(params, errlog=stderr) as (r, w):
        async with ClientSession(r, w) as s:
            out["init"] = await s.initialize()
            out["tools"] = (await s.list_tools()).tools
            out["search"] = await s.call_tool("search_code", {"query": "read a json file", "k": 3, "lang": "python"})
            hit = payload(out["search"])["hits"][0]
            out["get"] = await s.call_tool("get_function", {"id": hit["id"], "context": 3})
            out["similar"] = await s.call_tool("similar_functions", {"id": hit["id"], "k": 2})
            out["repos"] = await s.call_tool("list_repositories", {})
            out["status"] = await s.call_tool("index_status", {})
            out["filtered"] = await s.call_tool("search_code", {"query": "numbers", "path": "pkg/*", "lang": "python"})
            out["bad_k"] = await s.call_tool("search_code", {"query": "x", "k": 0})
            out["bad_query"] = await s.call_tool("search_code", {"query": "   "})
            out["bad_repo"] = await s.call_tool("search_code", {"query": "json", "repo": "nope"})
            out["bad_id"] = await s.call_tool("get_function", {"id": 10 ** 9})
            out["after"] = await s.call_tool("index_status", {})   # still serving after the errors
    return out


def test_stdio_server_answers_the_sdk_client(index, tmp_path):
    with open(tmp_path / "stderr.txt", "w+") as err:
        out = anyio.run(session_calls, index, err)
    assert out["init"].server_info.name == "codesearch"
    tools = {t.name: t for t in out["tools"]}
    assert set(tools) == TOOLS
    for name in ("search_code", "get_function", "similar_functions"):
        props = tools[name].input_schema["properties"]
        assert props and all(p.get("description") for p in props.values()), name
    hits = payload(out["search"])["hits"]
    assert hits[0]["name"] == "read_json"
    assert {"name", "path", "start_line", "end_line", "url", "score", "code"} <= set(hits[0])
    fn = payload(out["get"])
    assert fn["code"].startswith("def read_json") and fn["context_from_file"] and "def write_text" in fn["after"]
    sim = payload(out["similar"])["hits"]
    assert sim and all(h["id"] != hits[0]["id"] for h in sim)
    repos = payload(out["repos"])["repositories"]
    assert [r["name"] for r in repos] == ["local/proj"] and repos[0]["functions"] > 0
    st = payload(out["status"])
    assert st["functions"] == repos[0]["functions"] and "python" in st["languages"] and st["model"]
    assert st["last_synced"] and st["generation"] == 0
    assert all(h["path"].startswith("pkg/") for h in payload(out["filtered"])["hits"])
    for bad, says in (("bad_k", "k"), ("bad_query", "empty"), ("bad_repo", "unknown repository"), ("bad_id", "no function")):
        assert out[bad].is_error and says in out[bad].content[0].text, bad
    assert payload(out["after"])["functions"] == st["functions"]


def test_missing_index_fails_before_the_protocol(tmp_path):
    p = subprocess.run([sys.executable, "-m", "index", "mcp", "--index", str(tmp_path / "none")], cwd=ROOT,
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 1 and p.stdout == "" and "no search index" in p.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def http_calls(url: str) -> dict:
    from mcp.client.streamable_http import streamable_http_client
    async with streamable_http_client(url) as streams:
        async with ClientSession(streams[0], streams[1]) as s:
            await s.initialize()
            return payload(await s.call_tool("search_code", {"query": "add two numbers", "k": 1}))


def test_streamable_http_on_localhost(index, tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "index", "mcp", "--index", str(index), "--http", str(port)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "err.txt", "w"))
    try:
        for _ in range(300):     # bounded wait for the listener: at most 30 s
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert proc.poll() is None, (tmp_path / "err.txt").read_text()
            time.sleep(0.1)
        res = anyio.run(http_calls, f"http://127.0.0.1:{port}/mcp")
        assert res["hits"][0]["name"] == "add_numbers"
    finally:
        proc.terminate()
        proc.wait(10)


def test_stdout_carries_nothing_but_protocol(index):
    msgs = [{"jsonrpc": "2.0", "id": 1, "method": "initialize",
             "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}},
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}]
    # stdin stays open until the answer to tools/list is read: at EOF the server may stop before answering
    proc = subprocess.Popen([sys.executable, "-m", "index", "mcp", "--index", str(index)], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    lines, killer = [], threading.Timer(60, proc.kill)   # a hung server ends the reads below (EOF)
    killer.start()
    try:
        proc.stdin.write("".join(json.dumps(m) + "\n" for m in msgs))
        proc.stdin.flush()
        for _ in range(20):                       # a few messages at most; readline blocks until each arrives
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(json.loads(line))        # every line is a JSON-RPC message
            if lines[-1].get("id") == 2:
                break
    finally:
        killer.cancel()
        proc.stdin.close()
        proc.wait(60)
    assert all(m.get("jsonrpc") == "2.0" for m in lines)
    listed = [m for m in lines if m.get("id") == 2]
    assert listed and {t["name"] for t in listed[0]["result"]["tools"]} == TOOLS
