"""Prometheus metrics: requests by endpoint and status, latency, logins by outcome, tokens by
grant, signing-key age, rate-limit rejections.

Under ``idp serve`` every worker process writes its counters to IDP_METRICS_DIR (prometheus-client
multiprocess mode) and /metrics adds them up; under a test or the development server they stay
in the process.
"""

from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

from .clock import now

REQUESTS = Counter("idp_http_requests_total", "HTTP requests", ["endpoint", "method", "status"])
LATENCY = Histogram(
    "idp_http_request_duration_seconds",
    "Time to answer a request",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
LOGINS = Counter("idp_logins_total", "Login attempts by outcome", ["outcome"])
TOKENS = Counter("idp_tokens_issued_total", "Token responses by grant type", ["grant_type"])
RATE_LIMITED = Counter(
    "idp_rate_limited_total", "Requests refused by a rate limit or login throttle", ["endpoint"]
)

_series: dict[tuple, object] = {}  # (metric, label values…) → its series, looked up once


def series(metric, *values: str):
    """The metric's child for these label values. labels() checks and looks its values up on every
    call; the children are kept here instead (the label values are bounded by the callers:
    route rules, known methods and statuses, the code's own reasons and grant types)."""
    child = _series.get((metric, *values))
    if child is None:
        child = metric.labels(*values)
        if len(_series) < 4096:
            _series[(metric, *values)] = child
    return child


_EVENT_COUNTERS = {
    "login_succeeded": lambda d: series(LOGINS, "success").inc(),
    "login_failed": lambda d: series(LOGINS, d.get("reason", "failure")).inc(),
    "tokens_issued": lambda d: series(TOKENS, d.get("grant_type", "unknown")).inc(),
    "tokens_refreshed": lambda d: series(TOKENS, "refresh_token").inc(),
}


def count_event(event_type: str, details: dict) -> None:
    """Audit events double as metrics: one place records both."""
    counter = _EVENT_COUNTERS.get(event_type)
    if counter is not None:
        counter(details)


class KeyAgeCollector:
    """Seconds since each algorithm's active key began signing, read when scraped."""

    def __init__(self, keyring) -> None:
        self.keyring = keyring

    def collect(self):
        gauge = GaugeMetricFamily(
            "idp_signing_key_age_seconds", "Age of the active signing key", labels=["alg"]
        )
        try:
            keys, _ = self.keyring.store.load()
        except Exception:
            keys = []
        for key in keys:
            if key.state == "active":
                gauge.add_metric([key.alg], now() - (key.activated_at or key.created_at))
        yield gauge


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _endpoint() -> str:
    # The route pattern, never the raw path: an attacker cannot create a label per URL.
    return request.url_rule.rule if request.url_rule is not None else "unmatched"


def init_app(app: Flask, keyring) -> None:
    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def observe(response: Response) -> Response:
        endpoint = _endpoint()
        # A method of the caller's own invention is counted as OTHER: a label value per made-up
        # method would let anyone grow the metrics without bound.
        method = request.method if request.method in _METHODS else "OTHER"
        series(REQUESTS, endpoint, method, str(response.status_code)).inc()
        if "started" in g:
            series(LATENCY, endpoint).observe(time.perf_counter() - g.started)
        if response.status_code == 429:
            RATE_LIMITED.labels(endpoint).inc()
        return response

    app.extensions["idp.key_age"] = KeyAgeCollector(keyring)


def exposition(app: Flask) -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        for collector in (REQUESTS, LATENCY, LOGINS, TOKENS, RATE_LIMITED):
            registry.register(collector)
    registry.register(app.extensions["idp.key_age"])
    return generate_latest(registry), CONTENT_TYPE_LATEST


__all__ = ["count_event", "exposition", "init_app", "series"]
