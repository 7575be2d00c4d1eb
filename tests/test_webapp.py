"""The JSON API, its errors and the security rules, through Flask's test client over a fake searcher."""
from __future__ import annotations

import pytest

from test_webapp_fake import CORPUS, XSS, FakeSearcher
from webapp import create_app


@pytest.fixture
def searcher():
    return FakeSearcher()


@pytest.fixture
def client(searcher):
    return create_app({"SEARCHER": searcher}).test_client()


def test_search_returns_the_searchers_ranking_as_json(client, searcher):
    r = client.get("/api/search", query_string={"q": "read a json file", "k": 3})
    assert r.status_code == 200 and r.mimetype == "application/json"
    body = r.get_json()
    expected = FakeSearcher().search("read a json file", k=3)
    assert body["query"] == "read a json file" and body["mode"] == "hybrid" and body["k"] == 3
    assert body["total"] == expected.total
    assert body["results"] == [h.to_dict() for h in expected.hits]
    assert body["took_ms"] >= 0
    first = body["results"][0]
    assert first["name"] == "read_json"
    for key in ("name", "repo", "path", "start_line", "end_line", "url", "score", "code"):
        assert key in first
    assert first["url"].endswith(f"#L{first['start_line']}-L{first['end_line']}")


def test_filters_mode_and_offset_reach_the_searcher(client, searcher):
    r = client.get("/api/search", query_string={"q": "json", "k": 2, "repo": "demo/jsonio", "lang": "python",
                                                "mode": "lexical", "offset": 1})
    assert r.status_code == 200
    assert searcher.calls[-1] == {"query": "json", "k": 2, "mode": "lexical", "repo": "demo/jsonio",
                                  "lang": "python", "offset": 1}
    body = r.get_json()
    assert body["repo"] == "demo/jsonio" and body["offset"] == 1
    assert body["results"] and {h["repo"] for h in body["results"]} == {"demo/jsonio"}


@pytest.mark.parametrize("args, needle", [
    ({}, "empty query"),
    ({"q": ""}, "empty query"),
    ({"q": "   \t "}, "empty query"),
    ({"q": "x" * 1001}, "too long"),
    ({"q": "read json " * 10_000}, "too long"),
    ({"q": "json", "k": "0"}, "k must be between 1 and 1000"),
    ({"q": "json", "k": "1001"}, "k must be between 1 and 1000"),
    ({"q": "json", "k": "-5"}, "k must be between"),
    ({"q": "json", "k": "ten"}, "k must be an integer"),
    ({"q": "json", "k": "1e3"}, "k must be an integer"),
    ({"q": "json", "offset": "-1"}, "offset must be between"),
    ({"q": "json", "offset": "99999999"}, "offset must be between"),
    ({"q": "json", "mode": "fuzzy"}, "unknown mode"),
    ({"q": "json", "repo": "nobody/nothing"}, "unknown repository"),
    ({"q": "json", "lang": "cobol"}, "unknown language"),
    ({"q": "json", "repo": "r" * 5000}, "too long"),
])
def test_bad_requests_are_400_json_and_never_reach_the_searcher(client, searcher, args, needle):
    r = client.get("/api/search", query_string=args)
    assert r.status_code == 400 and r.mimetype == "application/json"
    body = r.get_json()
    assert needle in body["error"] and body["status"] == 400
    assert len(body["error"]) < 300  # the offending value is never echoed back whole
    assert searcher.calls == []


def test_k_bounds_are_inclusive(client):
    assert client.get("/api/search?q=json&k=1").status_code == 200
    assert len(client.get("/api/search?q=json&k=1").get_json()["results"]) == 1
    assert client.get("/api/search?q=json&k=1000").status_code == 200
    assert client.get("/api/search?q=" + "j" * 1000).status_code == 200


def test_a_query_error_from_the_searcher_is_a_400(searcher):
    class Pickier(FakeSearcher):
        def search(self, query, **kw):
            from index.errors import QueryError
            raise QueryError("this index has no neural vectors")
    r = create_app({"SEARCHER": Pickier()}).test_client().get("/api/search?q=json")
    assert r.status_code == 400 and r.get_json()["error"] == "this index has no neural vectors"


