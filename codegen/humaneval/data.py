"""HumanEval / HumanEval-X problems and samples files (human-eval's JSONL format)."""
from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from codesearch_common.fsutil import atomic_open

# Dataset name -> (file under the bench folder, task id prefix). "humaneval" is OpenAI's original
# Python set; the others are HumanEval-X, the same 164 problems hand-written per language.
DATASETS = {
    "humaneval": ("HumanEval.jsonl.gz", "HumanEval"),
    "python": ("humaneval-x/humaneval_python.jsonl.gz", "Python"),
    "cpp": ("humaneval-x/humaneval_cpp.jsonl.gz", "CPP"),
    "java": ("humaneval-x/humaneval_java.jsonl.gz", "Java"),
    "js": ("humaneval-x/humaneval_js.jsonl.gz", "JavaScript"),
    "go": ("humaneval-x/humaneval_go.jsonl.gz", "Go"),
    "rust": ("humaneval-x/humaneval_rust.jsonl.gz", "Rust"),
}
_BY_PREFIX = {prefix: name for name, (_, prefix) in DATASETS.items()}


class DataError(ValueError):
    """A problems or samples file is missing or malformed."""


@dataclass
class Sample:
    """One completion for one task; `line` is where it came from (1-based; 0 when generated)."""

    task_id: str
    completion: str
    line: int = 0


def default_bench_dir() -> Path:
    """Return ../shared/bench relative to the repository root."""
    return Path(__file__).resolve().parents[2].parent / "shared" / "bench"


def dataset_of(task_id: str) -> str | None:
    """Return the dataset a task id belongs to (`CPP/0` -> cpp), or None if unknown."""
    return _BY_PREFIX.get(task_id.split("/", 1)[0])


def parse_langs(text: str) -> list[str]:
    """Parse a comma-separated language list, refusing unknown names."""
    langs = [t.strip().lower() for t in text.split(",") if t.strip()]
    aliases = {"javascript": "js", "c++": "cpp"}
    langs = [aliases.get(t, t) for t in langs]
    bad = [t for t in langs if t not in DATASETS]
    if bad or not langs:
        raise DataError(f"unknown language {', '.join(bad) or '(none)'}; choose from {', '.join(DATASETS)}")
    return list(dict.fromkeys(langs))


def _open_text(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")


def load_problems(bench_dir: str | Path, dataset: str) -> dict[str, dict]:
    """Return the problems of `dataset` keyed by task id, in file order."""
    path = Path(bench_dir) / DATASETS[dataset][0]
    if not path.is_file():
        raise DataError(f"{path}: problems file not found (use --bench-dir)")
    problems = {}
    with _open_text(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                problems[rec["task_id"]] = rec
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise DataError(f"{path}:{lineno}: malformed problem record ({e})") from None
    return problems


def read_samples(path: str | Path) -> list[Sample]:
    """Read a samples JSONL file, failing with the line number of the first malformed record."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: samples file not found")
    samples = []
    try:
        with _open_text(path) as f:
            for lineno, line in enumerate(f, 1):
                if line.strip():
                    samples.append(_parse_sample(line, f"{path}:{lineno}", lineno))
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e.reason})") from None
    except (OSError, EOFError) as e:
        raise DataError(f"{path}: cannot read ({e})") from None
    if not samples:
        raise DataError(f"{path}: no samples")
    return samples


def _parse_sample(line: str, where: str, lineno: int) -> Sample:
    try:
        rec = json.loads(line)
    except json.JSONDecodeError as e:
        raise DataError(f"{where}: invalid JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(rec, dict):
        raise DataError(f"{where}: expected a JSON object with task_id and completion")
    task_id, completion = rec.get("task_id"), rec.get("completion")
    if not isinstance(task_id, str) or not task_id:
        raise DataError(f"{where}: missing or non-string task_id")
    if not isinstance(completion, str):
        raise DataError(f"{where}: missing or non-string completion")
    if dataset_of(task_id) is None:
        raise DataError(f"{where}: unknown task id {task_id!r} (expected e.g. HumanEval/0, CPP/0)")
    return Sample(task_id, completion, lineno)


def check_known(samples: Iterable[Sample], problems: dict[str, dict], path: str | Path) -> None:
    """Fail on the first sample whose task id is not a problem of its dataset."""
    for s in samples:
        if s.task_id not in problems:
            raise DataError(f"{path}:{s.line}: no problem {s.task_id!r} in the benchmark data")


def write_jsonl(path: str | Path, records: Iterable[dict]) -> None:
    """Write records as JSONL atomically."""
    with atomic_open(path, "w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
