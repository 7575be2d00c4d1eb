"""Serve the search page and API with waitress: python -m webapp --index data/index [--host H] [--port P]."""
from __future__ import annotations

import argparse
import logging
import os
import sys

EXIT_USAGE = 2


class CliError(Exception):
    """A one-line reason the server cannot start."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m webapp", description=__doc__)
    p.add_argument("--index", default="data/index", help="index directory (from `make index`)")
    p.add_argument("--model", default=None, help="model directory (default: the one named in the index manifest)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (0 picks a free one)")
    p.add_argument("--threads", type=int, default=4, help="waitress worker threads")
    p.add_argument("--search-threads", type=int, default=1,
                   help="threads one search may use (FAISS/torch OpenMP); OMP_NUM_THREADS, if set, wins")
    p.add_argument("--no-check", action="store_true",
                   help="start even without an index (the page then says how to build one)")
    p.add_argument("--sync", action="store_true",
                   help="keep the index in sync with the folders it was synced from (as `index sync --watch`)")
    args = p.parse_args(argv)
    if not 0 <= args.port <= 65535:
        p.error(f"--port must be between 0 and 65535, got {args.port}")
    if args.threads < 1 or args.search_threads < 1:
        p.error("--threads and --search-threads must be at least 1")
    return args


def serve(args: argparse.Namespace) -> None:
    """Open the index, print the URL and serve until interrupted."""
    from waitress.server import create_server

    from . import create_app
    # not injected: the app follows the generations a sync publishes and a rebuild swapped in (`make demo`)
    app = create_app({"INDEX_DIR": args.index, "MODEL_DIR": args.model})
    searcher = None if args.no_check else checked(app)
    autosync = start_sync(args.index, app) if args.sync else None
    try:
        server = create_server(app, host=args.host, port=args.port, threads=args.threads)
    except OSError as e:
        raise CliError(f"cannot listen on {args.host}:{args.port}: {e.strerror or e}") from None
    host = f"[{args.host}]" if ":" in args.host else args.host
    size = f"{searcher.size:,} functions" if searcher is not None else "index not checked"
    print(f"Serving code search on http://{host}:{server.effective_port}/ ({size}; Ctrl-C to stop)", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        if autosync is not None:
            autosync.close()
        app.extensions["codesearch"].close()


def checked(app):
    """The app's Searcher, opened now so that a missing index is a one-line error."""
    from .resources import IndexUnavailable
    try:
        return app.extensions["codesearch"].get()
    except IndexUnavailable as e:
        raise CliError(str(e)) from None


def start_sync(index_dir: str, app):
    """Sync the index in the background now and after its folders change, with the app's model."""
    from index.live import query_encoder
    from index.sync.autosync import AutoSync
    holder = app.extensions["codesearch"]
    autosync = AutoSync(index_dir, encoder_of=lambda: query_encoder(holder.get())).start()
    print(f"Keeping {index_dir} in sync with its folders (every {autosync.wcfg.interval:g} s)", flush=True)
    return autosync


def main(argv: list[str] | None = None) -> int:
    """Run the server; exit 2 with a one-line error when it cannot start."""
    args = parse_args(argv)
    # Concurrency comes from the request threads; OpenMP threads per search on top of them oversubscribe
    # the cores (measured: 8 clients got ~2x the throughput with 1). Set before FAISS/torch are imported.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.search_threads))
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        serve(args)
    except CliError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    return 0


if __name__ == "__main__":
    sys.exit(main())
