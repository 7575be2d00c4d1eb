"""Per language: the text a completion continues, the test program around it, and how to run it.

Programs are assembled as the reference harnesses do (openai/human-eval for HumanEval, CodeGeeX's
evaluate_humaneval_x.py for HumanEval-X), with two deliberate differences: JavaScript's
console.assert is made to throw (Node only prints a failed assert and exits 0), and Rust builds with
rustc directly against prebuilt crates instead of a cargo project per problem.
"""
from __future__ import annotations

import re

from codegen.execution import Step
from codegen.limits import Limits, limits_with
from codegen.humaneval.toolchains import GO_BUILD_FLAGS, Toolchain

PY_HELPERS = ["import math", "import re", "import sys", "import copy", "import datetime",
              "import itertools", "import collections", "import heapq", "import statistics",
              "import functools", "import hashlib", "import string", "from typing import *",
              "from collections import *"]  # CodeGeeX's list minus numpy, which may be absent
CPP_HELPERS = ["#include<stdlib.h>", "#include<algorithm>", "#include<math.h>", "#include<stdio.h>",
               "#include<vector>", "#include<string>", "#include<climits>", "#include<cstring>",
               "#include<iostream>"]
GO_HELPERS = ["math", "strings", "fmt", "strconv", "time", "bytes", "regexp", "sort", "math/rand",
              "crypto/md5", "unicode"]
JS_ASSERT = ("console.assert = (ok, ...msg) => { if (!ok) throw new Error("
             "['Assertion failed', ...msg].join(' ')); };\n")
# Printed after the tests: a program that exits 0 before them (exit() in the body) must not pass.
DONE = "__HUMANEVAL_TESTS_DONE__"
_RUST_CRATE_USE = re.compile(r"^use (rand|regex|md5)\b.*\n", re.M)
# CodeGeeX pins rand 0.4, whose gen_range(low, high) became gen_range(low..high) in 0.8.
_GEN_RANGE_04 = re.compile(r"\.gen_range\(\s*([^(),]+?)\s*,\s*([^()]+?)\s*\)")
_JVM_FLAGS = ["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData", "-Xshare:auto"]


def context(problem: dict, lang: str) -> str:
    """Return the text a completion continues (the model's prompt, before any retrieval)."""
    if lang == "rust":
        return problem["declaration"] + problem["prompt"]
    return problem["prompt"]


def _python_program(problem: dict, lang: str, completion: str) -> str:
    if lang == "humaneval":  # openai/human-eval: prompt + completion + test + check(entry_point)
        return (problem["prompt"] + completion + "\n" + problem["test"] + "\n"
                + f"check({problem['entry_point']})\nprint({DONE!r})\n")
    # CodeGeeX: keep the completion up to its first unindented line, then the test (which calls check).
    kept = []
    for line in completion.split("\n"):
        if line.strip() and line[0] not in " \t":
            break
        kept.append(line)
    return ("\n".join(PY_HELPERS) + "\n" + problem["prompt"] + "\n".join(kept) + "\n" + problem["test"]
            + f"\nprint({DONE!r})\n")


def _go_program(problem: dict, completion: str) -> str:
    prompt = problem["prompt"].replace(problem["import"], "")
    setup = problem["test_setup"]
    # Go refuses unused imports: import a helper package only when the completion uses it.
    used = [p for p in GO_HELPERS if f'"{p}"' not in setup and p.split("/")[-1] + "." in completion]
    imports = ("import (\n" + "".join(f'    "{p}"\n' for p in used) + ")\n") if used else ""
    return setup + "\n" + imports + prompt + completion + "\n" + problem["test"]


def program(problem: dict, lang: str, completion: str, tc: Toolchain) -> dict[str, str | bytes]:
    """Return the files of the test program for `completion` (name -> source)."""
    if lang in ("humaneval", "python"):
        return {"main.py": _python_program(problem, lang, completion)}
    if lang == "cpp":
        prompt = problem["prompt"]
        helpers = "".join(h + "\n" for h in CPP_HELPERS if h not in prompt)
        return {"main.cpp": helpers + "\n" + prompt + completion + "\n" + problem["test"]}
    if lang == "java":
        return {"Main.java": problem["prompt"] + completion + "\n" + problem["test"]}
    if lang == "js":
        files = {"main.js": JS_ASSERT + problem["prompt"] + completion + "\n" + problem["test"]
                 + f"\nconsole.log({DONE!r});\n"}
        for name, content in tc.extra.get("modules", {}).items():
            if name in files["main.js"]:  # node resolves require() from ./node_modules
                files.update({f"node_modules/{name}/{rel}": data for rel, data in content.items()})
        return files
    if lang == "go":
        return {"main_test.go": _go_program(problem, completion)}
    if lang == "rust":
        decl = problem["declaration"]
        if not tc.extra.get("externs"):
            decl = _RUST_CRATE_USE.sub("", decl)
        src = "fn main(){}\n" + decl + problem["prompt"] + completion + problem["test"]
        if tc.extra.get("rand_api") == "0.8":
            src = _GEN_RANGE_04.sub(r".gen_range(\1..\2)", src)
        return {"main.rs": src}
    raise ValueError(f"unknown language {lang!r}")


