"""`python -m preprocess {extract,dataset}`: source code -> functions.csv -> HDF5 dataset."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m preprocess", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("extract", help="every function of the manifest's repositories -> functions.csv")
    p.add_argument("--repos", default="data/repos.jsonl")
    p.add_argument("--out", default="data/functions.csv")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--ray", metavar="ADDRESS", help="extract on a Ray cluster (`auto`: a local one); needs the distributed extra")
    p = sub.add_parser("dataset", help="clean, deduplicate, split, build vocabularies, write HDF5")
    p.add_argument("--functions", default="data/functions.csv")
    p.add_argument("--out", default="data/dataset")
    p.add_argument("--vocab-size", type=int, default=None)
    p.add_argument("--seed", default=None, help="salt for the repository split")
    p.add_argument("--subword", default=None, metavar="TOKENIZER.json",
                   help="tokenize every field into shared subword pieces with this `tokenizers` file")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    try:
        if args.command == "extract":
            from .extract import ExtractConfig, extract

            cfg = ExtractConfig() if args.workers is None else ExtractConfig(workers=args.workers)
            if args.ray:  # Ray is imported only on this branch
                from codesearch_common.ray_cluster import RayConfig
                from .ray_extract import extract_ray
                stats = extract_ray(args.repos, args.out, cfg, RayConfig(address=args.ray, workers=args.workers or 0))
            else:
                stats = extract(args.repos, args.out, cfg)
            dt = time.perf_counter() - t0
            print(f"{stats.summary()}; {dt:.1f}s ({stats.functions / max(dt, 1e-9):,.0f} functions/s) -> {args.out}")
        else:
            from .dataset import DatasetConfig, build_dataset

            cfg = DatasetConfig()
            if args.vocab_size:
                cfg.vocab_size = args.vocab_size
            if args.subword:
                if not Path(args.subword).is_file():
                    raise FileNotFoundError(f"--subword {args.subword}: no such tokenizer file")
                cfg.subword = args.subword
            if args.seed is not None:
                cfg.split_salt = args.seed
            stats = build_dataset(args.functions, args.out, cfg)
            print(f"{stats.summary()}; {time.perf_counter() - t0:.1f}s -> {args.out}")
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: no output was written", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
