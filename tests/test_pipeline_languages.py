"""End to end, as docs/pipeline.md says: `make corpus extract dataset index CORPUS=DIR` over a folder holding a
function in each language, then a paraphrased query finds each one with its language, lines and doc comment."""
import json
import subprocess
from pathlib import Path

import pytest

from index.searcher import Searcher

ROOT = Path(__file__).resolve().parents[1]

SOURCES = {
    "mail.py": ('import smtplib\n\n\ndef send_email(host, message):\n    """Send an email message over SMTP."""\n'
                '    with smtplib.SMTP(host) as s:\n        s.send_message(message)\n'),
    "web/debounce.js": ("/**\n * Delay calling a function until calls have stopped for a while.\n */\n"
                        "export function debounce(fn, wait) {\n  let timer;\n  return (...args) => {\n"
                        "    clearTimeout(timer);\n    timer = setTimeout(() => fn(...args), wait);\n  };\n}\n"),
    "web/duration.ts": ("/** Parse a duration such as 5m or 2h into seconds. */\n"
                        "export function parseDuration(text: string): number {\n"
                        "  const unit = text.slice(-1);\n  const n = parseInt(text, 10);\n"
                        "  return unit === 'h' ? n * 3600 : unit === 'm' ? n * 60 : n;\n}\n"),
    "java/Strings.java": ("public class Strings {\n    /** Reverse the characters of a string. */\n"
                          "    public static String reverse(String s) {\n"
                          "        return new StringBuilder(s).reverse().toString();\n    }\n}\n"),
    "go/crc.go": ('package crc\n\nimport "hash/crc32"\n\n// Checksum computes the CRC-32 checksum of data.\n'
                  "func Checksum(data []byte) uint32 {\n\treturn crc32.ChecksumIEEE(data)\n}\n"),
    "rust/prime.rs": ("/// Return true when n is a prime number.\npub fn is_prime(n: u64) -> bool {\n"
                      "    if n < 2 {\n        return false;\n    }\n    (2..n).take_while(|d| d * d <= n).all(|d| n % d != 0)\n}\n"),
    "c/clamp.c": ("/* Clamp a value into the range lo..hi. */\nint clamp(int v, int lo, int hi) {\n"
                  "    return v < lo ? lo : v > hi ? hi : v;\n}\n"),
    "cpp/matrix.cpp": ("#include <vector>\n\nclass Matrix {\npublic:\n    double trace() const;\nprivate:\n"
                       "    std::vector<std::vector<double>> rows_;\n};\n\n"
                       "// Sum the diagonal entries of the matrix.\ndouble Matrix::trace() const {\n    double t = 0;\n"
                       "    for (size_t i = 0; i < rows_.size(); ++i) t += rows_[i][i];\n    return t;\n}\n"),
}
# paraphrased query -> (name, language, start_line, end_line, desc)
QUERIES = {
    "mail a message through an smtp server": ("send_email", "python", 4, 7, "Send an email message over SMTP."),
    "wait until the user stops typing before running a callback":
        ("debounce", "javascript", 1, 10, "Delay calling a function until calls have stopped for a while."),
    "convert a time span like 10m to a number of seconds":
        ("parseDuration", "typescript", 1, 6, "Parse a duration such as 5m or 2h into seconds."),
    "flip a string backwards": ("Strings.reverse", "java", 2, 5, "Reverse the characters of a string."),
    "crc32 of a byte slice": ("Checksum", "go", 5, 8, "Checksum computes the CRC-32 checksum of data."),
    "check whether an integer is prime": ("is_prime", "rust", 1, 7, "Return true when n is a prime number."),
    "limit a number between a minimum and a maximum": ("clamp", "c", 1, 4, "Clamp a value into the range lo..hi."),
    "add up the diagonal elements of a matrix": ("Matrix.trace", "cpp", 10, 15, "Sum the diagonal entries of the matrix."),
}


@pytest.fixture(scope="module")
def mixed_index(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mixed")
    corpus = tmp / "project"
    for rel, text in SOURCES.items():
        (corpus / rel).parent.mkdir(parents=True, exist_ok=True)
        (corpus / rel).write_text(text)
    (corpus / "node_modules" / "dep").mkdir(parents=True)
    (corpus / "node_modules" / "dep" / "index.js").write_text("function sendEmail() {}\n")
    data = tmp / "data"
    r = subprocess.run(["make", "-s", "corpus", "extract", "dataset", "index", f"CORPUS={corpus}", f"DATA={data}"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    return data, r.stdout + r.stderr


def test_extract_counts_each_language(mixed_index):
    data, log = mixed_index
    assert "1 node_modules" in log
    rows = (data / "functions.csv").read_text()
    for lang in ("python", "javascript", "typescript", "java", "go", "rust", "c", "cpp"):
        assert f",{lang}," in rows


def test_paraphrased_queries_find_each_language(mixed_index):
    data, _ = mixed_index
    searcher = Searcher.open(data / "index")
    try:
        assert sorted(searcher.languages()) == sorted({v[1] for v in QUERIES.values()})
        for query, (name, lang, start, end, desc) in QUERIES.items():
            top = searcher.search(query, k=3).hits[0]
            assert (top.name, top.language, top.start_line, top.end_line) == (name, lang, start, end), query
            assert top.desc == desc
        only_go = searcher.search("checksum", k=5, lang="go").hits
        assert only_go and {h.language for h in only_go} == {"go"}
    finally:
        searcher.close()


def test_web_app_lists_and_highlights_every_language(mixed_index):
    from webapp import create_app

    data, _ = mixed_index
    app = create_app({"INDEX_DIR": str(data / "index"), "TESTING": True})
    client = app.test_client()
    health = client.get("/healthz").get_json()
    assert sorted(health["languages"]) == sorted({v[1] for v in QUERIES.values()})
    page = client.get("/?q=check+whether+an+integer+is+prime").get_data(as_text=True)
    for lang in health["languages"]:
        assert f'<option value="{lang}"' in page
    assert "is_prime" in page and 'class="kd"' in page      # Pygments' Rust lexer marked `fn` as a keyword
    assert '<span class="lang" title="language">rust</span>' in page
    api = client.get("/api/search?q=crc32+of+a+byte+slice&lang=go").get_json()
    assert api["results"][0]["language"] == "go" and api["results"][0]["name"] == "Checksum"
    assert json.dumps(client.get("/api/search?q=x&lang=cobol").get_json()).count("unknown language") == 1