def steps(lang: str, files: dict[str, str], tc: Toolchain, run: Limits) -> list[Step]:
    """Return the build and run steps for a program of `lang` under the run limits `run`."""
    t = tc.tools
    if lang in ("humaneval", "python"):
        return [Step([t["python"], "-I", "-B", "main.py"], expect_stdout=DONE.encode())]
    if lang == "cpp":
        libs = ["-lcrypto"] if "openssl/" in files["main.cpp"] else []
        return [Step([t["g++"], "-std=c++17", "-o", "prog", "main.cpp", *libs], build=True,
                     as_invoker=not tc.extra.get("world")),
                Step(["./prog"])]
    if lang == "java":
        javac_flags = [f"-J{f}" for f in _JVM_FLAGS] + ["-J-Xmx512m"]
        jvm = limits_with(run, address_space_mb=None)  # the JVM reserves far more than it uses
        return [Step([t["javac"], *javac_flags, "-proc:none", "-encoding", "UTF-8", "-nowarn",
                      "Main.java"], build=True, as_invoker=not tc.extra.get("world")),
                Step([t["java"], *_JVM_FLAGS, "-Xmx512m", "-cp", ".", "Main"], limits=jvm)]
    if lang == "js":
        return [Step([t["node"], "main.js"], limits=limits_with(run, address_space_mb=None),
                     expect_stdout=DONE.encode())]
    if lang == "go":
        return [Step([t["go"], *GO_BUILD_FLAGS, "-o", "prog.test", "main_test.go"], env=tc.env,
                     build=True, as_invoker=True),  # GOCACHE is shared: the sandbox must not write it
                Step(["./prog.test", f"-test.timeout={int(run.timeout_s) + 1}s"], expect_stdout=b"PASS")]
    if lang == "rust":
        externs = tc.extra.get("externs") or {}
        dep_args = []
        for crate, rlib in externs.items():
            dep_args += ["--extern", f"{crate}={rlib}"]
        if externs:
            dep_args += ["-L", "dependency=" + str(_parent(next(iter(externs.values()))))]
        return [Step([t["rustc"], "--edition", "2021", "--test", "-A", "warnings", "-C",
                      "debuginfo=0", *dep_args, "-o", "prog", "main.rs"], build=True, as_invoker=True),
                Step(["./prog", "--test-threads=1"], expect_stdout=b"test result: ok.")]
    raise ValueError(f"unknown language {lang!r}")


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0]


def _scan_depth(text: str, lang: str, start: int = 0) -> tuple[int, int | None]:
    """Walk `text` tracking brace depth outside comments/strings; return (depth, index it hit 0)."""
    depth, i, n = start, 0, len(text)
    char_lit = re.compile(r"'(\\.|[^\\'\n])'")
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
            continue
        if c == '"' or (c == "`" and lang in ("js", "go")):
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" and c != "`" else 1
            i = j + 1
            continue
        if c == "'":
            m = char_lit.match(text, i)
            if m:
                i = m.end()
                continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0 and start > 0:
                return depth, i
        i += 1
    return depth, None


def _end(completion: str, lang: str, ctx: str) -> int | None:
    """Return where the function that `completion` continues ends (exclusive), or None if open."""
    if lang in ("humaneval", "python"):
        pos = 0
        for line in completion.split("\n"):
            if line.strip() and line[0] not in " \t":
                return pos
            pos += len(line) + 1
        return None
    open_depth, _ = _scan_depth(ctx, lang)
    if open_depth <= 0:
        return None
    _, end = _scan_depth(completion, lang, start=open_depth)
    return None if end is None else end + 1


def is_complete(completion: str, lang: str, ctx: str) -> bool:
    """Return whether a generated completion has already ended its function (a stop rule)."""
    return _end(completion, lang, ctx) is not None


def truncate(completion: str, lang: str, ctx: str) -> str:
    """Cut a generated completion where the function it continues ends."""
    end = _end(completion, lang, ctx)
    return completion if end is None else completion[:end]


_JAVA_DEFAULTS = {"int": "0", "long": "0", "double": "0", "float": "0", "boolean": "false",
                  "char": "'a'", "String": '""'}


def default_value_completion(problem: dict, lang: str) -> str:
    """Return a completion that builds and runs but returns a default value: a wrong solution."""
    if lang in ("humaneval", "python"):
        return "    return None\n"
    if lang == "cpp":
        return "    return {};\n}\n"
    if lang == "js":
        return "  return undefined;\n}\n"
    if lang == "rust":
        return "    return Default::default();\n}\n"
    if lang == "java":
        sig = re.findall(r"public\s+([\w<>\[\], ?]+?)\s+\w+\s*\(", problem["prompt"])
        ret = sig[-1].strip() if sig else "Object"
        value = _JAVA_DEFAULTS.get(ret, "null")
        return f"        return {value};\n    }}\n}}\n"
    if lang == "go":
        sig = re.findall(r"func \w+\(.*\)\s*(.*?)\s*\{\s*$", problem["prompt"], re.M)
        ret = sig[-1] if sig else ""
        if not ret:
            return "    return\n}\n"
        if ret.startswith("("):
            types = [t.strip() for t in ret[1:-1].split(",")]
            decls = "".join(f"    var r{i} {t}\n" for i, t in enumerate(types))
            return decls + "    return " + ", ".join(f"r{i}" for i in range(len(types))) + "\n}\n"
        return f"    var r {ret}\n    return r\n}}\n"
    raise ValueError(f"unknown language {lang!r}")
