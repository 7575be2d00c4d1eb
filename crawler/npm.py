"""Fetch npm package tarballs with `npm pack` and keep those whose package.json licence is allowed."""
from __future__ import annotations

import argparse
import json
import logging
import re
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tqdm.contrib.logging import logging_redirect_tqdm

from .journal import sigterm_as_interrupt
from .licences import LICENSE_FIELD_ALIASES, expression_allowed, parse_allowed
from .manifest import RepoRecord
from .registry import crawl_packages, requested_specs
from .pypi import github_url, top_packages
from .sdist import SdistError, unpack

log = logging.getLogger("crawler.npm")
DEFAULT_TOP_LIST = Path(__file__).with_name("top_npm.txt")
# an npm package name (optionally @scope/), optionally @version or @range
_SPEC = re.compile(r"^(?P<name>(?:@[a-z0-9][\w.-]*/)?[a-z0-9][\w.-]*)(?:@(?P<version>[^\s@/]+))?$", re.I)


@dataclass
class NpmConfig:
    """Where and how npm packages are fetched."""

    out: str = "data/repos.jsonl"
    repos_dir: str = "data/repos"
    licences: tuple[str, ...] = ("MIT", "ISC", "BSD-2-Clause", "BSD-3-Clause", "0BSD", "Apache-2.0")
    jobs: int = 2
    max_mb: float = 100.0
    retry_failed: bool = False
    flush_seconds: float = 5.0
    registry: str | None = None     # npm --registry (a mirror, or a local fake registry in tests)
    timeout_s: float = 120.0
    npm: str = "npm"


def is_tarball(spec: str) -> bool:
    return spec.endswith((".tgz", ".tar.gz"))


def parse_spec(spec: str) -> tuple[str, str | None]:
    """`@scope/name@1.2.3` -> ('@scope/name', '1.2.3'); a tarball path -> (its path, None)."""
    if is_tarball(spec):
        return spec, None
    m = _SPEC.match(spec.strip())
    if not m:
        raise ValueError(f"not an npm package name: {spec!r}")
    return m.group("name").lower(), m.group("version")


def npm_pack(spec: str, dest: Path, cfg: NpmConfig) -> tuple[Path, dict]:
    """Download one package's tarball into dest with `npm pack`; return its path and npm's JSON summary."""
    cmd = [cfg.npm, "pack", spec, "--json", "--pack-destination", str(dest), "--ignore-scripts"]
    if cfg.registry:
        cmd += ["--registry", cfg.registry]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=cfg.timeout_s, cwd=dest)
    except FileNotFoundError:
        raise SdistError(f"{cfg.npm} is not installed (npm comes with Node.js)") from None
    except subprocess.TimeoutExpired:
        raise SdistError(f"npm pack took over {cfg.timeout_s:g} s") from None
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if "npm error" in ln or "ERR" in ln] or proc.stderr.splitlines()
        raise SdistError((" ".join(ln.replace("npm error", "").strip() for ln in lines[:3]) or "npm pack failed")[:400])
    try:
        info = json.loads(proc.stdout)[0]
    except (ValueError, IndexError, KeyError):
        raise SdistError("npm pack printed no package summary") from None
    return dest / info["filename"], info


def read_package_json(archive: Path) -> dict:
    """The package.json at the root of an npm tarball."""
    try:
        with tarfile.open(archive) as t:
            for m in t.getmembers():
                parts = m.name.lstrip("./").split("/")
                if len(parts) == 2 and parts[1] == "package.json" and m.isfile():
                    return json.loads(t.extractfile(m).read().decode("utf-8"))
    except (tarfile.TarError, OSError, EOFError, ValueError) as e:
        raise SdistError(f"{archive.name}: unreadable tarball ({e})") from None
    raise SdistError(f"{archive.name}: no package.json at its root")


def licence_of(pkg: dict) -> str | None:
    """The SPDX expression package.json declares: `license` (a string, or the old {type}), or `licenses`."""
    lic = pkg.get("license")
    if isinstance(lic, dict):
        lic = lic.get("type")
    if not lic and isinstance(pkg.get("licenses"), list):
        types = [x.get("type") if isinstance(x, dict) else x for x in pkg["licenses"]]
        lic = " OR ".join(t for t in types if isinstance(t, str) and t)
    if not isinstance(lic, str) or not lic.strip():
        return None
    lic = lic.strip().strip("()") if lic.count("(") == 1 and lic.startswith("(") else lic.strip()
    return LICENSE_FIELD_ALIASES.get(lic.lower(), lic)


