"""MCP `search_code` round trip over stdio, from the official SDK's client to `codesearch mcp`: p50/p99.

    python -m benchmarks.speed.mcp_latency --index data/index --calls 1000        # the issue's figure
    python -m benchmarks.speed.mcp_latency --index /tmp/small-index --calls 50    # a quick check of the script
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import anyio
import numpy as np

from benchmarks.speed.web_load import QUERIES
from codesearch_common.fsutil import atomic_open

ROOT = Path(__file__).resolve().parents[2]


async def measure(index: str, calls: int, warmup: int, k: int, mode: str) -> dict:
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client
    params = StdioServerParameters(command=sys.executable, args=["-m", "index", "mcp", "--index", index], cwd=str(ROOT))
    t0 = time.perf_counter()
    async with stdio_client(params) as (r, w):
        async with ClientSession(r, w) as s:
            await s.initialize()
            ready = time.perf_counter() - t0
            # the index opens after `initialize`: the first search waits for it
            first = await s.call_tool("search_code", {"query": QUERIES[0], "k": k, "mode": mode})
            first_s = time.perf_counter() - t0
            ts, errors = [], int(bool(first.is_error))
            for i in range(warmup + calls):
                t = time.perf_counter()
                res = await s.call_tool("search_code", {"query": QUERIES[i % len(QUERIES)], "k": k, "mode": mode})
                dt = time.perf_counter() - t
                errors += bool(res.is_error)
                if i >= warmup:
                    ts.append(dt)
            status = json.loads((await s.call_tool("index_status", {})).content[0].text)
    a = np.asarray(ts) * 1000
    return {"index": index, "functions": status["functions"], "calls": calls, "k": k, "mode": mode, "errors": errors,
            "startup_to_initialized_s": round(ready, 2), "startup_to_first_search_s": round(first_s, 2),
            "p50_ms": round(float(np.percentile(a, 50)), 2),
            "p99_ms": round(float(np.percentile(a, 99)), 2), "mean_ms": round(float(a.mean()), 2)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.speed.mcp_latency", description=__doc__.split("\n")[0])
    p.add_argument("--index", default="data/index")
    p.add_argument("--calls", type=int, default=1000)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--mode", default="hybrid")
    p.add_argument("--out", help="write the figures as JSON here")
    args = p.parse_args(argv)
    res = anyio.run(measure, args.index, args.calls, args.warmup, args.k, args.mode)
    print(json.dumps(res, indent=2))
    if args.out:
        with atomic_open(args.out, "w") as f:
            json.dump(res, f, indent=2)
    return 0 if not res["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
