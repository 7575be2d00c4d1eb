"""The page's "more like this", whole functions in place (no JavaScript), our function page for file:// permalinks."""
import html
import re

import pytest

from index.manifest import IndexConfig
from index.sync import SyncConfig, sync
from syncutil import FILES, make_project
from webapp import create_app

LONG = "def long_function(values):\n    \"\"\"Sum many values, one line at a time.\"\"\"\n    total = 0\n" + \
       "".join(f"    total += values[{i}]\n" for i in range(40)) + "    return total  # the last line\n"


def do_sync(proj, idx):
    return sync([str(proj)], idx, SyncConfig(model="hashing:64", index=IndexConfig(progress=False), progress=False))


@pytest.fixture()
def site(tmp_path):
    proj = make_project(tmp_path / "proj", {**FILES, "pkg/long.py": LONG})
    idx = tmp_path / "idx"
    do_sync(proj, idx)
    return proj, idx, create_app({"INDEX_DIR": str(idx)}).test_client()


def first_id(client, q):
    return client.get("/api/search", query_string={"q": q, "k": 1}).get_json()["results"][0]["id"]


def test_api_similar_returns_neighbours_and_clear_errors(site):
    _, _, client = site
    fid = first_id(client, "add two numbers")
    body = client.get(f"/api/similar?id={fid}&k=3").get_json()
    assert body["id"] == fid and 0 < len(body["results"]) <= 3
    assert fid not in {r["id"] for r in body["results"]} and all("score" in r for r in body["results"])
    for query, status, says in (("", 400, "missing id"), ("?id=abc", 400, "integer"), ("?id=5&k=0", 400, "k"),
                                ("?id=987654321", 404, "no function")):
        r = client.get("/api/similar" + query)
        assert r.status_code == status and says in r.get_json()["error"], query


def test_results_link_more_like_this_expand_in_place_and_use_our_page_for_file_urls(site):
    _, _, client = site
    page = client.get("/?q=sum+many+values").get_data(as_text=True)
    fid = first_id(client, "sum many values")
    assert f'href="/similar?id={fid}"' in page
    assert f'href="/function/{fid}"' in page and 'href="file://' not in page
    details = re.search(r'<details class="whole">(.*?)</details>', page, re.S)
    assert details and "the last line" in html.unescape(re.sub("<[^>]+>", "", details.group(1)))
    assert "<script" not in details.group(0)
    similar = client.get(f"/similar?id={fid}")
    assert similar.status_code == 200 and "long_function" in similar.get_data(as_text=True)


def test_function_page_reads_the_index_by_id(site):
    _, _, client = site
    fid = first_id(client, "sum many values")
    r = client.get(f"/function/{fid}")
    text = html.unescape(re.sub("<[^>]+>", "", r.get_data(as_text=True)))
    assert r.status_code == 200 and "pkg/long.py" in text and "the last line" in text and "lines 1–44" in text
    assert client.get("/function/987654321").status_code == 404
    assert client.get("/function/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert client.get("/function/-1").status_code == 404


def test_the_app_follows_a_sync(site):
    proj, idx, client = site
    before = client.get("/healthz").get_json()["functions"]
    (proj / "pkg/extra.py").write_text('def brand_new(x):\n    """A function added after the app started."""\n    return x\n')
    do_sync(proj, idx)
    assert client.get("/healthz").get_json()["functions"] == before + 1
    names = [r["name"] for r in client.get("/api/search?q=added+after+the+app+started&k=3").get_json()["results"]]
    assert "brand_new" in names
