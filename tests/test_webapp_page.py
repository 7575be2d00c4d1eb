"""The search page: results, filters, paging, its empty/no-result/error states, escaping and highlighting."""
from __future__ import annotations

import html
import re
from urllib.parse import parse_qsl, urlsplit

import pytest

from test_webapp_fake import CORPUS, XSS, FakeSearcher
from webapp import create_app
from webapp.render import highlight_code, page_numbers, safe_url


@pytest.fixture
def searcher():
    return FakeSearcher()


@pytest.fixture
def client(searcher):
    return create_app({"SEARCHER": searcher}).test_client()


def page(client, status=200, **args) -> str:
    r = client.get("/", query_string=args)
    assert r.status_code == status, r.get_data(as_text=True)[:500]
    assert r.mimetype == "text/html"
    return r.get_data(as_text=True)


def result_names(body: str) -> list[str]:
    return [html.unescape(n) for n in re.findall(r'class="name"[^>]*>(.*?)</', body)]


def test_the_empty_page_has_a_focused_box_filters_and_examples(client):
    body = page(client)
    box = re.search(r"<input id=\"q\"[^>]*>", body, re.S).group(0)
    assert "autofocus" in box and 'name="q"' in box and 'value=""' in box
    assert '<option value="python">python</option>' in body
    for repo in FakeSearcher().repos():
        assert f'<option value="{repo}">' in body
    assert 'class="notice empty"' in body and "/?q=read+a+json+file" in body
    assert "<script>" not in body  # the only script is the external, same-origin search.js


def test_results_show_name_repo_path_lines_link_score_and_marked_code(client):
    body = page(client, q="read a json file")
    expected = FakeSearcher().search("read a json file", k=10)
    assert result_names(body) == [h.name for h in expected.hits]
    top = expected.hits[0]
    item = body[body.index('<li class="result">'):body.index("</li>")]
    assert f'href="{html.escape(top.url)}"' in item
    assert f">{top.repo}</a>" in item and f">{top.path}</span>" in item
    assert f"lines {top.start_line}–{top.end_line}</a>" in item
    assert f"{top.score:.3f}" in item
    assert 'class="highlight"' in item and '<span class="hll">' in item
    # The line numbers are the file's: the function starts on line start_line.
    assert re.search(rf'<span class="linenos">\s*{top.start_line}</span>', item)
    assert 'value="read a json file"' in body  # the query stays in the box
    assert "<title>read a json file · codesearch</title>" in body


def test_filters_narrow_the_results_and_stay_selected(client, searcher):
    body = page(client, q="json file", repo="demo/jsonio", lang="python", mode="lexical")
    assert searcher.calls[-1]["repo"] == "demo/jsonio" and searcher.calls[-1]["mode"] == "lexical"
    assert set(re.findall(r'class="repo"[^>]*>(.*?)</a>', body)) == {"demo/jsonio"}
    assert 'id="repo" name="repo" list="repos" value="demo/jsonio"' in body
    assert '<option value="python" selected>' in body and '<option value="lexical" selected>' in body


def test_a_repository_link_filters_to_that_repository(client):
    body = page(client, q="hex digest")
    link = urlsplit(html.unescape(re.search(r'class="repo" href="([^"]+)"', body).group(1)))
    args = dict(parse_qsl(link.query))
    assert link.path == "/" and args == {"q": "hex digest", "repo": "demo/hashing"}
    assert set(re.findall(r'class="repo"[^>]*>(.*?)</a>', page(client, **args))) == {"demo/hashing"}


def test_pagination_walks_the_whole_ranking(client):
    everything = [h.name for h in FakeSearcher().search("json file", k=100).hits]
    assert len(everything) > 4
    seen, n = [], 1
    while True:
        body = page(client, q="json file", k=2, page=n)
        seen += result_names(body)
        nxt = re.search(r'rel="next" href="([^"]+)"', body)
        if not nxt:
            break
        assert f"page={n + 1}" in nxt.group(1) and "k=2" in nxt.group(1)
        n += 1
        assert n < 20
    assert seen == everything
    assert 'aria-current="page">' + str(n) in body and 'rel="prev"' in body


