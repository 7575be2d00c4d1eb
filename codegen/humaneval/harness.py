"""Execute samples against HumanEval(-X) tests in the sandbox and score them with pass@k."""
from __future__ import annotations

import os
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from codegen.execution import Outcome, Sandbox, SandboxConfig
from codegen.humaneval import languages as langs
from codegen.humaneval.data import Sample, dataset_of
from codegen.humaneval.passk import DEFAULT_KS, pass_at_k, summarize
from codegen.humaneval.toolchains import Toolchain, find_toolchains
from codegen.limits import Limits

_DETAIL_CHARS = 600


def _short(detail: str) -> str:
    """Keep the head and tail of a failure message."""
    if len(detail) <= _DETAIL_CHARS:
        return detail
    half = _DETAIL_CHARS // 2
    return detail[:half] + "\n...\n" + detail[-half:]


@dataclass
class HarnessConfig:
    """Parallelism, per-program limits and the pass@k values to report."""

    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    timeout_s: float = 10.0
    memory_mb: int = 2048
    ks: tuple[int, ...] = DEFAULT_KS
    cache_dir: str | None = None  # build caches (Go, Rust crates); default ~/.cache/codegen-humaneval
    isolate_network: bool = True
    drop_privileges: bool = True
    progress: bool = True


@dataclass
class LanguageReport:
    """Scores, per-problem records and timing for one language."""

    language: str
    summary: dict
    problems: list[dict]
    executed: int = 0  # distinct programs run (identical samples of a task run once)
    seconds: float = 0.0
    statuses: Counter = field(default_factory=Counter)


class Harness:
    """Own the sandbox and toolchains; evaluate samples language by language."""

    def __init__(self, config: HarnessConfig | None = None):
        self.config = cfg = config or HarnessConfig()
        run = Limits(timeout_s=cfg.timeout_s, memory_mb=cfg.memory_mb)
        self.sandbox = Sandbox(SandboxConfig(run=run, slots=cfg.workers, isolate_network=cfg.isolate_network,
                                             drop_privileges=cfg.drop_privileges))
        self._toolchains: dict[str, Toolchain] = {}

    def toolchain(self, lang: str) -> Toolchain:
        """Return (and cache) the toolchain for `lang`."""
        if lang not in self._toolchains:
            world = self.sandbox.uid_isolation
            self._toolchains.update(find_toolchains([lang], world, Path(self.config.cache_dir)
                                                    if self.config.cache_dir else None))
        return self._toolchains[lang]

    def run_one(self, problem: dict, lang: str, completion: str) -> Outcome:
        """Build and run one completion's test program."""
        tc = self.toolchain(lang)
        files = langs.program(problem, lang, completion, tc)
        return self.sandbox.run(files, langs.steps(lang, files, tc, self.sandbox.config.run))

    def evaluate(self, samples: list[Sample], problems: dict[str, dict[str, dict]]) -> dict[str, LanguageReport]:
        """Score `samples`; `problems` maps dataset -> task id -> problem. Unavailable languages are skipped."""
        by_lang: dict[str, list[Sample]] = defaultdict(list)
        for s in samples:
            by_lang[dataset_of(s.task_id)].append(s)
        reports = {}
        for lang in (lang for lang in problems if lang in by_lang):
            tc = self.toolchain(lang)
            if not tc.available:
                reports[lang] = LanguageReport(lang, {"skipped": tc.missing, "n_problems": 0}, [])
                continue
            reports[lang] = self._evaluate_language(lang, by_lang[lang], problems[lang])
        return reports

    def _evaluate_language(self, lang: str, samples: list[Sample], problems: dict[str, dict]) -> LanguageReport:
        unique: dict[tuple[str, str], Outcome | None] = {}
        for s in samples:
            unique.setdefault((s.task_id, s.completion), None)
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=self.config.workers) as pool:
            futures = {key: pool.submit(self.run_one, problems[key[0]], lang, key[1]) for key in unique}
            bar = tqdm(total=len(futures), desc=f"{lang}", unit="prog", disable=not self.config.progress,
                       leave=False)
            try:
                for key, fut in futures.items():
                    unique[key] = fut.result()
                    bar.update()
            except BaseException:
                pool.shutdown(cancel_futures=True)  # on Ctrl-C/SIGTERM: finish running ones only
                raise
            finally:
                bar.close()
        seconds = time.monotonic() - start
        per_task: dict[str, list[Outcome]] = defaultdict(list)
        for s in samples:
            per_task[s.task_id].append(unique[(s.task_id, s.completion)])
        records, ns, cs = [], [], []
        for task_id in (t for t in problems if t in per_task):
            outcomes = per_task[task_id]
            n, c = len(outcomes), sum(o.passed for o in outcomes)
            ns.append(n)
            cs.append(c)
            rec = {"task_id": task_id, "language": lang, "n": n, "c": c}
            rec.update({f"pass@{k}": pass_at_k(n, c, k) for k in self.config.ks if k <= n})
            rec["results"] = [{"status": o.status, **({"detail": _short(o.detail)} if not o.passed else {})}
                              for o in outcomes]
            records.append(rec)
        summary = summarize(ns, cs, self.config.ks)
        summary["n_samples"] = len(samples)
        summary["solved"] = sum(c > 0 for c in cs)
        statuses = Counter(o.status for o in unique.values())
        return LanguageReport(lang, summary, records, len(unique), seconds, statuses)