def test_an_unexpected_error_is_a_500_without_a_traceback(caplog):
    class Broken(FakeSearcher):
        def search(self, query, **kw):
            raise RuntimeError("secret internal detail /etc/passwd")
    client = create_app({"SEARCHER": Broken()}).test_client()
    for accept in ("application/json", "text/html"):
        r = client.get("/api/search?q=json", headers={"Accept": accept})
        assert r.status_code == 500 and r.mimetype == "application/json"
        text = r.get_data(as_text=True)
        assert "secret" not in text and "Traceback" not in text and "RuntimeError" not in text
    page = client.get("/?q=json", headers={"Accept": "text/html"})
    assert page.status_code == 500 and page.mimetype == "text/html"
    assert "secret" not in page.get_data(as_text=True) and "internal server error" in page.get_data(as_text=True)
    assert "secret internal detail" in caplog.text  # ...but the operator's log has it


def test_unknown_path_and_wrong_method_are_json(client):
    r = client.get("/api/nothing-here")
    assert r.status_code == 404 and r.get_json()["status"] == 404
    r = client.post("/api/search?q=json")
    assert r.status_code == 405 and r.get_json()["status"] == 405
    r = client.delete("/healthz")
    assert r.status_code == 405 and r.mimetype == "application/json"


def test_a_browser_gets_the_page_for_an_unknown_path(client):
    r = client.get("/nothing-here", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert r.status_code == 404 and r.mimetype == "text/html"
    assert 'role="alert"' in r.get_data(as_text=True)


def test_healthz_reports_the_index(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.get_json() == {"status": "ok", "functions": len(CORPUS), "repos": 5, "languages": ["python"]}


def test_no_index_yet_is_a_503_that_says_what_to_run(tmp_path):
    client = create_app({"INDEX_DIR": str(tmp_path / "no-index")}).test_client()
    r = client.get("/api/search?q=json")
    assert r.status_code == 503 and "make index" in r.get_json()["error"]
    assert str(tmp_path) not in r.get_json()["error"]  # no server paths in answers
    h = client.get("/healthz")
    assert h.status_code == 503 and h.get_json()["status"] == "unavailable"
    page = client.get("/")
    assert page.status_code == 503 and "No index yet" in page.get_data(as_text=True)
    assert "make index" in page.get_data(as_text=True)


def test_hostile_records_come_back_as_json_data_not_markup(client):
    r = client.get("/api/search", query_string={"q": "say hello", "k": 20})
    assert r.mimetype == "application/json" and r.headers["X-Content-Type-Options"] == "nosniff"
    names = [h["name"] for h in r.get_json()["results"]]
    assert XSS in names  # the data is returned as it is; it is the page's job to escape it


def test_security_headers_on_every_answer(client):
    for path in ("/", "/?q=json", "/api/search?q=json", "/healthz", "/nope", "/static/style.css"):
        r = client.get(path)
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"


def test_assets_are_served_from_memory_not_by_path(client):
    assert client.get("/static/style.css").mimetype == "text/css"
    assert client.get("/static/search.js").mimetype == "text/javascript"
    assert ".highlight .hll" in client.get("/static/pygments.css").get_data(as_text=True)
    for path in ("/static/../__init__.py", "/static/..%2f__init__.py", "/static/%2e%2e/%2e%2e/setup.cfg",
                 "/static/__init__.py", "/static/templates", "/static//etc/passwd"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert "create_app" not in r.get_data(as_text=True) and "[metadata]" not in r.get_data(as_text=True)


def test_debug_is_off_and_config_keys_are_checked():
    app = create_app({"SEARCHER": FakeSearcher()})
    assert not app.debug and not app.testing and not app.config["PROPAGATE_EXCEPTIONS"]
    assert create_app({"SEARCHER": FakeSearcher(), "WEB": {"max_k": 50}}).test_client().get(
        "/api/search?q=json&k=51").status_code == 400
    with pytest.raises(ValueError, match="unknown web config key"):
        create_app({"WEB": {"max_kk": 5}})
