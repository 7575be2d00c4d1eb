"""The app over a real (tiny) index: opened lazily from INDEX_DIR, answers equal the Searcher's own, served for real."""
from __future__ import annotations

import html
import json
import re

import pytest

from test_webapp_cli import get, serve, stop
from test_webapp_fake import CORPUS, XSS, build_tiny_index
from webapp import create_app


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    return build_tiny_index(tmp_path_factory.mktemp("webapp") / "index")


@pytest.fixture(scope="module")
def reference(index_dir):
    from index.searcher import Searcher
    return Searcher.open(index_dir)


@pytest.fixture(scope="module")
def app(index_dir):
    return create_app({"INDEX_DIR": index_dir})


def test_the_index_is_opened_on_first_use_and_then_shared(index_dir):
    app = create_app({"INDEX_DIR": index_dir})
    holder = app.extensions["codesearch"]
    assert holder._searcher is None  # creating the app opens nothing
    client = app.test_client()
    assert client.get("/healthz").get_json()["functions"] == len(CORPUS)
    first = holder.get()
    client.get("/api/search?q=json")
    assert holder.get() is first


@pytest.mark.parametrize("mode", ["hybrid", "neural", "lexical"])
def test_api_answers_what_the_searcher_answers(app, reference, mode):
    body = app.test_client().get("/api/search", query_string={"q": "read a json file", "k": 5, "mode": mode}).get_json()
    expected = reference.search("read a json file", k=5, mode=mode)
    assert body["mode"] == mode and body["total"] == expected.total
    assert [h["id"] for h in body["results"]] == [h.id for h in expected.hits]
    assert body["results"][0] == json.loads(json.dumps(expected.hits[0].to_dict()))


def test_api_filter_and_offset_on_the_real_index(app, reference):
    client = app.test_client()
    body = client.get("/api/search?q=json+file&repo=demo/netutil&lang=python&k=2&offset=1").get_json()
    expected = reference.search("json file", k=2, repo="demo/netutil", lang="python", offset=1)
    assert [h["name"] for h in body["results"]] == [h.name for h in expected.hits]
    assert {h["repo"] for h in body["results"]} == {"demo/netutil"}
    r = client.get("/api/search?q=json&lang=cobol")
    assert r.status_code == 400 and "unknown language" in r.get_json()["error"]


def test_page_on_the_real_index_marks_lines_and_escapes(app, reference):
    body = app.test_client().get("/?q=read+a+json+file").get_data(as_text=True)
    names = [html.unescape(n) for n in re.findall(r'class="name"[^>]*>(.*?)</', body)]
    assert names == [h.name for h in reference.search("read a json file", k=10).hits]
    assert '<span class="hll">' in body
    evil = app.test_client().get("/?q=say+hello").get_data(as_text=True)
    assert XSS not in evil and html.escape(XSS, quote=False) in evil


def test_served_by_waitress_from_the_command_line(index_dir):
    proc, url = serve("--index", index_dir, "--threads", "2")
    try:
        status, ctype, body = get(url + "/api/search?q=sha256+digest+of+a+file&k=3")
        assert status == 200 and ctype == "application/json"
        assert json.loads(body)["results"][0]["name"] == "sha256_of_file"
        status, ctype, body = get(url + "/?q=join+two+paths")
        assert status == 200 and "join_paths" in body
        status, _, body = get(url + "/api/search?q=json&k=0")
        assert status == 400 and "k must be between 1 and 1000" in json.loads(body)["error"]
        assert get(url + "/healthz")[0] == 200
    finally:
        stop(proc)
