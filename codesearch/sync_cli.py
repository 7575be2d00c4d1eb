"""The `codesearch index sync` command line."""
from __future__ import annotations

import argparse
import sys


def add_parser(ix) -> argparse.ArgumentParser:
    """Register `index sync` under the `index` subcommands."""
    y = ix.add_parser("sync", help="index folders in one command, or bring their index up to date")
    y.add_argument("dirs", nargs="*", metavar="DIR",
                   help="folders or git checkouts, one repository each (default: those the index was synced from)")
    y.add_argument("--index", required=True, help="index folder (created when it does not exist)")
    y.add_argument("--model", help="model of a new index (default: the shipped one; 'hashing' is the untrained baseline)")
    y.add_argument("--wait", action="store_true", help="wait for a sync already running instead of refusing")
    y.add_argument("--watch", action="store_true", help="keep watching and sync after changes settle (Ctrl-C stops)")
    y.add_argument("--interval", type=float, default=2.0, help="--watch: seconds between looks (default 2)")
    y.add_argument("--settle", type=float, default=1.0, help="--watch: quiet seconds before a sync (default 1)")
    y.add_argument("--batch-files", type=int, default=2000, help="files per committed batch (default 2000)")
    y.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="index setting of a new index")
    y.add_argument("--no-progress", action="store_true")
    return y


def run(args) -> int:
    from index.manifest import IndexConfig
    from index.sync import SyncBusyError, SyncConfig, sync
    if args.batch_files < 1 or args.interval <= 0 or args.settle < 0:
        raise ValueError("--batch-files must be at least 1, --interval above 0 and --settle at least 0")
    cfg = SyncConfig(model=args.model, index=IndexConfig().override(args.set), progress=not args.no_progress,
                     wait=args.wait, batch_files=args.batch_files)
    try:
        if args.watch:
            from index.sync.watch import WatchConfig, watch
            watch(args.dirs, args.index, cfg, WatchConfig(interval=args.interval, settle=args.settle))
            return 0
        print(sync(args.dirs, args.index, cfg).summary())
        return 0
    except SyncBusyError as e:
        print(f"codesearch: error: {e}", file=sys.stderr)
        return 3
