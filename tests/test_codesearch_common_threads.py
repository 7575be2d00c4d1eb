"""The thread budget: never more compute threads than the cores a process may use, one decision for every library."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from codesearch_common.threads import ENV, thread_budget

ROOT = Path(__file__).resolve().parents[1]

# torch and FAISS are imported before the mask shrinks: their pools were sized for the cores seen then
PROBE = """
import json, os, sys
import faiss, torch
from codesearch_common.threads import apply_thread_budget, thread_budget
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
n = apply_thread_budget()
print(json.dumps({"budget": thread_budget(), "applied": n, "torch": torch.get_num_threads(),
                  "faiss": faiss.omp_get_max_threads()}))
"""


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in (ENV, "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs affinity masks (Linux)")
def test_a_process_confined_to_one_cpu_gets_one_thread_everywhere():
    out = subprocess.run([sys.executable, "-c", PROBE], env=clean_env(), capture_output=True, text=True,
                         timeout=300, check=True)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report == {"budget": 1, "applied": 1, "torch": 1, "faiss": 1}


def test_the_budget_is_the_usable_cores_capped_by_the_environment(monkeypatch):
    cores = len(os.sched_getaffinity(0))
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv(ENV, raising=False)
    assert thread_budget() == cores
    assert thread_budget(1) == 1
    assert thread_budget(cores + 5) == cores         # asking for more than the cores gets the cores
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert thread_budget() == 1 and thread_budget(4) == 1
    monkeypatch.setenv(ENV, str(cores + 3))          # the explicit variable wins over OpenMP's, within the cores
    assert thread_budget() == cores
    monkeypatch.setenv(ENV, "many")
    with pytest.raises(ValueError, match=ENV):
        thread_budget()


def test_a_ray_actor_reserving_one_cpu_confines_its_process(monkeypatch):
    import torch

    from codesearch_common.threads import reserve
    monkeypatch.setenv(ENV, "")      # restored after the test: reserve() writes it
    before = torch.get_num_threads()
    try:
        assert reserve(1) == 1
        assert torch.get_num_threads() == 1 and thread_budget() == 1 and thread_budget(8) == 1
    finally:
        torch.set_num_threads(before)


def test_threads_spin_only_when_asked(monkeypatch):
    from codesearch_common.threads import SPIN_ENV, spin_allowed
    monkeypatch.delenv(SPIN_ENV, raising=False)
    assert spin_allowed() is False            # a shared machine is the default
    monkeypatch.setenv(SPIN_ENV, "1")
    assert spin_allowed() is True
    monkeypatch.setenv(SPIN_ENV, "sometimes")
    with pytest.raises(ValueError, match="CODESEARCH_SPIN must be 0 or 1"):
        spin_allowed()


def test_the_teachers_onnx_session_follows_the_spin_setting(monkeypatch, tmp_path):
    pytest.importorskip("onnxruntime")
    from codenn import teacher_onnx
    seen = []

    class Options:
        def __init__(self):
            self.entries = {}
            seen.append(self)

        def add_session_config_entry(self, key, value):
            self.entries[key] = value

    class FakeOrt:
        SessionOptions = Options

        @staticmethod
        def InferenceSession(*args, **kwargs):
            return object()

    monkeypatch.setitem(sys.modules, "onnxruntime", FakeOrt)
    import tokenizers

    class Tok:
        def no_padding(self):
            pass

        def enable_truncation(self, n):
            pass

    monkeypatch.setattr(tokenizers.Tokenizer, "from_file", staticmethod(lambda path: Tok()))
    for value, spins in (("0", False), ("1", True)):
        monkeypatch.setenv("CODESEARCH_SPIN", value)
        teacher_onnx.OnnxTeacher(tmp_path / "m.onnx", tmp_path / "tok.json", 128, 2)
        assert ("session.intra_op.allow_spinning" not in seen[-1].entries) == spins
