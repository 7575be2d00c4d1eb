"""The sandboxed harness: reference solutions pass and wrong ones fail in every installed language;
hostile completions fail without harming the harness or the machine."""
from __future__ import annotations

import os
import socket

import pytest

from codegen.humaneval import languages as langs
from codegen.humaneval.data import DATASETS, Sample, default_bench_dir, load_problems
from codegen.humaneval.harness import Harness, HarnessConfig

BENCH = default_bench_dir()
pytestmark = pytest.mark.skipif(not (BENCH / "HumanEval.jsonl.gz").is_file(),
                                reason=f"benchmark data not found under {BENCH}")
# A few problems per language, including 162 (md5) which needs each language's extra library.
TASKS = {"humaneval": [0, 2], "python": [0], "cpp": [0, 162], "java": [0], "js": [0, 162],
         "go": [0], "rust": [0, 162]}


@pytest.fixture(scope="module")
def harness():
    """The default limits: reference solutions (a JVM on a busy machine included) have room."""
    return Harness(HarnessConfig(workers=2, progress=False))


@pytest.fixture(scope="module")
def quick():
    """A 3 s wall-clock limit, ample for HumanEval/0 in Python, so that the hostile cases end fast."""
    return Harness(HarnessConfig(workers=1, timeout_s=3.0, progress=False))


@pytest.fixture(scope="module")
def humaneval():
    return load_problems(BENCH, "humaneval")


def _sandbox_uid_processes(h: Harness) -> list[int]:
    found = []
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            if os.stat(f"/proc/{pid}").st_uid in h.sandbox._uids:
                found.append(int(pid))
        except OSError:
            pass
    return found


def test_reference_passes_and_wrong_fails_in_every_language(harness):
    samples, problems, skipped = [], {}, {}
    for lang in DATASETS:
        tc = harness.toolchain(lang)
        if not tc.available:
            skipped[lang] = tc.missing
            continue
        probs = load_problems(BENCH, lang)
        prefix = DATASETS[lang][1]
        ids = [f"{prefix}/{i}" for i in TASKS[lang] if i == 0 or not tc.note]  # 162 needs the extras
        problems[lang] = {t: probs[t] for t in ids}
        for t in ids:
            samples.append(Sample(t, probs[t]["canonical_solution"]))
        samples.append(Sample(ids[0], langs.default_value_completion(probs[ids[0]], lang)))
    reports = harness.evaluate(samples, problems)
    for lang, report in reports.items():
        first, *rest = report.problems
        assert [r["status"] for r in first["results"]][0] == "passed", (lang, first["results"][0])
        assert first["results"][1]["status"] != "passed", lang  # the wrong solution
        for rec in rest:
            assert rec["c"] == rec["n"] == 1, (rec["task_id"], rec["results"][0])
    if skipped:
        pytest.skip(f"toolchains missing: {skipped}")


def test_javascript_failed_console_assert_fails(harness):
    problem = load_problems(BENCH, "js")["JavaScript/0"]
    if not harness.toolchain("js").available:
        pytest.skip(harness.toolchain("js").missing)
    # Node's console.assert only prints; the harness must still see the wrong answer.
    out = harness.run_one(problem, "js", "  return true;\n}\n")
    assert out.status == "failed" and "Assertion failed" in out.detail


HOSTILE = {
    "loops forever": ("    while True:\n        pass\n", {"timeout"}),
    "sleeps": ("    import time\n    time.sleep(60)\n", {"timeout"}),
    "allocates 100 GB": ("    x = bytearray(100 * 2**30)\n    return x\n", {"failed"}),
    "prints 10 MB": ("    import sys\n    sys.stdout.write('x' * (10 << 20))\n    sys.stdout.flush()\n",
                     {"failed", "output_limit"}),
    "exits 0 before the tests end": ("    import os\n    os._exit(0)\n", {"failed"}),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_python_completions(quick, humaneval, name):
    completion, expected = HOSTILE[name]
    out = quick.run_one(humaneval["HumanEval/0"], "humaneval", completion)
    assert out.status in expected, (out.status, out.detail)


def test_swallowed_huge_output_still_fails(quick, humaneval):
    p = humaneval["HumanEval/0"]
    body = ("    import sys\n    try:\n        sys.stdout.write('x' * (10 << 20))\n        sys.stdout.flush()\n"
            "    except Exception:\n        pass\n") + p["canonical_solution"]
    out = quick.run_one(p, "humaneval", body)
    assert out.status == "output_limit"


def test_fork_bomb_is_contained_and_cleaned_up(quick, humaneval):
    if os.geteuid() == 0 and not quick.sandbox.uid_isolation:
        pytest.skip("running as root without sandbox uids: RLIMIT_NPROC would not bound a fork bomb")
    bomb = ("    import os\n    while True:\n        try:\n            os.fork()\n"
            "        except OSError:\n            pass\n")
    out = quick.run_one(humaneval["HumanEval/0"], "humaneval", bomb)
    assert out.status in {"timeout", "failed"}
    if quick.sandbox.uid_isolation:
        assert _sandbox_uid_processes(quick) == []
    # The harness carries on: the next program still runs and passes.
    p = humaneval["HumanEval/2"]
    assert quick.run_one(p, "humaneval", p["canonical_solution"]).passed


def test_escaped_daemon_is_killed(quick, humaneval):
    if not quick.sandbox.uid_isolation:
        pytest.skip("straggler sweep by uid needs root (sandbox uids)")
    p = humaneval["HumanEval/0"]
    daemon = ("    import os, time\n    if os.fork() == 0:\n        os.setsid()\n        time.sleep(600)\n"
              + p["canonical_solution"])
    assert quick.run_one(p, "humaneval", daemon).passed
    assert _sandbox_uid_processes(quick) == []


def test_cannot_delete_files_outside_its_folder(quick, humaneval, tmp_path):
    if not quick.sandbox.uid_isolation:
        pytest.skip("file protection needs root (sandbox uids)")
    victim = tmp_path / "keep.txt"
    victim.write_text("precious")
    os.chmod(tmp_path, 0o755)
    p = humaneval["HumanEval/0"]
    body = (f"    import os, shutil\n    os.remove({str(victim)!r})\n"
            f"    shutil.rmtree(os.path.expanduser('~'))\n")
    out = quick.run_one(p, "humaneval", body)
    assert out.status == "failed" and "PermissionError" in out.detail
    assert victim.read_text() == "precious"


def test_sockets_cannot_reach_the_host(quick, humaneval):
    if not quick.sandbox.network_isolation:
        pytest.skip("network namespaces are not available here")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        p = humaneval["HumanEval/0"]
        body = (f"    import socket\n    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
                + p["canonical_solution"])
        out = quick.run_one(p, "humaneval", body)
        server.setblocking(False)
        with pytest.raises(BlockingIOError):  # nothing reached the listening socket
            server.accept()
    assert out.status == "failed" and "Errno" in out.detail


def test_compiled_language_hostile_programs(quick):
    tc = quick.toolchain("cpp")
    if not tc.available:
        pytest.skip(tc.missing)
    p = load_problems(BENCH, "cpp")["CPP/0"]
    loop = quick.run_one(p, "cpp", "    while (true) {}\n}\n")
    assert loop.status == "timeout"
    alloc = quick.run_one(p, "cpp", "    vector<char> v((size_t)100 << 30, 1);\n    return v[5] == 1;\n}\n")
    assert alloc.status == "failed"
    broken = quick.run_one(p, "cpp", "    return undeclared;\n}\n")
    assert broken.status == "compile_error" and "undeclared" in broken.detail
