"""How many compute threads this process may use: the one place torch, ONNX Runtime, FAISS and Ray's actors ask.

Never more threads than the cores this process may run on (`os.sched_getaffinity`: `taskset`, a
container's cpuset, a Ray actor's reservation), since threads beyond them spin waiting for each
other: beside one other job on two cores, torch's default threads cut indexing from ~55 to ~8-20
functions/s. CODESEARCH_THREADS, else OMP_NUM_THREADS (Ray sets it to an actor's CPUs), caps it further.
"""
from __future__ import annotations

import os
import sys

ENV = "CODESEARCH_THREADS"
SPIN_ENV = "CODESEARCH_SPIN"


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def thread_budget(want: int | None = None) -> int:
    """Threads for one compute pool: `want` (None or 0: as many as allowed), within the cores and the env cap."""
    budget = usable_cores()
    for var in (ENV, "OMP_NUM_THREADS"):
        raw = os.environ.get(var, "").strip()
        if raw:
            try:
                budget = min(budget, max(1, int(raw)))
            except ValueError:
                raise ValueError(f"{var} must be a whole number of threads, not {raw!r}") from None
            break
    return min(budget, want) if want and want > 0 else budget


def spin_allowed() -> bool:
    """Whether idle compute threads may busy-wait for work (ONNX Runtime's default); off unless CODESEARCH_SPIN=1.

    Spinning keeps a thread hot between the teacher's small runs, but beside another job the spinning
    threads take the cores it needs. `index build` of 50,000 functions (benchmarks.speed.busy_machine,
    2026-12-03): alone 186 s spinning / 210 s not; two copies at once 500 s spinning (2.69x) / 316 s
    not (1.50x). Off by default: 13% on a dedicated machine buys a machine shared with anything else.
    """
    raw = os.environ.get(SPIN_ENV, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{SPIN_ENV} must be 0 or 1, not {raw!r}")


def apply_thread_budget(want: int | None = None) -> int:
    """Set torch's (when imported) and FAISS's (when imported) thread pools to thread_budget(want); return it.

    ONNX Runtime takes the number as its session's intra_op_num_threads; a library imported later
    is set by calling this again.
    """
    n = thread_budget(want)
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != n:
        torch.set_num_threads(n)
    faiss = sys.modules.get("faiss")
    if faiss is not None:
        faiss.omp_set_num_threads(n)
    return n


def reserve(cpus: int) -> int:
    """Confine this process's later thread budgets to `cpus` (a Ray actor: the CPUs it reserved); return the budget."""
    os.environ[ENV] = str(max(1, int(cpus)))
    return apply_thread_budget()
