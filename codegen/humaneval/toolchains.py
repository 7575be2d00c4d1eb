"""Find the compilers and runtimes each HumanEval-X language needs, and build Rust's crates once.

Go: the tests import testify, found in GOPATH layout (Debian's golang-github-stretchr-testify-dev
puts it under /usr/share/gocode); builds share a persistent GOCACHE so the standard library is
compiled once. Rust: problems `use rand`, `regex` and `md5`; they are built once with cargo (offline
from Debian's librust-*-dev sources when present) and linked into each `rustc --test` build.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from codegen.sandbox_os import accessible_to_others

# vet off and no symbol tables: a HumanEval-X Go build is then mostly the link (~1 s of CPU).
GO_BUILD_FLAGS = ["test", "-vet=off", "-ldflags=-s -w", "-c"]
_GO_WARMUP = ('package main\n\nimport (\n    "testing"\n    "github.com/stretchr/testify/assert"\n)\n\n'
              'func TestWarm(t *testing.T) {\n    assert.Equal(t, 1, 1)\n}\n')
# HumanEval-X JavaScript/162 requires this npm package (the only third-party one).
JS_MODULE = "js-md5@0.8.3"
_SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
_DEBIAN_CRATES = Path("/usr/share/cargo/registry")
# The reference Cargo.toml pins rand 0.4; Debian packages 0.8 (the harness rewrites 0.4 calls).
_RUST_CRATES = {"rand": '"0.8"', "regex": '{ version = "1", default-features = false, features = ["std", "unicode"] }',
                "md5": '"0.7"'}


@dataclass
class Toolchain:
    """What one language needs: resolved tool paths and build environment, or why it is missing."""

    language: str
    tools: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    missing: str = ""  # non-empty: the reason this language cannot run here
    note: str = ""  # a caveat worth printing (e.g. Rust crates unavailable)

    @property
    def available(self) -> bool:
        """Return whether programs of this language can be built and run."""
        return not self.missing


def default_cache_dir() -> Path:
    """Return the folder for build caches (Go build cache, compiled Rust crates)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "codegen-humaneval"


def _which(name: str, world: bool = False) -> str | None:
    """Resolve `name` on PATH (then the system PATH); with `world`, only paths any user can run."""
    for path in (os.environ.get("PATH"), _SYSTEM_PATH):
        found = shutil.which(name, path=path)
        if found and (not world or accessible_to_others(found)):
            return os.path.realpath(found) if world else found
    return None


def _python(world: bool) -> Toolchain:
    exe = sys.executable if not world or accessible_to_others(sys.executable) else _which("python3", True)
    if not exe:
        return Toolchain("python", missing="no Python interpreter that the sandbox user can run")
    return Toolchain("python", tools={"python": exe})


def _cpp(world: bool) -> Toolchain:
    gxx = _which("g++")
    if not gxx:
        return Toolchain("cpp", missing="g++ not found")
    # "world": the sandbox uid can run the compiler itself, so builds need no privileges either.
    return Toolchain("cpp", tools={"g++": gxx}, extra={"world": accessible_to_others(gxx)})


def _java(world: bool) -> Toolchain:
    javac, java = _which("javac"), _which("java", world)
    if not javac or not java:
        return Toolchain("java", missing="javac/java not found")
    return Toolchain("java", tools={"javac": javac, "java": java},
                     extra={"world": accessible_to_others(javac)})


def _recent_failure(folder: Path) -> str:
    """Return the reason of a failed download attempt in `folder` less than a day old, else ''."""
    marker = folder / ".failed"
    with contextlib.suppress(OSError):
        if time.time() - marker.stat().st_mtime < 86400:
            return marker.read_text().strip() + f" (not retried for a day; delete {marker} to retry)"
    return ""


def _remember_failure(folder: Path, why: str) -> str:
    """Record a failed download so that every harness start does not wait on it again."""
    with contextlib.suppress(OSError):
        (folder / ".failed").write_text(why + "\n")
    return why


