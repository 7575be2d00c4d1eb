"""How soon an edit saved to a file is found by `search_code` of a `codesearch mcp` server that syncs by itself.

    python -m benchmarks.speed.mcp_freshness --files 5000 --model codenn/pretrained    # the issue's target: <= 5 s
    python -m benchmarks.speed.mcp_freshness --files 200 --model hashing --edits 2     # a quick check of the script

Writes a repository of --files small Python files, indexes it (`index sync`), starts the server over
stdio with the SDK's client, then --edits times: saves a file holding a new function and polls
`search_code` (lexical, its unique name) until it is the first hit. Reports each edit's seconds.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import anyio

ROOT = Path(__file__).resolve().parents[2]
BODY = '''def {name}(values, factor={i}):
    """Scale the values of batch {i} by a factor and drop the negative ones."""
    return [v * factor for v in values if v >= 0]
'''


def make_repo(root: Path, files: int) -> None:
    """files Python files of one function each, 50 to a folder."""
    for i in range(files):
        p = root / f"pkg{i // 50:03d}" / f"mod{i:05d}.py"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(BODY.format(name=f"scale_batch_{i}", i=i))


async def measure(repo: Path, index: Path, edits: int, poll_s: float) -> list[float]:
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client
    params = StdioServerParameters(command=sys.executable, args=["-m", "index", "mcp", "--index", str(index)],
                                   cwd=str(ROOT))
    out = []
    async with stdio_client(params) as (r, w), ClientSession(r, w) as s:
        await s.initialize()
        await s.call_tool("search_code", {"query": "warm up", "k": 1})     # waits for the open
        for _ in range(600):      # the start-up sync done: the server is watching
            st = json.loads((await s.call_tool("index_status", {})).content[0].text)["sync"]
            if st["syncs"] and not st["running"]:
                break
            await anyio.sleep(0.1)
        for e in range(edits):
            name = f"freshly_saved_function_{e}"
            t0 = time.perf_counter()
            (repo / f"pkg000/edit{e}.py").write_text(BODY.format(name=name, i=e))
            while time.perf_counter() - t0 < 120:
                res = await s.call_tool("search_code", {"query": name, "k": 1, "mode": "lexical"})
                hits = json.loads(res.content[0].text)["hits"] if not res.is_error else []
                if hits and hits[0]["name"] == name:
                    break
                await anyio.sleep(poll_s)
            out.append(round(time.perf_counter() - t0, 2))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.speed.mcp_freshness", description=__doc__.split("\n")[0])
    p.add_argument("--files", type=int, default=5000)
    p.add_argument("--model", default=None, help="model of the index (default: the shipped one)")
    p.add_argument("--edits", type=int, default=5)
    p.add_argument("--poll", type=float, default=0.1, help="seconds between search_code calls")
    args = p.parse_args(argv)
    from index.sync import SyncConfig, sync
    with tempfile.TemporaryDirectory(prefix="mcp-fresh-") as tmp:
        repo, index = Path(tmp) / "repo", Path(tmp) / "index"
        make_repo(repo, args.files)
        t0 = time.perf_counter()
        r = sync([str(repo)], index, SyncConfig(model=args.model, progress=False))
        build_s = time.perf_counter() - t0
        seconds = anyio.run(measure, repo, index, args.edits, args.poll)
    print(json.dumps({"files": args.files, "functions": r.functions, "model": args.model or "shipped",
                      "first_sync_s": round(build_s, 1), "edit_to_found_s": seconds,
                      "max_s": max(seconds)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
