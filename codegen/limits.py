"""Resource limits for one sandboxed process, shared by the sandbox and its OS layer."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass
class Limits:
    """Resource limits for one process (and, for processes/time, everything it spawns)."""

    timeout_s: float = 10.0  # wall clock
    memory_mb: int = 2048  # RLIMIT_DATA: heap and private anonymous mappings
    address_space_mb: int | None = 8192  # RLIMIT_AS; None for runtimes that reserve huge ranges
    output_bytes: int = 1 << 20  # RLIMIT_FSIZE, and the stdout/stderr cap
    processes: int = 128  # RLIMIT_NPROC (threads count too); enforced per sandbox uid
    open_files: int = 256


def limits_with(base: Limits, **changes) -> Limits:
    """Return a copy of `base` with `changes` applied."""
    return dataclasses.replace(base, **changes)
