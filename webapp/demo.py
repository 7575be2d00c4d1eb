"""`make demo`'s last step: serve the page within minutes from a quick index while the full one builds beside it.

    python -m webapp.demo --functions data/functions.csv --model codenn/pretrained --index data/index

1. No index yet: build a quick one (`--teacher none`: every function with the bag model's vectors,
   no transformer, exact search over them instead of building HNSW: under two minutes for the
   default corpus on two cores).
2. An index without the teacher's vectors (the quick one): build the full index in a child process
   (`index build --resume`: it writes beside the index and swaps in at the end; a demo stopped
   half-way carries on from its last checkpoint next time).
3. Serve the page meanwhile: it follows the swap, and it and `/healthz` say how far the build is.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import threading
from pathlib import Path

CHECKPOINT_ROWS = 20_000   # a stopped demo loses at most this many functions of the full build


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m webapp.demo", description=__doc__.split("\n\n")[0])
    p.add_argument("--functions", required=True, help="functions.csv to index")
    p.add_argument("--model", required=True, help="model directory")
    p.add_argument("--index", required=True, help="index directory")
    p.add_argument("--teacher", default="auto", help="the full index's teacher scope (index build --teacher)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    return p.parse_args(argv)


def build_command(args, teacher: str, extra: list[str]) -> list[str]:
    """The `index build` command line for this demo's index with the given teacher scope."""
    return [sys.executable, "-m", "index", "build", "--functions", args.functions, "--model", args.model,
            "--out", args.index, "--teacher", teacher, *extra]


def needs_full_build(index_dir: str | Path) -> bool:
    """Whether the index is missing or is a quick one (no function has the teacher's vector)."""
    from index.errors import IndexMissingError
    from index.manifest import read_manifest
    try:
        teacher = read_manifest(index_dir)["model"].get("teacher") or {}
    except IndexMissingError:
        return True
    return teacher.get("scope") == "none"


def start_full_build(args) -> subprocess.Popen:
    """Start the full build in a child process; a thread reports how it ended."""
    cmd = build_command(args, args.teacher, ["--resume", "--set", f"checkpoint_rows={CHECKPOINT_ROWS}"])
    child = subprocess.Popen(cmd)

    def report():
        rc = child.wait()
        if rc == 0:
            print("demo: the full index is built; the page serves it now", flush=True)
        elif rc > 0:
            print(f"demo: the full index build failed (exit {rc}); still serving the quick index. "
                  f"Run `make index` to see why.", flush=True)

    threading.Thread(target=report, name="full-build", daemon=True).start()
    return child


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from .__main__ import main as serve
    if not (Path(args.index) / "manifest.json").exists():
        print("demo: building a quick index first (the bag model's vectors, no transformer)", flush=True)
        # flat: HNSW's graph took a minute of the quick build (358k vectors); exact search is tens of ms
        rc = subprocess.call(build_command(args, "none", ["--kind", "flat"]))
        if rc:
            return rc
    child = start_full_build(args) if needs_full_build(args.index) else None
    try:
        return serve(["--index", args.index, "--host", args.host, "--port", str(args.port)])
    finally:
        if child is not None and child.poll() is None:
            child.terminate()   # its last checkpoint stays: the next demo resumes from it
            child.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
