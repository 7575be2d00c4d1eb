"""python -m codenn.teacher_tune --data DIR --functions CSV --out DIR: build pairs, fine-tune, export."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .pairs import PairsConfig, build_pairs, packages_of
from .train import TuneConfig, train


def parse(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m codenn.teacher_tune", description=__doc__)
    ap.add_argument("--data", type=Path, required=True, help="dataset folder (make dataset)")
    ap.add_argument("--functions", type=Path, required=True, help="functions.csv the dataset was built from")
    ap.add_argument("--out", type=Path, required=True, help="run folder (checkpoints; a rerun resumes)")
    ap.add_argument("--limit", type=int, default=0, help="training pairs (0: all)")
    ap.add_argument("--valid-limit", type=int, default=1000, help="valid pairs for early stopping")
    ap.add_argument("--forms", type=int, default=1, help="typed query forms per function")
    for f, v in vars(TuneConfig()).items():
        ap.add_argument(f"--{f.replace('_', '-')}", type=type(v), default=v)
    ap.add_argument("--no-progress", action="store_true")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    a = parse(argv)
    for p in (a.data, a.functions):
        if not p.exists():
            print(f"error: {p} does not exist (run make dataset)", file=sys.stderr)
            return 2
    cfg = TuneConfig(**{f: getattr(a, f) for f in vars(TuneConfig())})
    tr = build_pairs(a.data, a.functions, PairsConfig("train", a.limit, a.forms))
    va = build_pairs(a.data, a.functions, PairsConfig("valid", a.valid_limit, 1), other_splits=("train", "test"))
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "pairs.json").write_text(json.dumps({"train": len(tr), "valid": len(va), "config": vars(cfg),
                                                  "packages": packages_of(tr)}, indent=1))
    t0 = time.time()
    model, resumed = train(tr, va, a.out, cfg, progress=not a.no_progress)
    model.save(str(a.out / "final"))
    print(json.dumps({"train_pairs": len(tr), "resumed_from": resumed, "seconds": round(time.time() - t0, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
