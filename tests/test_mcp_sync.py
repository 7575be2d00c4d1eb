"""`codesearch mcp` keeps its index fresh by itself, creates it on first use and answers `initialize` before opening it."""
import errno
import json
import os
import shutil
import subprocess
import sys
import threading
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
FAST = ["--interval", "0.1", "--settle", "0.1"]
NEW_FILE = 'def frobnicate_widgets(w):\n    """Frobnicate the widgets of a gadget."""\n    return [x * 2 for x in w]\n'


def config() -> SyncConfig:
    return SyncConfig(model="hashing:64", index=IndexConfig(progress=False), progress=False)


def server(*args: str) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-m", "index", "mcp", *args], cwd=str(ROOT))


def payload(res) -> dict:
    assert not res.is_error, res.content
    return json.loads(res.content[0].text)


async def until(s: ClientSession, tool: str, args: dict, ok, tries: int = 600):
    """Call a tool until ok(payload) holds; bounded (tries x 0.1 s), the last payload either way."""
    for _ in range(tries):
        got = payload(await s.call_tool(tool, args))
        if ok(got):
            return got
        await anyio.sleep(0.1)
    return got


def over_synced_project(tmp_path: Path, calls) -> dict:
    """Sync the fixture project, then run calls(idx, proj, errlog) against servers on it."""
    proj = make_project(tmp_path / "proj")
    idx = tmp_path / "idx"
    sync([str(proj)], idx, config())
    with open(tmp_path / "stderr.txt", "w+") as err:
        return anyio.run(calls, idx, proj, err)


def names(res: dict) -> list[str]:
    return [h["name"] for h in res["hits"]]


async def two_servers(idx: Path, proj: Path, err) -> dict:
    out = {}
    async with stdio_client(server("--index", str(idx), *FAST), errlog=err) as (r1, w1), \
            ClientSession(r1, w1) as first:
        await first.initialize()
        out["first_before"] = await until(first, "index_status", {}, lambda st: st["sync"]["auto_sync"])
        async with stdio_client(server("--index", str(idx), *FAST), errlog=err) as (r2, w2), \
                ClientSession(r2, w2) as second:
            await second.initialize()
            out["second_before"] = await until(second, "index_status", {}, lambda st: st["sync"]["note"])
            (proj / "pkg/widgets.py").write_text(NEW_FILE)
            query = {"query": "frobnicate widgets", "k": 3, "mode": "lexical"}
            out["second_search"] = await until(second, "search_code", query, lambda r: "frobnicate_widgets" in names(r))
            out["second_after"] = payload(await second.call_tool("index_status", {}))
        out["first_after"] = payload(await first.call_tool("index_status", {}))
    return out


def test_the_server_syncs_an_edit_by_itself_and_a_second_server_only_serves(tmp_path):
    out = over_synced_project(tmp_path, two_servers)
    assert out["first_before"]["sync"]["auto_sync"] and out["first_before"]["sync"]["enabled"]
    second = out["second_before"]["sync"]
    assert not second["auto_sync"] and "already keeps" in second["note"] and second["syncs"] == 0
    assert "frobnicate_widgets" in names(out["second_search"])     # synced by the first, served by the second
    assert out["second_after"]["sync"]["syncs"] == 0
    first = out["first_after"]["sync"]
    assert first["syncs"] >= 2 and first["last"]["changed"] and not first["running"]
    assert out["first_after"]["generation"] >= 1


async def forced_sync(idx: Path, proj: Path, err) -> dict:
    out = {}
    async with stdio_client(server("--index", str(idx), "--no-sync"), errlog=err) as (r, w), ClientSession(r, w) as s:
        await s.initialize()
        out["before"] = payload(await s.call_tool("index_status", {}))
        (proj / "pkg/widgets.py").write_text(NEW_FILE)
        os.remove(proj / "tools/net.py")
        out["sync"] = payload(await s.call_tool("sync_index", {}))
        out["again"] = payload(await s.call_tool("sync_index", {}))
        out["search"] = payload(await s.call_tool("search_code", {"query": "frobnicate widgets", "mode": "lexical"}))
        out["status"] = payload(await s.call_tool("index_status", {}))
        shutil.rmtree(proj)
        out["gone"] = await s.call_tool("sync_index", {})
        out["still"] = await s.call_tool("index_status", {})
    return out


