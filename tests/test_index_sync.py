"""`codesearch index sync`: incremental updates equal a fresh build; ignore files; killed syncs; locking; readers; watch."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from codesearch.cli import main
from index.live import LiveSearcher
from index.manifest import IndexConfig
from index.searcher import Searcher
from index.sync import SyncBusyError, SyncConfig, sync, sync_lock
from index.sync.watch import WatchConfig, watch
from syncutil import assert_same_index, contents, make_project

ROOT = Path(__file__).resolve().parents[1]
# never fold or rebuild: every generation is a delta + tombstones + a hard-linked lexical copy
LAZY = dict(fold_min=10 ** 9, fold_fraction=10.0, lexical_rebuild_fraction=10.0)
# fold and rebuild every time: BM25 statistics are a fresh build's
EAGER = dict(fold_min=0, fold_fraction=0.0, lexical_rebuild_fraction=0.0)


def config(kw=None) -> SyncConfig:
    kw = LAZY if kw is None else kw
    index = IndexConfig(progress=False).override(["vectors.compact_fraction=" + ("100.0" if kw is LAZY else "0.0")])
    return SyncConfig(model="hashing:64", index=index, progress=False, **kw)


def edit_sequence(proj: Path):
    """Each step changes the tree the way a developer would; the index is synced after each."""
    def edit():
        p = proj / "pkg/maths.py"
        p.write_text(p.read_text() + '\n\ndef mul_numbers(a, b):\n    """Multiply two numbers."""\n    return a * b\n')

    def delete():
        (proj / "tools/net.py").unlink()

    def rename():
        os.rename(proj / "pkg/config.py", proj / "pkg/settings.py")

    def add():
        (proj / "pkg/strings.py").write_text('def title_case(text):\n    """Title-case a string."""\n    return text.title()\n')

    def rename_and_edit():
        src = proj / "pkg/io_utils.py"
        text = src.read_text().replace("Write text to a file.", "Write a text file, replacing it.")
        src.unlink()
        (proj / "pkg/files.py").write_text(text)

    return [edit, delete, rename, add, rename_and_edit]


@pytest.mark.parametrize("mode", ["lazy", "eager"])
def test_sync_after_changes_equals_a_fresh_build(tmp_path, mode):
    kw = LAZY if mode == "lazy" else EAGER
    proj = make_project(tmp_path / "proj")
    idx = tmp_path / "index"
    r = sync([str(proj)], idx, config(kw))
    assert r.created and r.added > 0
    for step in edit_sequence(proj):
        step()
        sync([str(proj)], idx, config(kw))
    fresh = tmp_path / "fresh"
    sync([str(proj)], fresh, config(kw))
    got, want = contents(idx), contents(fresh)
    assert_same_index(got, want, exact_bm25=mode == "eager")
    names = {k[3] for k in got["records"]}
    assert {"mul_numbers", "title_case"} <= names and "http_request" not in names
    paths = {k[1] for k in got["records"]}
    assert "pkg/settings.py" in paths and "pkg/config.py" not in paths and "pkg/io_utils.py" not in paths
    m = json.loads((idx / "manifest.json").read_text())
    assert m["generation"] == 5
    if mode == "lazy":
        assert m["vectors"]["delta"] and m["lexical"]["dir"] == "lexical.5"


def test_a_rename_moves_functions_without_re_encoding(tmp_path):
    proj = make_project(tmp_path / "proj")
    idx = tmp_path / "index"
    sync([str(proj)], idx, config())
    before = {r["name"]: r for b in Searcher.open(idx).store.iter_records() for r in b}
    os.rename(proj / "pkg/config.py", proj / "pkg/settings.py")
    r = sync([str(proj)], idx, config())
    assert (r.added, r.removed, len(r.changes.renamed)) == (0, 0, 1)
    after = {r["name"]: r for b in Searcher.open(idx).store.iter_records() for r in b}
    moved = after["parse_config"]
    assert moved["id"] == before["parse_config"]["id"] and moved["path"] == "pkg/settings.py"
    assert moved["url"].endswith("pkg/settings.py#L1-L3")


def test_ignored_files_never_enter(tmp_path):
    proj = make_project(tmp_path / "proj")
    (proj / ".gitignore").write_text("build/\n*_gen.py\n")
    (proj / ".codesearchignore").write_text("secret.py\n")
    for rel in ("build/out.py", "pkg/schema_gen.py", "pkg/secret.py"):
        (proj / rel).parent.mkdir(parents=True, exist_ok=True)
        (proj / rel).write_text('def hidden_function(x):\n    """Do not index me."""\n    return x\n')
    idx = tmp_path / "index"
    sync([str(proj)], idx, config())
    (proj / "build/more.py").write_text('def hidden_too(x):\n    return x\n')
    sync([str(proj)], idx, config())
    recs = contents(idx)["records"]
    assert recs and not {k for k in recs if k[3].startswith("hidden") or k[1].startswith("build/")}


KILLED = """
import sys, time
from pathlib import Path
import index.sync.writer as s
from index.manifest import IndexConfig
real = s.Updater._vectors
def slow(self, *a, **k):
    out = real(self, *a, **k)          # this generation's files are written, the store not yet committed
    Path(sys.argv[3]).write_text("ready")
    time.sleep(120)
    return out
