"""The `codesearch mcp` command line: serve an index to coding agents over stdio (or streamable HTTP on 127.0.0.1).

The server keeps the index in sync with its folders by itself (`--no-sync` turns that off), and
`codesearch mcp DIR... --index I` creates the index on first use: one line of an agent's configuration.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path


def add_parser(sub) -> argparse.ArgumentParser:
    m = sub.add_parser("mcp", help="serve the index to coding agents (Model Context Protocol, stdio)")
    m.add_argument("dirs", nargs="*", metavar="DIR",
                   help="folders to index and keep in sync (default: those the index was synced from)")
    m.add_argument("--index", required=True, help="index folder (created from DIR... when it does not exist)")
    m.add_argument("--model", help="model directory (default: the index's; for a new index, the shipped one)")
    m.add_argument("--http", type=int, metavar="PORT", help="serve streamable HTTP on 127.0.0.1:PORT/mcp instead of stdio")
    m.add_argument("--no-sync", action="store_true", help="do not sync the index with its folders by itself")
    m.add_argument("--interval", type=float, default=2.0, help="seconds between looks at the folders (default 2)")
    m.add_argument("--settle", type=float, default=1.0, help="quiet seconds before a sync (default 1)")
    return m


def check(args) -> None:
    """Refuse, before the protocol starts, what can be told without opening the index."""
    from index.errors import IndexMissingError

    from .served import MANIFEST
    if args.http is not None and not 0 < args.http < 65536:
        raise ValueError(f"--http must be a port from 1 to 65535, not {args.http}")
    if args.interval <= 0 or args.settle < 0:
        raise ValueError("--interval must be above 0 and --settle at least 0")
    for d in args.dirs:
        if not os.path.isdir(d):
            raise ValueError(f"not a folder: {d}")
    if not args.dirs and not (Path(args.index) / MANIFEST).exists():
        raise IndexMissingError(args.index)


def autosync_of(args):
    """The AutoSync of the command's index and folders (imported when called: it loads numpy and FAISS)."""
    from index.sync import SyncConfig
    from index.sync.autosync import AutoSync
    from index.sync.watch import WatchConfig
    return AutoSync(args.index, args.dirs, SyncConfig(model=args.model, progress=False),
                    WatchConfig(interval=args.interval, settle=args.settle))


def run(args) -> int:
    from .served import ServedIndex
    check(args)
    served = ServedIndex(args.index, args.model, lambda: autosync_of(args), auto=not args.no_sync)
    with contextlib.redirect_stdout(sys.stderr):   # stdout carries the protocol only
        from .mcp_server import build_server
        server = build_server(served)
        # opened meanwhile: `initialize` does not wait for it. Started after the SDK's import (0.6 s):
        # two threads importing at once share one GIL, and the handshake came 1.21 s after start
        served.start()
    try:
        if args.http is not None:
            print(f"codesearch MCP server on http://127.0.0.1:{args.http}/mcp", file=sys.stderr, flush=True)
            server.run("streamable-http", host="127.0.0.1", port=args.http)
        else:
            server.run("stdio")
    finally:
        served.close()
    return 0