def repository_url(pkg: dict, name: str) -> str:
    """The package's GitHub repository from package.json, else its npm page."""
    repo = pkg.get("repository")
    url = repo.get("url") if isinstance(repo, dict) else repo
    if isinstance(url, str):
        if url.startswith("github:"):
            url = "https://github.com/" + url[len("github:"):]
        elif re.match(r"^[\w.-]+/[\w.-]+$", url):        # the "owner/repo" shorthand
            url = "https://github.com/" + url
        url = re.sub(r"^git\+", "", url.strip())
        url = re.sub(r"^(git|ssh)://(git@)?", "https://", url).replace("git@github.com:", "https://github.com/")
        found = github_url(url)
        if found:
            return found
    return f"https://www.npmjs.com/package/{name}"


def fetch_package(spec: str, cfg: NpmConfig) -> RepoRecord:
    """Download, check and unpack one package; every outcome becomes a record (never raises SdistError)."""
    name, _ = parse_spec(spec)
    rec = RepoRecord(name=f"npm/{name}", source="npm", url=f"https://www.npmjs.com/package/{name}")
    try:
        with tempfile.TemporaryDirectory(prefix="crawler-npm-") as tmp:
            archive, info = npm_pack(str(Path(spec).resolve()) if is_tarball(spec) else spec, Path(tmp), cfg)
            pkg = read_package_json(archive)
            if is_tarball(spec):    # its package.json names it
                name = str(pkg.get("name") or info.get("name") or Path(spec).stem).lower()
                rec.name, rec.url = f"npm/{name}", f"https://www.npmjs.com/package/{name}"
            rec.version = str(pkg.get("version") or info.get("version") or "") or None
            rec.url = repository_url(pkg, name)
            rec.licence = licence_of(pkg)
            rec.extra = {"tarball": archive.name}
            if not expression_allowed(rec.licence, cfg.licences):
                rec.status = "skipped"
                rec.error = f"licence {rec.licence or 'unknown'} is not one of {', '.join(cfg.licences)}"
                return rec
            dest = Path(cfg.repos_dir, "npm", name.replace("/", "__")).resolve()
            unpack(archive, dest, cfg.max_mb)
            rec.path = str(dest)
    except (SdistError, OSError) as e:
        rec.status, rec.error = "failed", str(e)
    return rec


def _name_and_pin(spec: str) -> tuple[str, str | None]:
    """A tarball is known by the name and version in its package.json; a name spec by itself."""
    if is_tarball(spec):
        pkg = read_package_json(Path(spec))
        return str(pkg.get("name", spec)).lower(), pkg.get("version")
    return parse_spec(spec)


def crawl(specs: list[str], cfg: NpmConfig) -> Counter:
    """Fetch every package not already done into the manifest; return counts by outcome."""
    return crawl_packages(specs, cfg, "npm", _name_and_pin, lambda spec: fetch_package(spec, cfg))


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = NpmConfig()
    p.add_argument("packages", nargs="*", help="packages to fetch: name, name@version, @scope/name, or a .tgz")
    p.add_argument("--top", type=int, help="also fetch the N most downloaded packages of --top-list")
    p.add_argument("--top-list", default=str(DEFAULT_TOP_LIST), help="most-downloaded list, one name a line")
    p.add_argument("--out", default=d.out, help="manifest to update")
    p.add_argument("--repos-dir", default=d.repos_dir, help="packages are unpacked under REPOS_DIR/npm/")
    p.add_argument("--licences", default=",".join(d.licences), help="allowed SPDX ids, comma-separated")
    p.add_argument("--jobs", type=int, default=d.jobs, help="parallel npm downloads")
    p.add_argument("--max-mb", type=float, default=d.max_mb, help="refuse tarballs that unpack to more than this")
    p.add_argument("--retry-failed", action="store_true", help="try again packages the manifest records as failed")
    p.add_argument("--registry", help="npm registry URL (a mirror, or a local one)")
    p.add_argument("--timeout", type=float, default=d.timeout_s, help="seconds allowed for one npm pack")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.jobs < 1 or args.timeout <= 0 or args.max_mb <= 0:
            raise ValueError("--jobs must be at least 1; --timeout and --max-mb must be positive")
        cfg = NpmConfig(out=args.out, repos_dir=args.repos_dir, licences=parse_allowed(args.licences),
                        jobs=args.jobs, max_mb=args.max_mb, retry_failed=args.retry_failed,
                        registry=args.registry, timeout_s=args.timeout)
        specs = requested_specs(args, parse_spec, top_packages)
        with sigterm_as_interrupt(), logging_redirect_tqdm():
            counts = crawl(specs, cfg)
    except (ValueError, OSError, SdistError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"npm: {counts['ok']} unpacked, {counts['skipped']} skipped (licence), {counts['failed']} failed, "
          f"{counts['done before']} done before -> {cfg.out}")
    return 0