s.Updater._vectors = slow
cfg = s.SyncConfig(progress=False, index=IndexConfig(progress=False), model="hashing:64", batch_files=2)
s.sync([sys.argv[1]], sys.argv[2], cfg)
"""


@pytest.mark.parametrize("first", [False, True], ids=["update", "first sync"])
def test_a_killed_sync_leaves_a_usable_index_and_the_next_one_finishes(tmp_path, first):
    proj = make_project(tmp_path / "proj")
    idx = tmp_path / "idx"
    if not first:
        sync([str(proj)], idx, config())
        before = contents(idx)
        (proj / "pkg/maths.py").write_text('def subtract(a, b):\n    """Subtract b from a."""\n    return a - b\n')
        (proj / "tools/net.py").unlink()
    script, marker = tmp_path / "script" / "killed.py", tmp_path / "ready"
    script.parent.mkdir()      # not beside the index folder, which Python would take for the `index` package
    script.write_text(KILLED)
    proc = subprocess.Popen([sys.executable, str(script), str(proj), str(idx), str(marker)], cwd=ROOT)
    try:
        for _ in range(600):      # bounded: at most a minute
            if marker.exists() or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert marker.exists(), "the sync never reached its commit"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    if first:   # the first batch of files (2) was committed and is searchable; the rest is still to come
        m = json.loads((idx / "manifest.json").read_text())
        assert m["generation"] == 0 and m["sync"]["files"] == 2
        partial = Searcher.open(idx).size
    else:
        assert_same_index(contents(idx), before, exact_bm25=True)   # the previous generation, whole
        hits = Searcher.open(idx).search("http request", k=3).hits
        assert any(h.name == "http_request" for h in hits)
    sync([str(proj)], idx, config())
    sync([str(proj)], tmp_path / "fresh", config())
    assert_same_index(contents(idx), contents(tmp_path / "fresh"), exact_bm25=False)
    if first:
        assert 0 < partial < len(contents(idx)["records"])


def test_a_second_sync_is_refused_clearly_or_waits(tmp_path, capsys):
    proj = make_project(tmp_path / "proj")
    idx = tmp_path / "index"
    sync([str(proj)], idx, config())
    with sync_lock(idx, wait=False):
        with pytest.raises(SyncBusyError, match="another `codesearch index sync`"):
            sync([str(proj)], idx, config())
        rc = main(["index", "sync", str(proj), "--index", str(idx), "--no-progress"])
        assert rc == 3 and "--wait" in capsys.readouterr().err
        done, order = threading.Event(), []
        t = threading.Thread(target=lambda: (sync([str(proj)], idx, SyncConfig(wait=True, progress=False)),
                                             order.append("sync"), done.set()))
        t.start()
        order.append("released")
    assert done.wait(60)
    t.join(10)
    assert order == ["released", "sync"]


def test_readers_keep_their_generation_and_live_readers_follow(tmp_path):
    proj = make_project(tmp_path / "proj")
    idx = tmp_path / "index"
    sync([str(proj)], idx, config())
    old = Searcher.open(idx)
    live = LiveSearcher(idx, check_every=0)
    gone = [h.id for h in old.search("http request", k=5).hits if h.name == "http_request"]
    (proj / "tools/net.py").unlink()
    sync([str(proj)], idx, config())
    assert old.store.get(gone) and old.size == len(old.ids())   # pinned: still the old generation
    new = Searcher.open(idx)
    assert not new.store.get(gone) and new.size == old.size - 1
    assert live.get().size == new.size


def test_no_change_sync_writes_nothing(tmp_path):
    proj = make_project(tmp_path / "proj")
    idx = tmp_path / "index"
    sync([str(proj)], idx, config())
    stamp = (idx / "manifest.json").stat().st_mtime_ns
    r = sync([], idx, config())     # no folders: those it was synced from
    assert not r.changes and r.added == r.removed == 0
    assert (idx / "manifest.json").stat().st_mtime_ns == stamp
    assert "up to date" in r.summary()


def test_cli_sync_then_search(tmp_path, capsys):
    proj = make_project(tmp_path / "proj")
    idx = tmp_path / "index"
    assert main(["index", "sync", str(proj), "--index", str(idx), "--model", "hashing:64", "--no-progress"]) == 0
    assert "created" in capsys.readouterr().out
    assert main(["search", "read json file", "--index", str(idx), "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert hits and hits[0]["url"].startswith("file://")
    assert main(["index", "sync", str(tmp_path / "missing"), "--index", str(idx)]) == 1
    assert "not a folder" in capsys.readouterr().err
    assert main(["index", "sync", "--index", str(tmp_path / "new")]) == 1
    assert "name the folders" in capsys.readouterr().err
    assert main(["index", "sync", str(proj), "--index", str(proj)]) == 1     # never replaces a folder of the user's
    assert "is not an index" in capsys.readouterr().err and (proj / "pkg/maths.py").exists()


def test_watch_syncs_after_a_change_and_stops_on_ctrl_c(tmp_path):
    proj = make_project(tmp_path / "proj")
    idx = tmp_path / "index"
    calls = []

    def sleep(_):   # the first look finds an edit; from then on the folder is quiet
        calls.append(1)
        if len(calls) == 1:
            (proj / "pkg/new.py").write_text('def watched_function(x):\n    """Seen by the watcher."""\n    return x\n')
    n = watch([str(proj)], idx, config(), WatchConfig(max_syncs=2), report=lambda r: None, sleep=sleep)
    assert n == 2
    assert any(k[3] == "watched_function" for k in contents(idx)["records"])

    def interrupt(_):
        raise KeyboardInterrupt
    assert watch([str(proj)], idx, config(), report=lambda r: None, sleep=interrupt) == 1


def test_add_and_remove_refuse_a_synced_index(tmp_path, capsys):
    proj = make_project(tmp_path / "proj")
    idx = tmp_path / "index"
    sync([str(proj)], idx, config())
    assert main(["index", "remove", "local/proj", "--index", str(idx)]) == 1
    assert "kept by `codesearch index sync`" in capsys.readouterr().err


def test_touched_files_are_remembered_and_same_bytes_in_another_language_are_extracted_again(tmp_path):
    proj = make_project(tmp_path / "proj")
    idx = tmp_path / "index"
    sync([str(proj)], idx, config())
    p = proj / "pkg/maths.py"
    os.utime(p, ns=(p.stat().st_atime_ns, p.stat().st_mtime_ns - 10 ** 10))   # touched: same bytes, older mtime
    r = sync([], idx, config())
    assert not r.changes
    from index.store import Store
    from index.sync.file_table import read_files
    st = Store(idx / "store.sqlite", readonly=True)
    assert read_files(st)[("local/proj", "pkg/maths.py")].mtime_ns == p.stat().st_mtime_ns
    st.close()
    if (proj / "web.js").exists():
        os.rename(proj / "web.js", proj / "web.ts")
        r = sync([], idx, config())
        assert not r.changes.renamed and r.changes.added == [("local/proj", "web.ts")]
        langs = {v["language"] for k, v in contents(idx)["records"].items() if k[1] == "web.ts"}
        assert langs == {"typescript"}


def test_live_searcher_closes_generations_no_request_holds(tmp_path):
    import sqlite3
    proj = make_project(tmp_path / "proj")
    idx = tmp_path / "index"
    sync([str(proj)], idx, config())
    live = LiveSearcher(idx)
    seen = [live.get()]
    for n in range(2):
        (proj / f"pkg/more{n}.py").write_text(f'def more_{n}(x):\n    return x + {n}\n')
        sync([str(proj)], idx, config())
        seen.append(live.get())
    assert len({id(s) for s in seen}) == 3 and seen[2].size == seen[0].size + 2
    assert seen[1].store.count() == seen[0].size + 1      # the previous one still answers
    with pytest.raises(sqlite3.ProgrammingError):         # the one before it was closed
        seen[0].store.count()


def test_watch_command_exits_cleanly_on_ctrl_c(tmp_path):
    proj = make_project(tmp_path / "proj")
    idx = tmp_path / "idx"
    proc = subprocess.Popen([sys.executable, "-m", "index", "sync", str(proj), "--index", str(idx), "--model", "hashing:64",
                             "--watch", "--interval", "0.2", "--no-progress"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(600):     # bounded: the first sync writes the manifest
            if (idx / "manifest.json").exists() or proc.poll() is not None:
                break
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "stopped watching" in err and "Traceback" not in err
    assert Searcher.open(idx).size > 0


def test_a_first_sync_in_batches_equals_one_in_a_single_batch(tmp_path):
    proj = make_project(tmp_path / "proj")
    one, many = config(), config()
    many.batch_files = 1
    r = sync([str(proj)], tmp_path / "many", many)
    sync([str(proj)], tmp_path / "one", one)
    assert r.created and r.generation > 0     # batches after the first were generations
    assert_same_index(contents(tmp_path / "many"), contents(tmp_path / "one"), exact_bm25=True)


def test_readers_searching_during_syncs_always_see_one_whole_generation(tmp_path):
    proj = make_project(tmp_path / "proj")
    idx = tmp_path / "index"
    sync([str(proj)], idx, config())
    live, errors, seen, stop = LiveSearcher(idx), [], set(), threading.Event()

    def read():
        while not stop.is_set() and len(seen) < 10_000:
            try:
                s = live.get()
                hits = s.search("numbers", k=50, mode="lexical").hits
                # every hit is a record of this generation's store, and the store agrees with its size
                assert all(s.store.get([h.id]) for h in hits) and s.store.count() == s.size
                seen.add(s.manifest.get("generation", 0))
            except Exception as e:  # noqa: BLE001 -- reported below
                errors.append(e)
                return
    t = threading.Thread(target=read)
    t.start()
    try:
        for n in range(6):
            (proj / f"pkg/numbers{n}.py").write_text(f'def numbers_{n}(x):\n    """More numbers."""\n    return x * {n}\n')
            if n % 2:
                (proj / f"pkg/numbers{n - 1}.py").unlink()
            sync([str(proj)], idx, config())
    finally:
        stop.set()
        t.join(60)
    assert not errors, errors[0]
