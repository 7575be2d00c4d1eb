"""The npm source: `npm pack` of packed tarballs and of a fake registry on 127.0.0.1, licences, resume."""
import base64
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from crawler.manifest import read_manifest
from crawler.npm import NpmConfig, crawl, licence_of, parse_spec, repository_url

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("npm") is None, reason="npm (Node.js) is not installed")


def make_tarball(tmp: Path, name: str, version: str, licence, code: str) -> Path:
    pkg = tmp / "src" / name.replace("/", "__")
    pkg.mkdir(parents=True)
    meta = {"name": name, "version": version, "main": "index.js",
            "repository": {"type": "git", "url": f"git+https://github.com/example/{name.split('/')[-1]}.git"}}
    if licence is not None:
        meta["license"] = licence
    (pkg / "package.json").write_text(json.dumps(meta))
    (pkg / "index.js").write_text(code)
    out = tmp / "tarballs"
    out.mkdir(exist_ok=True)
    r = subprocess.run(["npm", "pack", str(pkg), "--json", "--pack-destination", str(out)], capture_output=True,
                       text=True, timeout=120, env={**os.environ, "npm_config_cache": str(tmp / "npm-cache")})
    assert r.returncode == 0, r.stderr
    return out / json.loads(r.stdout)[0]["filename"]


CODE = "/** Pad a string on the left. */\nfunction leftPad(s, n) {\n  return s.padStart(n);\n}\nmodule.exports = leftPad;\n"


def test_tarballs_licences_and_resume(tmp_path):
    mit = make_tarball(tmp_path, "pad-it", "1.0.0", "MIT", CODE)
    gpl = make_tarball(tmp_path, "copyleft", "2.0.0", "GPL-3.0-only", CODE)
    dual = make_tarball(tmp_path, "@scope/dual", "0.1.0", "(MIT OR GPL-3.0)", CODE)
    cfg = NpmConfig(out=str(tmp_path / "repos.jsonl"), repos_dir=str(tmp_path / "repos"), jobs=1, flush_seconds=0)
    counts = crawl([str(mit), str(gpl), str(dual)], cfg)
    assert counts["ok"] == 2 and counts["skipped"] == 1
    recs = {r.name: r for r in read_manifest(cfg.out)}
    assert set(recs) == {"npm/pad-it", "npm/copyleft", "npm/@scope/dual"}
    ok = recs["npm/pad-it"]
    assert (ok.source, ok.version, ok.licence, ok.url) == ("npm", "1.0.0", "MIT", "https://github.com/example/pad-it")
    assert (Path(ok.path) / "index.js").read_text() == CODE
    assert recs["npm/copyleft"].status == "skipped" and "GPL-3.0-only" in recs["npm/copyleft"].error
    assert recs["npm/@scope/dual"].licence == "MIT OR GPL-3.0" and recs["npm/@scope/dual"].status == "ok"
    again = crawl([str(mit), str(gpl)], cfg)                        # the manifest already answers both
    assert again["done before"] == 2 and not again["ok"]


class FakeRegistry(http.server.BaseHTTPRequestHandler):
    """A registry of packuments and tarballs from a dict (name -> {version: tarball path})."""

    packages: dict = {}
    requests: list = []

    def do_GET(self):
        self.requests.append(self.path)
        base = f"http://127.0.0.1:{self.server.server_port}"
        name = self.path.lstrip("/").replace("%2f", "/").replace("%2F", "/")
        if name.endswith(".tgz"):
            body = Path(self.packages["__files__"][name.rsplit("/", 1)[-1]]).read_bytes()
            return self._send(200, body, "application/octet-stream")
        versions = self.packages.get(name)
        if versions is None:
            return self._send(404, b'{"error":"Not found"}', "application/json")
        doc = {"name": name, "dist-tags": {"latest": max(versions)}, "versions": {}}
        for v, tgz in versions.items():
            raw = Path(tgz).read_bytes()
            integrity = "sha512-" + base64.b64encode(hashlib.sha512(raw).digest()).decode()
            doc["versions"][v] = {"name": name, "version": v,
                                  "dist": {"tarball": f"{base}/{name}/-/{Path(tgz).name}", "integrity": integrity,
                                           "shasum": hashlib.sha1(raw).hexdigest()}}
        self._send(200, json.dumps(doc).encode(), "application/json")

    def _send(self, code, body, ctype):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def test_fake_registry_by_name_and_pinned_version(tmp_path):
    v1 = make_tarball(tmp_path / "a", "pad-it", "1.0.0", "MIT", CODE)
    v2 = make_tarball(tmp_path / "b", "pad-it", "2.0.0", "ISC", CODE.replace("padStart", "padEnd"))
    FakeRegistry.packages = {"pad-it": {"1.0.0": str(v1), "2.0.0": str(v2)},
                             "__files__": {v1.name: str(v1), v2.name: str(v2)}}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeRegistry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "npm_config_cache": str(tmp_path / "npm-cache")}
        common = ["--out", str(tmp_path / "repos.jsonl"), "--repos-dir", str(tmp_path / "repos"),
                  "--registry", f"http://127.0.0.1:{server.server_port}/", "--timeout", "60"]
        r = subprocess.run([sys.executable, "-m", "crawler", "npm", "pad-it@1.0.0", "missing-pkg", *common],
                           capture_output=True, text=True, timeout=180, env=env)
        assert r.returncode == 0, r.stderr
        recs = {x.name: x for x in read_manifest(tmp_path / "repos.jsonl")}
        assert recs["npm/pad-it"].version == "1.0.0" and recs["npm/pad-it"].status == "ok"
        assert recs["npm/missing-pkg"].status == "failed" and recs["npm/missing-pkg"].error
        r = subprocess.run([sys.executable, "-m", "crawler", "npm", "pad-it", *common],
                           capture_output=True, text=True, timeout=180, env=env)  # latest: 2.0.0
        assert r.returncode == 0, r.stderr
        rec = {x.name: x for x in read_manifest(tmp_path / "repos.jsonl")}["npm/pad-it"]
        assert rec.version in ("1.0.0", "2.0.0")   # unpinned: the manifest's answer stands (resume rule)
    finally:
        server.shutdown()
        server.server_close()


def test_bad_names_are_one_line_errors(tmp_path):
    r = subprocess.run([sys.executable, "-m", "crawler", "npm", "Not A Name!", "--out", str(tmp_path / "r.jsonl")],
                       capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 2 and r.stderr.startswith("error:") and "Traceback" not in r.stderr
    assert not (tmp_path / "r.jsonl").exists()


def test_package_json_fields():
    assert parse_spec("@Scope/Name@^1.2") == ("@scope/name", "^1.2")
    assert licence_of({"license": {"type": "MIT"}}) == "MIT"
    assert licence_of({"licenses": [{"type": "MIT"}, {"type": "Apache-2.0"}]}) == "MIT OR Apache-2.0"
    assert licence_of({}) is None
    assert repository_url({"repository": "github:o/r"}, "x") == "https://github.com/o/r"
    assert repository_url({"repository": "o/r"}, "x") == "https://github.com/o/r"
    assert repository_url({"repository": {"url": "git@github.com:o/r.git"}}, "x") == "https://github.com/o/r"
    assert repository_url({}, "x") == "https://www.npmjs.com/package/x"