def test_no_results_state_offers_to_drop_the_filters(client):
    body = page(client, q="zebra quantum", repo="demo/hashing")
    assert 'class="notice none"' in body and "No functions match <q>zebra quantum</q>" in body
    assert 'href="/?q=zebra+quantum"' in body
    assert 'class="result"' not in body


@pytest.mark.parametrize("args, needle", [
    ({"q": "json", "k": "0"}, "k must be between 1 and 100"),
    ({"q": "json", "page": "0"}, "page must be between 1 and 100"),
    ({"q": "json", "page": "x"}, "page must be an integer"),
    ({"q": "x" * 1001}, "query too long"),
    ({"q": "json", "repo": "nobody/nothing"}, "unknown repository"),
    ({"q": "json", "mode": "fuzzy"}, "unknown mode"),
])
def test_error_state_is_a_400_page_with_the_reason(client, searcher, args, needle):
    body = page(client, status=400, **args)
    assert 'role="alert"' in body and needle in html.unescape(body)
    assert 'id="q"' in body  # the box is still there to fix the query
    assert searcher.calls == []


def test_hostile_names_code_paths_and_links_render_as_text(client):
    body = page(client, q="say hello", k=20)
    assert XSS not in body and "<b>bold</b>" not in body
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "evil/&lt;b&gt;bold&lt;/b&gt;.py" in body
    assert "javascript:" not in body  # a link with that scheme is dropped, the name shown as text
    assert XSS in result_names(body)
    assert len(re.findall(r"<script", body)) == 1  # search.js only


def test_a_hostile_query_is_escaped_in_the_box_title_and_messages(client):
    q = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    for body in (page(client, q=q), page(client, status=400, q=q, k="0"), page(client, q=q, repo="demo/hashing")):
        assert "<script>alert(1)" not in body and "<img src=x" not in body
        assert 'value="&#34;&gt;&lt;script&gt;' in body or 'value="&quot;&gt;&lt;script&gt;' in body


def test_results_fragment_for_search_as_you_type(client):
    r = client.get("/results", query_string={"q": "sha256 of a file"})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in body and "sha256_of_file" in body
    r = client.get("/results", query_string={"q": "json", "k": "0"})
    assert r.status_code == 400 and 'role="alert"' in r.get_data(as_text=True)


def test_long_functions_are_cut_with_a_link_to_the_rest():
    code = "".join(f"x{i} = {i}\n" for i in range(50))
    out, hidden = highlight_code(code, "python", 100, (3, 45), 30)
    assert hidden == 20 and out.count('class="linenos"') == 30
    assert out.count('<span class="hll">') == 1  # line 45 is not shown
    assert re.search(r'<span class="linenos">\s*129</span>', out) and "x30" not in out


def test_highlighting_escapes_code_and_uses_no_inline_styles():
    out, _ = highlight_code(f'print("{XSS}")\n', "python", 1, (1,), 30)
    assert XSS not in out and "&lt;/script&gt;" in out and "style=" not in out
    out, _ = highlight_code("<b>x</b>", "no-such-language", 1, (), 30)
    assert "<b>" not in out and "&lt;b&gt;" in out


@pytest.mark.parametrize("url, ok", [
    ("https://github.com/a/b/blob/c/d.py#L1-L2", True), ("http://x.org/y", True),
    ("file:///usr/lib/python3/json/__init__.py#L1-L9", True), ("javascript:alert(1)", False),
    ("JavaScript:alert(1)", False), ("  javascript:alert(1)", False), ("data:text/html,<b>", False),
    ("vbscript:x", False), ("", False), (None, False), ("//evil.example/x", False),
])
def test_only_web_and_file_links_are_kept(url, ok):
    assert (safe_url(url) is not None) == ok


def test_page_numbers_window():
    assert page_numbers(1, 1) == [1]
    assert page_numbers(1, 5) == [1, 2, 3, 4, 5]
    assert page_numbers(10, 30) == [1, None, 8, 9, 10, 11, 12, None, 30]
    assert page_numbers(30, 30) == [1, None, 28, 29, 30]


def test_every_corpus_function_is_findable_by_its_name(client):
    for record in CORPUS[:-1]:
        assert record["name"] in result_names(page(client, q=record["name"].replace("_", " "), k=20))