def _js(world: bool, cache_dir: Path) -> Toolchain:
    node = _which("node", world)
    if not node:
        return Toolchain("js", missing="node not found")
    tc = Toolchain("js", tools={"node": node})
    module, why = _js_module(JS_MODULE, cache_dir)
    tc.extra["modules"] = {JS_MODULE.split("@")[0]: module} if module else {}
    if why:
        tc.note = f"npm package {JS_MODULE} unavailable ({why}); problems that require it fail"
    return tc


def _js_module(spec: str, cache_dir: Path) -> tuple[dict[str, bytes], str]:
    """Install an npm package once; return its package.json and main file (copied into each run)."""
    name = spec.split("@")[0]
    prefix = cache_dir / "node"
    pkg = prefix / "node_modules" / name
    if not (pkg / "package.json").is_file():
        npm = _which("npm")
        if not npm:
            return {}, "npm not found"
        prefix.mkdir(parents=True, exist_ok=True)
        why = _recent_failure(prefix)
        if why:
            return {}, why
        try:
            subprocess.run([npm, "install", "--no-audit", "--no-fund", "--fetch-retries=0",
                            "--prefix", str(prefix), spec],
                           capture_output=True, text=True, timeout=300, check=True)
        except subprocess.CalledProcessError as e:
            return {}, _remember_failure(prefix, f"npm install {spec}: {(e.stderr or '').strip()[-200:]}")
        except (OSError, subprocess.SubprocessError) as e:
            return {}, _remember_failure(prefix, f"npm install {spec}: {e}")
    try:
        main = json.loads((pkg / "package.json").read_text()).get("main") or "index.js"
        return {"package.json": (pkg / "package.json").read_bytes(), main: (pkg / main).read_bytes()}, ""
    except (OSError, ValueError) as e:
        return {}, f"{pkg}: {e}"


def _go(world: bool, cache_dir: Path) -> Toolchain:
    go = _which("go")
    if not go:
        return Toolchain("go", missing="go not found (run tests/setup_humaneval.sh)")
    candidates = [p for p in (os.environ.get("GOPATH", "").split(os.pathsep)) if p]
    candidates.append("/usr/share/gocode")
    gopath = next((p for p in candidates
                   if (Path(p) / "src/github.com/stretchr/testify/assert").is_dir()), None)
    if not gopath:
        return Toolchain("go", missing="testify not found in GOPATH layout "
                                       "(install golang-github-stretchr-testify-dev)")
    gocache = cache_dir / "go-build"
    gocache.mkdir(parents=True, exist_ok=True)
    env = {"GO111MODULE": "off", "GOPATH": gopath, "GOCACHE": str(gocache), "CGO_ENABLED": "0",
           "GOFLAGS": "", "GOTOOLCHAIN": "local", "GOPROXY": "off"}
    why = _warm_go(go, env, gocache)
    if why:
        return Toolchain("go", missing=why)
    return Toolchain("go", tools={"go": go}, env=env)


def _warm_go(go: str, env: dict[str, str], gocache: Path) -> str:
    """Build the standard library and testify into GOCACHE once, outside any per-program timeout."""
    marker = gocache / ".warm"
    if marker.is_file():
        return ""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "main_test.go").write_text(_GO_WARMUP)
        try:
            subprocess.run([go, *GO_BUILD_FLAGS, "-o", "warm.test", "main_test.go"], cwd=tmp,
                           env={**os.environ, **env, "HOME": tmp}, capture_output=True, text=True,
                           timeout=900, check=True)
        except subprocess.CalledProcessError as e:
            return f"go cannot build a testify test: {(e.stderr or '').strip()[-300:]}"
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"go cannot build a testify test: {e}"
    marker.write_text("ok\n")
    return ""


def _rust(world: bool, cache_dir: Path) -> Toolchain:
    rustc = _which("rustc")
    if not rustc:
        return Toolchain("rust", missing="rustc not found")
    try:
        sysroot = subprocess.run([rustc, "--print", "sysroot"], capture_output=True, text=True,
                                 timeout=60, check=True).stdout.strip()
        version = subprocess.run([rustc, "--version"], capture_output=True, text=True,
                                 timeout=60, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError) as e:
        return Toolchain("rust", missing=f"rustc does not run: {e}")
    # The rustup proxy needs HOME; the sandbox gives each build its own, so call the real compiler.
    real = Path(sysroot) / "bin" / "rustc"
    tc = Toolchain("rust", tools={"rustc": str(real) if real.is_file() else rustc})
    externs, why = _rust_crates(tc.tools["rustc"], version, cache_dir)
    tc.extra["externs"] = externs
    tc.extra["rand_api"] = "0.8" if externs else ""
    if why:
        tc.note = f"Rust crates rand/regex/md5 unavailable ({why}); problems that use them fail"
    return tc


