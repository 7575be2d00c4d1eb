"""pass@k estimator, samples parsing, program assembly, stop rules and the CLI (Python tasks)."""
from __future__ import annotations

import json
import random
from fractions import Fraction
from math import comb

import pytest

from codegen.humaneval import languages as langs
from codegen.humaneval.cli import main
from codegen.humaneval.data import (DataError, default_bench_dir, load_problems, parse_langs,
                                    read_samples)
from codegen.humaneval.passk import pass_at_k, summarize
from codegen.humaneval.toolchains import Toolchain

BENCH = default_bench_dir()
needs_bench = pytest.mark.skipif(not (BENCH / "HumanEval.jsonl.gz").is_file(),
                                 reason=f"benchmark data not found under {BENCH}")


def _exact(n: int, c: int, k: int) -> float:
    """Reference pass@k with exact big-integer binomials."""
    return float(1 - Fraction(comb(n - c, k), comb(n, k)))


def test_pass_at_k_matches_exact_binomials():
    rng = random.Random(0)
    cases = [(n, c, k) for n in range(1, 13) for c in range(n + 1) for k in range(1, n + 1)]
    cases += [(200, rng.randrange(201), k) for k in (1, 10, 100) for _ in range(20)]
    for n, c, k in cases:
        assert pass_at_k(n, c, k) == pytest.approx(_exact(n, c, k), rel=1e-9, abs=1e-12), (n, c, k)


def test_pass_at_k_edges_and_errors():
    assert pass_at_k(200, 0, 100) == 0.0
    assert pass_at_k(200, 101, 100) == 1.0  # fewer than k failures: some draw must pass
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    with pytest.raises(ValueError):
        pass_at_k(5, 6, 1)
    with pytest.raises(ValueError):
        pass_at_k(5, 2, 6)


def test_summarize_reports_only_ks_every_problem_supports():
    s = summarize([10, 10, 3], [10, 0, 1], ks=(1, 3, 10))
    assert set(s) == {"pass@1", "pass@3", "n_problems"}
    assert s["pass@1"] == pytest.approx((1.0 + 0.0 + 1 / 3) / 3)
    assert s["n_problems"] == 3


@pytest.mark.parametrize("line, message", [
    ('{"task_id": "HumanEval/0", "completion": 5}', "non-string completion"),
    ('{"task_id": "HumanEval/0"', "invalid JSON"),
    ('["HumanEval/0", "x"]', "JSON object"),
    ('{"completion": "x"}', "task_id"),
    ('{"task_id": "Cobol/0", "completion": "x"}', "unknown task id"),
])
def test_malformed_samples_name_the_line(tmp_path, line, message):
    path = tmp_path / "s.jsonl"
    path.write_text('{"task_id": "HumanEval/0", "completion": "    return 1\\n"}\n\n' + line + "\n")
    with pytest.raises(DataError) as e:
        read_samples(path)
    assert f"{path}:3:" in str(e.value) and message in str(e.value)


def test_parse_langs():
    assert parse_langs("python, CPP,javascript,python") == ["python", "cpp", "js"]
    with pytest.raises(DataError, match="cobol"):
        parse_langs("python,cobol")


def test_python_truncation_stops_at_first_unindented_line():
    text = "    x = 1\n\n    return x\ndef other():\n    pass\n"
    assert langs.truncate(text, "humaneval", "") == "    x = 1\n\n    return x\n"
    assert langs.is_complete("    return 1\nprint", "python", "")
    assert not langs.is_complete("    return 1\n    ", "python", "")


def test_brace_truncation_skips_comments_strings_and_chars():
    ctx = "/*\n>>> f({1, 2})\n*/\n#include<vector>\nint f(vector<int> v){\n"
    body = '    string s = "}}"; char c = \'}\'; // }\n    /* } */ if (v.size()) { return 1; }\n    return 0;\n}\n'
    tail = "int main(){ return f({}); }\n"
    assert langs.truncate(body + tail, "cpp", ctx) == body.rstrip("\n")
    assert not langs.is_complete(body[:-2], "cpp", ctx)
    java_ctx = "class Solution {\n    /** {@code x} */\n    public int f(int x) {\n"
    java_body = "        return x;\n    }\n}\n"
    assert langs.truncate(java_body + "class Main {}\n", "java", java_ctx) == java_body.rstrip("\n")


@needs_bench
def test_go_program_imports_only_used_helper_packages():
    problem = load_problems(BENCH, "go")["Go/0"]
    with_math = langs.program(problem, "go", "    return math.Abs(1) > 0\n}\n", Toolchain("go"))["main_test.go"]
    without = langs.program(problem, "go", "    return true\n}\n", Toolchain("go"))["main_test.go"]
    assert '"math"' in with_math and '"math"' not in without
    assert without.startswith("package main")


@needs_bench
def test_default_value_completions_match_signatures():
    java = load_problems(BENCH, "java")
    assert "return false;" in langs.default_value_completion(java["Java/0"], "java")  # boolean
    go = load_problems(BENCH, "go")
    assert "var r bool" in langs.default_value_completion(go["Go/0"], "go")


@needs_bench
def test_cli_json_scores_and_per_problem_results(tmp_path, capsys):
    problems = load_problems(BENCH, "humaneval")
    rows = []
    for tid in ("HumanEval/0", "HumanEval/2"):
        rows.append({"task_id": tid, "completion": problems[tid]["canonical_solution"]})
        rows.append({"task_id": tid, "completion": "    return None\n"})
    rows.append({"task_id": "HumanEval/4", "completion": "    return None\n"})
    rows.append({"task_id": "HumanEval/4", "completion": "    return None\n"})
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rc = main(["--samples", str(samples), "--json", "--k", "1,2", "--no-progress", "--workers", "2"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert out["humaneval"]["n_problems"] == 3 and out["humaneval"]["solved"] == 2
    assert out["humaneval"]["pass@1"] == pytest.approx((0.5 + 0.5 + 0.0) / 3)
    assert out["humaneval"]["pass@2"] == pytest.approx(2 / 3)
    records = [json.loads(line) for line in (tmp_path / "samples_results.jsonl").read_text().splitlines()]
    assert [(r["task_id"], r["n"], r["c"]) for r in records] == [
        ("HumanEval/0", 2, 1), ("HumanEval/2", 2, 1), ("HumanEval/4", 2, 0)]
    assert [x["status"] for x in records[0]["results"]] == ["passed", "failed"]


@needs_bench
def test_cli_bad_input_is_one_line_error(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"task_id": "HumanEval/0", "completion": ""}\n{"task_id": "HumanEval/9999", "completion": ""}\n')
    assert main(["--samples", str(bad), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and f"{bad}:2:" in err and "\n" not in err
    assert main(["--samples", str(tmp_path / "missing.jsonl")]) == 2
    assert main(["--samples", str(bad), "--lang", "go"]) == 2
    assert main(["--canonical", "--bench-dir", str(tmp_path), "--lang", "python"]) == 2
    assert "problems file not found" in capsys.readouterr().err
