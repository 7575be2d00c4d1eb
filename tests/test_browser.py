"""A real browser (headless Chromium via Selenium) uses the search page served by waitress on 127.0.0.1."""
from __future__ import annotations

import os
import shutil
import threading

import pytest

from codesearch_common.fsutil import atomic_open
from test_webapp_fake import CORPUS, XSS, build_tiny_index
from webapp import create_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="chromium/chromedriver not installed: `make browser-deps` "
                                       "(apt-get install chromium chromium-driver)")
# set CODESEARCH_SCREENSHOT=docs/page.png to refresh the README's picture; a test run leaves the tree alone
SCREENSHOT = os.environ.get("CODESEARCH_SCREENSHOT")
WAIT_S = 20


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A real tiny index (index.build with the hashing encoder) and a Searcher of it to compare with."""
    from index.searcher import Searcher
    return Searcher.open(build_tiny_index(tmp_path_factory.mktemp("browser") / "index"))


@pytest.fixture(scope="module")
def server(reference):
    """Serve the app over that index with waitress on a free 127.0.0.1 port, in a thread."""
    from waitress.server import create_server
    app = create_app({"INDEX_DIR": str(reference.index_dir)})
    server = create_server(app, host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1000",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT_S)
    yield driver
    driver.quit()


def wait(driver, condition):
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, WAIT_S).until(condition)


def results(driver) -> list[dict]:
    from selenium.webdriver.common.by import By
    out = []
    for li in driver.find_elements(By.CSS_SELECTOR, "li.result"):
        name = li.find_element(By.CSS_SELECTOR, ".name")
        out.append({"name": name.text, "href": name.get_attribute("href"),
                    "repo": li.find_element(By.CSS_SELECTOR, ".repo").text,
                    "marked": len(li.find_elements(By.CSS_SELECTOR, ".highlight .hll"))})
    return out


def test_type_a_query_submit_filter_and_follow_to_source(server, browser, reference):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    browser.get(server + "/")
    box = browser.find_element(By.ID, "q")
    assert browser.switch_to.active_element == box  # focused on load

    box.send_keys("read a json file", Keys.ENTER)
    wait(browser, lambda d: "q=read+a+json+file" in d.current_url and d.find_elements(By.CSS_SELECTOR, "li.result"))
    found = results(browser)
    expected = reference.search("read a json file").hits
    assert [r["name"] for r in found] == [h.name for h in expected]
    assert found[0]["name"] == "read_json" and found[0]["marked"] >= 1
    assert found[0]["href"] == next(c["url"] for c in CORPUS if c["name"] == "read_json")
    assert browser.find_element(By.ID, "q").get_attribute("value") == "read a json file"
    png = browser.get_screenshot_as_png()
    assert png.startswith(b"\x89PNG")
    if SCREENSHOT:
        with atomic_open(SCREENSHOT, "wb") as f:
            f.write(png)

    # Filter by repository and language, submit with the button; every result is from that repository.
    repo = browser.find_element(By.ID, "repo")
    repo.clear()
    repo.send_keys("demo/netutil")
    Select(browser.find_element(By.ID, "lang")).select_by_value("python")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser, lambda d: "repo=demo%2Fnetutil" in d.current_url and "lang=python" in d.current_url)
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "li.result"))
    filtered = results(browser)
    assert filtered and {r["repo"] for r in filtered} == {"demo/netutil"}
    assert [r["name"] for r in filtered] == [
        h.name for h in reference.search("read a json file", repo="demo/netutil", lang="python").hits]

    # The link to source is the record's permalink.
    link = browser.find_element(By.CSS_SELECTOR, "li.result a.lines")
    record = next(c for c in CORPUS if c["name"] == filtered[0]["name"])
    assert link.get_attribute("href") == record["url"]
    assert link.text == f"lines {record['start_line']}–{record['end_line']}"


def test_search_as_you_type_updates_results_and_url(server, browser):
    from selenium.webdriver.common.by import By
    browser.get(server + "/")
    browser.find_element(By.ID, "q").send_keys("sha256 digest of a file")  # no Enter
    wait(browser, lambda d: [r["name"] for r in results(d)][:1] == ["sha256_of_file"])
    assert "q=sha256+digest+of+a+file" in browser.current_url


def test_hostile_function_renders_as_text_and_runs_nothing(server, browser):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By
    browser.get(server + "/?q=say+hello&k=20")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "li.result"))
    names = [r["name"] for r in results(browser)]
    assert XSS in names  # shown, as text
    evil = next(r for r in results(browser) if r["name"] == XSS)
    # its javascript: link was dropped: the name links to our own page of the function instead
    assert evil["href"].startswith(server + "/function/") and "javascript" not in evil["href"].lower()
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text
    assert browser.execute_script("return document.scripts.length") == 1


def test_no_console_errors_or_csp_violations(server, browser):
    browser.get(server + "/?q=join+two+paths")
    from selenium.webdriver.common.by import By
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "li.result"))
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE" and "favicon" not in e["message"]]
    assert severe == []