def test_sync_index_reports_what_changed_and_no_sync_leaves_the_index_alone(tmp_path):
    out = over_synced_project(tmp_path, forced_sync)
    assert not out["before"]["sync"]["enabled"] and out["before"]["sync"]["syncs"] == 0
    rep = out["sync"]
    assert rep["changed"] and rep["files_added_or_changed"] == ["local/proj/pkg/widgets.py"]
    assert rep["files_removed_or_changed"] == ["local/proj/tools/net.py"]
    assert rep["functions_added"] == 1 and rep["functions_removed"] == 1 and rep["generation"] == 1
    assert not out["again"]["changed"] and out["again"]["functions"] == rep["functions"]
    assert names(out["search"])[0] == "frobnicate_widgets"
    assert out["status"]["sync"]["last"]["ended"] and out["status"]["functions"] == rep["functions"]
    assert out["gone"].is_error and "not a folder" in out["gone"].content[0].text
    assert "Traceback" not in out["gone"].content[0].text
    assert payload(out["still"])["sync"]["error"]


async def first_use(idx: Path, proj: Path, err) -> dict:
    async with stdio_client(server(str(proj), "--index", str(idx), "--model", "hashing:64", *FAST),
                            errlog=err) as (r, w), ClientSession(r, w) as s:
        await s.initialize()
        hits = payload(await s.call_tool("search_code", {"query": "read a json file", "k": 1, "lang": "python"}))
        return {"hits": hits, "status": payload(await s.call_tool("index_status", {}))}


def test_mcp_with_folders_creates_the_index_on_first_use(tmp_path):
    proj = make_project(tmp_path / "proj")
    idx = tmp_path / "new" / "idx"
    with open(tmp_path / "stderr.txt", "w+") as err:
        out = anyio.run(first_use, idx, proj, err)
    assert names(out["hits"]) == ["read_json"]
    st = out["status"]
    assert st["ready"] and st["sync"]["auto_sync"] and st["sync"]["last"]["created"]
    assert (idx / "manifest.json").exists()


class ManifestPipe:
    """manifest.json as a named pipe: reading it blocks until write() starts feeding the real text."""

    def __init__(self, idx: Path):
        self.path, self.text = idx / "manifest.json", (idx / "manifest.json").read_bytes()
        os.remove(self.path)
        os.mkfifo(self.path)
        self.stop = threading.Event()

    def feed(self) -> None:
        while not self.stop.wait(0.01):       # one whole manifest to every reader that opens it
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as e:
                if e.errno == errno.ENXIO:     # no reader yet
                    continue
                raise
            try:
                os.write(fd, self.text)
            finally:
                os.close(fd)

    def write(self) -> threading.Thread:
        t = threading.Thread(target=self.feed, daemon=True)
        t.start()
        return t


async def blocked_open(idx: Path, proj: Path, err) -> dict:
    out, pipe = {}, ManifestPipe(idx)
    async with stdio_client(server("--index", str(idx), "--no-sync"), errlog=err) as (r, w), ClientSession(r, w) as s:
        out["init"] = await s.initialize()
        out["tools"] = {t.name for t in (await s.list_tools()).tools}
        out["before"] = payload(await s.call_tool("index_status", {}))   # the open is still blocked on the pipe
        feeder = pipe.write()
        out["search"] = payload(await s.call_tool("search_code", {"query": "add two numbers", "k": 1}))
        out["after"] = payload(await s.call_tool("index_status", {}))
    pipe.stop.set()
    feeder.join(10)
    return out


def test_initialize_is_answered_before_the_index_is_opened(tmp_path):
    out = over_synced_project(tmp_path, blocked_open)
    assert out["init"].server_info.name == "codesearch" and "search_code" in out["tools"]
    assert not out["before"]["ready"] and "functions" not in out["before"]
    assert names(out["search"]) == ["add_numbers"]
    assert out["after"]["ready"] and out["after"]["functions"] > 0


def test_bad_folders_fail_before_the_protocol(tmp_path):
    p = subprocess.run([sys.executable, "-m", "index", "mcp", str(tmp_path / "nope"), "--index", str(tmp_path / "i")],
                       cwd=ROOT, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 1 and p.stdout == "" and "not a folder" in p.stderr and "Traceback" not in p.stderr
