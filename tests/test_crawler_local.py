"""Local corpus source: folders, git checkouts, the default corpus, permalinks."""
import subprocess

from crawler.local import browsable_url, default_corpus, local_record
from crawler.manifest import RepoRecord, merge_records, permalink, read_manifest, write_manifest


def git(*args, cwd):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_git_checkout_records_remote_and_head(tmp_path):
    repo = tmp_path / "proj"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    (repo / "a.py").write_text("def f():\n    pass\n")
    git("add", ".", cwd=repo)
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "x", cwd=repo)
    git("remote", "add", "origin", "git@github.com:someone/proj.git", cwd=repo)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    rec = local_record(str(repo))
    assert (rec.name, rec.url, rec.sha, rec.source) == ("local/proj", "https://github.com/someone/proj", head, "local")
    assert permalink(rec, "a.py", 1, 2) == f"https://github.com/someone/proj/blob/{head}/a.py#L1-L2"


def test_plain_folder_gets_file_url(tmp_path):
    rec = local_record(str(tmp_path))
    assert rec.url == tmp_path.as_uri() and rec.sha is None
    assert permalink(rec, "x/y.py", 3, 4) == f"{tmp_path.as_uri()}/x/y.py#L3-L4"


def test_browsable_url():
    assert browsable_url("https://github.com/a/b.git") == "https://github.com/a/b"
    assert browsable_url("ssh://git@gitlab.com/a/b.git") == "https://gitlab.com/a/b"


def test_default_corpus_has_stdlib_and_site_packages():
    recs = {r.name: r for r in default_corpus()}
    assert recs["stdlib/json"].licence == "PSF-2.0"
    assert permalink(recs["stdlib/json"], "decoder.py", 1, 2).startswith("https://github.com/python/cpython/blob/v3.")
    assert "/Lib/json/decoder.py#L1-L2" in permalink(recs["stdlib/json"], "decoder.py", 1, 2)
    assert "stdlib/test" not in recs
    assert recs["site-packages/numpy"].licence  # read from the distribution's metadata
    assert any(n.startswith("site-packages/") for n in recs)


def test_manifest_merge_and_round_trip(tmp_path):
    a = RepoRecord(name="x/a", source="local", path="/a")
    b = RepoRecord(name="x/b", source="local", path="/b")
    merged = merge_records([a, b], [RepoRecord(name="x/a", source="local", path="/a2")])
    write_manifest(tmp_path / "m.jsonl", merged)
    back = read_manifest(tmp_path / "m.jsonl")
    assert [(r.name, r.path) for r in back] == [("x/a", "/a2"), ("x/b", "/b")]


def test_toolchain_sources_of_the_default_corpus(tmp_path):
    import json as _json

    from crawler.toolchains import go_stdlib_records, npm_bundled_records

    go = tmp_path / "go"
    for d in ("src/fmt", "src/net/http", "src/cmd/compile", "src/cmd/go", "src/vendor/x", "src/empty"):
        (go / d).mkdir(parents=True)
    for f in ("src/fmt/print.go", "src/net/http/server.go", "src/cmd/compile/main.go", "src/cmd/go/main.go",
              "src/vendor/x/x.go"):
        (go / f).write_text("package p\n")
    (go / "VERSION").write_text("go1.99.1\ntime 2026\n")
    recs = {r.name: r for r in go_stdlib_records(go)}
    assert sorted(recs) == ["go/cmd/compile", "go/cmd/go", "go/fmt", "go/net"]
    assert recs["go/net"].subdir == "src/net" and recs["go/net"].sha == "go1.99.1"
    assert recs["go/net"].extra["exclude"] == ["*_test.go", "testdata/"] and recs["go/net"].licence == "BSD-3-Clause"

    npm = tmp_path / "npm"
    (npm / "lib").mkdir(parents=True)
    (npm / "package.json").write_text(_json.dumps({"name": "npm", "version": "11.0.0", "license": "Artistic-2.0",
                                                   "repository": {"url": "git+https://github.com/npm/cli.git"}}))
    for name, lic in (("semver", "ISC"), ("@npmcli/fs", "ISC")):
        (npm / "node_modules" / name).mkdir(parents=True)
        (npm / "node_modules" / name / "package.json").write_text(_json.dumps({"name": name, "version": "1.0.0",
                                                                              "license": lic}))
    recs = {r.name: r for r in npm_bundled_records(npm)}
    assert sorted(recs) == ["npm/@npmcli/fs", "npm/npm", "npm/semver"]
    assert (recs["npm/npm"].url, recs["npm/npm"].sha) == ("https://github.com/npm/cli", "v11.0.0")
    assert recs["npm/semver"].licence == "ISC" and recs["npm/semver"].sha is None


def test_default_corpus_reads_only_python_from_site_packages():
    recs = [r for r in default_corpus() if r.name.startswith("site-packages/")]
    assert recs and all(r.extra.get("languages") == ["python"] for r in recs)