def _rust_crates(rustc: str, version: str, cache_dir: Path) -> tuple[dict[str, str], str]:
    """Build rand/regex/md5 once per compiler version; return {crate: rlib path} or a reason."""
    key = hashlib.sha1(version.encode()).hexdigest()[:12]
    proj = cache_dir / f"rust-crates-{key}"
    manifest = proj / "externs.json"
    if manifest.is_file():
        externs = json.loads(manifest.read_text())
        if all(Path(p).is_file() for p in externs.values()):
            return externs, ""
    cargo = _which("cargo")
    if not cargo:
        return {}, "cargo not found"
    (proj / "src").mkdir(parents=True, exist_ok=True)
    with open(proj / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another harness process may be building the same
        if manifest.is_file():
            return json.loads(manifest.read_text()), ""
        deps = "\n".join(f"{k} = {v}" for k, v in _RUST_CRATES.items())
        (proj / "Cargo.toml").write_text(
            f'[package]\nname = "humaneval_crates"\nversion = "0.1.0"\nedition = "2021"\n\n'
            f"[dependencies]\n{deps}\n")
        (proj / "src" / "lib.rs").write_text("")
        offline = _DEBIAN_CRATES.is_dir() and all(any(_DEBIAN_CRATES.glob(f"{c}-*")) for c in _RUST_CRATES)
        if offline:
            (proj / ".cargo").mkdir(exist_ok=True)
            (proj / ".cargo" / "config.toml").write_text(
                f'[source.crates-io]\nreplace-with = "debian"\n\n'
                f'[source.debian]\ndirectory = "{_DEBIAN_CRATES}"\n')
        why = "" if offline else _recent_failure(proj)
        if why:
            return {}, why
        cmd = [cargo, "build", "--quiet"] + (["--offline"] if offline else [])
        env = {**os.environ, "RUSTC": rustc, "CARGO_TARGET_DIR": str(proj / "target")}
        try:
            subprocess.run(cmd, cwd=proj, env=env, capture_output=True, text=True, timeout=900,
                           check=True)
        except subprocess.CalledProcessError as e:
            last = (e.stderr or "").strip().splitlines()[-1:] or ["failed"]
            return {}, _remember_failure(
                proj, f"cargo build: {last[0]} (tests/setup_humaneval.sh installs them offline)")
        except (OSError, subprocess.TimeoutExpired) as e:
            return {}, _remember_failure(proj, f"cargo build: {e}")
        externs = {}
        deps_dir = proj / "target" / "debug" / "deps"
        for crate in _RUST_CRATES:
            rlibs = sorted(deps_dir.glob(f"lib{crate}-*.rlib"), key=lambda p: p.stat().st_mtime)
            if not rlibs:
                return {}, f"no lib{crate}*.rlib after cargo build"
            externs[crate] = str(rlibs[-1])
        with contextlib.suppress(OSError):
            manifest.write_text(json.dumps(externs))
        return externs, ""


def find_toolchains(languages: list[str], world: bool, cache_dir: Path | None = None) -> dict[str, Toolchain]:
    """Return a Toolchain per language; `world`: the sandbox runs programs as an unprivileged uid."""
    cache_dir = Path(cache_dir or default_cache_dir())
    out = {}
    for lang in languages:
        if lang in ("python", "humaneval"):
            out[lang] = _python(world)
        elif lang == "go":
            out[lang] = _go(world, cache_dir)
        elif lang == "rust":
            out[lang] = _rust(world, cache_dir)
        elif lang == "js":
            out[lang] = _js(world, cache_dir)
        else:
            out[lang] = {"cpp": _cpp, "java": _java}[lang](world)
        out[lang].language = lang
    return out
