"""A polite JSON client for GitHub's REST API: rate limits, Retry-After, backoff with jitter, bounded tries."""
from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass
from typing import Protocol

import requests

log = logging.getLogger("crawler.api")


class ApiError(Exception):
    """The API could not give a usable answer; the message is one line, fit for the user."""


class Clock(Protocol):
    def time(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Wall-clock time and real sleeps (tests inject a fake)."""

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass
class RetryConfig:
    """When and how long to wait before trying a request again."""

    max_tries: int = 8              # per request, all causes together
    backoff_base_s: float = 1.0     # 5xx / connection errors: base * 2**k, half of it jittered
    backoff_max_s: float = 64.0
    secondary_wait_s: float = 60.0  # a secondary limit without Retry-After: GitHub asks for >= 1 minute
    reset_margin_s: float = 1.0     # X-RateLimit-Reset is whole seconds; wait a little past it
    max_wait_s: float = 3900.0      # a longer wait than this (a core reset is <= 1 h) is an error
    timeout_s: float = 30.0         # per HTTP request


class ApiClient:
    """GET JSON from an API base URL with a bearer token that never leaves the Authorization header."""

    def __init__(self, base_url: str, token: str | None = None, retry: RetryConfig | None = None,
                 clock: Clock | None = None, rng: random.Random | None = None,
                 session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryConfig()
        self.clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self.session = session or requests.Session()
        self._token = token
        self._buckets: dict[str, tuple[int, float]] = {}  # resource -> (remaining, reset epoch)
        self.session.headers.update({"Accept": "application/vnd.github+json",
                                     "X-GitHub-Api-Version": "2022-11-28",
                                     "User-Agent": "codesearch-crawler"})

    def __repr__(self) -> str:
        return f"ApiClient({self.base_url!r}, token={'set' if self._token else 'none'})"

    def redact(self, text: str) -> str:
        """Remove the token from text that may echo a request."""
        return text.replace(self._token, "***") if self._token else text

    def get_json(self, path: str, params: dict | None = None) -> dict:
        """GET base_url + path and return the decoded JSON object, waiting and retrying as the API asks."""
        url = self.base_url + path
        resource = "search" if path.startswith("/search/") else "core"
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        transient = 0  # 5xx and connection failures so far: the backoff exponent
        reason = ""
        for attempt in range(1, self.retry.max_tries + 1):
            self._wait_for_bucket(resource)
            try:
                resp = self.session.get(url, params=params, headers=headers, timeout=self.retry.timeout_s)
            except requests.RequestException as e:
                reason = f"connection error ({type(e).__name__})"
                delay, transient = self._backoff(transient), transient + 1
            else:
                self._note_bucket(resp, resource)
                if resp.status_code == 200:
                    return self._decode(resp)
                delay, reason = self._retry_delay(resp, transient)
                if delay is None:
                    raise ApiError(self.redact(f"{reason} for {resp.url}"))
                if resp.status_code >= 500:
                    transient += 1
            if attempt == self.retry.max_tries:
                break
            if delay > self.retry.max_wait_s:
                raise ApiError(f"{reason}: the API asks to wait {delay:.0f} s, over the {self.retry.max_wait_s:.0f} s cap")
            log.warning("%s from %s; waiting %.1f s (try %d of %d)", reason, path, delay, attempt, self.retry.max_tries)
            self.clock.sleep(delay)
        raise ApiError(self.redact(f"gave up on {url} after {self.retry.max_tries} tries: {reason}"))

    def _decode(self, resp: requests.Response) -> dict:
        try:
            data = resp.json()
        except (json.JSONDecodeError, ValueError) as e:
            raise ApiError(self.redact(f"malformed JSON from {resp.url}: {e}")) from None
        if not isinstance(data, dict):
            raise ApiError(self.redact(f"unexpected JSON from {resp.url}: a {type(data).__name__}, not an object"))
        return data

    def _backoff(self, k: int) -> float:
        """Exponential backoff, the upper half jittered so that parallel crawlers spread out."""
        d = min(self.retry.backoff_max_s, self.retry.backoff_base_s * 2 ** k)
        return d / 2 + self.rng.uniform(0, d / 2)

    def _retry_delay(self, resp: requests.Response, transient: int) -> tuple[float | None, str]:
        """Return (seconds to wait, reason), or (None, reason) when retrying cannot help."""
        code = resp.status_code
        if code >= 500:
            return self._backoff(transient), f"HTTP {code}"
        message = _message(resp)
        if code in (403, 429):
            retry_after = resp.headers.get("Retry-After", "").strip()
            if retry_after.isdigit():
                return float(retry_after), f"HTTP {code} with Retry-After"
            reset = resp.headers.get("X-RateLimit-Reset", "")
            if resp.headers.get("X-RateLimit-Remaining") == "0" and reset.isdigit():
                wait = max(0.0, int(reset) - self.clock.time()) + self.retry.reset_margin_s
                return wait, f"rate limit exhausted (HTTP {code})"
            if code == 429 or "rate limit" in message.lower():
                return max(self.retry.secondary_wait_s, self._backoff(transient)), f"secondary rate limit (HTTP {code})"
        return None, f"HTTP {code}: {message or resp.reason}"

    def _note_bucket(self, resp: requests.Response, resource: str) -> None:
        remaining = resp.headers.get("X-RateLimit-Remaining", "")
        reset = resp.headers.get("X-RateLimit-Reset", "")
        if remaining.isdigit() and reset.isdigit():
            self._buckets[resp.headers.get("X-RateLimit-Resource", resource)] = (int(remaining), float(reset))

    def _wait_for_bucket(self, resource: str) -> None:
        """Sleep until the reset when the last answer said this resource has no requests left."""
        remaining, reset = self._buckets.get(resource, (1, 0.0))
        if remaining > 0:
            return
        wait = reset - self.clock.time()
        if wait > 0:
            wait += self.retry.reset_margin_s
            if wait > self.retry.max_wait_s:
                raise ApiError(f"{resource} rate limit exhausted until {reset:.0f}, over the wait cap")
            log.info("%s rate limit used up; waiting %.1f s for its reset", resource, wait)
            self.clock.sleep(wait)
        del self._buckets[resource]


def _message(resp: requests.Response) -> str:
    """The `message` of a GitHub error body, or the start of the body."""
    try:
        data = resp.json()
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            return data["message"][:200]
    except ValueError:
        pass
    return " ".join(resp.text.split())[:200]
