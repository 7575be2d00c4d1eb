"""python -m codenn.teacher_tune --data DIR --functions CSV --out DIR: build pairs, fine-tune, export."""
from __future__ import annotations

import argparse
import json
import sys
import time

from .pairs import PairsConfig, build_pairs, config_of, missing_inputs, packages_of, pair_parser
from .train import TuneConfig, train


def parse(argv=None) -> argparse.Namespace:
    return pair_parser("python -m codenn.teacher_tune", __doc__, "run folder (checkpoints; a rerun resumes)",
                       TuneConfig, {}).parse_args(argv)


def main(argv=None) -> int:
    a = parse(argv)
    error = missing_inputs(a)
    if error:
        print(error, file=sys.stderr)
        return 2
    cfg = config_of(a, TuneConfig)
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
