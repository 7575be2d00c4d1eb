"""The `codesearch mcp` command line: serve an index to coding agents over stdio (or streamable HTTP on 127.0.0.1)."""
from __future__ import annotations

import argparse
import contextlib
import sys


def add_parser(sub) -> argparse.ArgumentParser:
    m = sub.add_parser("mcp", help="serve the index to coding agents (Model Context Protocol, stdio)")
    m.add_argument("--index", required=True, help="index folder (from `codesearch index sync` or `make index`)")
    m.add_argument("--model", help="model directory (default: the one the index was built with)")
    m.add_argument("--http", type=int, metavar="PORT", help="serve streamable HTTP on 127.0.0.1:PORT/mcp instead of stdio")
    return m


def run(args) -> int:
    from .live import LiveSearcher
    from .mcp_server import build_server
    if args.http is not None and not 0 < args.http < 65536:
        raise ValueError(f"--http must be a port from 1 to 65535, not {args.http}")
    live = LiveSearcher(args.index, args.model)
    with contextlib.redirect_stdout(sys.stderr):   # stdout carries the protocol only
        live.get()                                 # a missing or unreadable index fails here, before the protocol
    server = build_server(live)
    if args.http is not None:
        print(f"codesearch MCP server on http://127.0.0.1:{args.http}/mcp", file=sys.stderr, flush=True)
        server.run("streamable-http", host="127.0.0.1", port=args.http)
    else:
        server.run("stdio")
    return 0
