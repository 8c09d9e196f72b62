"""Per-IP rate limits: 429 with Retry-After and plain words; counted across instances in Redis."""

from __future__ import annotations

import secrets

import pytest
import redis

from tests.security.conftest import try_login

REDIS = "redis://127.0.0.1:6379/0"


def test_the_login_form_is_limited_per_client_ip(make_app, make_citizen):
    web = make_app(ratelimit_login="3/minute").test_client()
    citizen = make_citizen()
    for _ in range(3):
        assert try_login(web, citizen["citizen_id"], citizen["password"]).status_code == 303

    blocked = try_login(web, citizen["citizen_id"], citizen["password"])

    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "Vui lòng thử lại sau" in blocked.get_data(as_text=True)


def test_another_client_ip_is_not_blocked(make_app, make_citizen):
    web = make_app(ratelimit_login="1/minute").test_client()
    citizen = make_citizen()
    try_login(web, citizen["citizen_id"], citizen["password"])
    assert try_login(web, citizen["citizen_id"], citizen["password"]).status_code == 429

    other = web.post(
        "/login", data={"identifier": "x", "password": "y"}, environ_overrides={"REMOTE_ADDR": "10.0.0.7"}
    )
    assert other.status_code != 429


def test_the_token_endpoints_share_one_limit_and_answer_in_json(make_app):
    web = make_app(ratelimit_token="2/minute").test_client()
    web.post("/token", data={"grant_type": "client_credentials"})
    web.post("/introspect", data={"token": "x"})

    blocked = web.post("/revoke", data={"token": "x"})

    assert blocked.status_code == 429
    assert blocked.get_json()["error"] == "temporarily_unavailable"
    assert "Retry-After" in blocked.headers


def test_dynamic_registration_is_limited_per_client_ip_and_answers_in_json(make_app):
    web = make_app(ratelimit_client_registration="2/hour").test_client()
    web.post("/connect/register", json={})
    web.get("/connect/register/some-portal")

    blocked = web.post("/connect/register", json={})

    assert blocked.status_code == 429
    assert blocked.get_json()["error"] == "temporarily_unavailable"
    assert "Retry-After" in blocked.headers


@pytest.fixture
def redis_storage():
    try:
        redis.Redis.from_url(REDIS).ping()
    except redis.ConnectionError:
        pytest.fail("Redis is not running on 127.0.0.1:6379 (.ci/run starts it)")
    prefix = f"tnid-test-{secrets.token_hex(4)}"
    yield prefix
    client = redis.Redis.from_url(REDIS)
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)


def test_two_instances_sharing_redis_count_together(make_app, make_citizen, redis_storage):
    a = make_app(ratelimit_storage=REDIS, ratelimit_prefix=redis_storage, ratelimit_login="4/minute")
    b = make_app(ratelimit_storage=REDIS, ratelimit_prefix=redis_storage, ratelimit_login="4/minute")
    citizen = make_citizen()
    web_a, web_b = a.test_client(), b.test_client()
    for web in (web_a, web_b, web_a, web_b):
        assert try_login(web, citizen["citizen_id"], citizen["password"]).status_code == 303

    assert try_login(web_a, citizen["citizen_id"], citizen["password"]).status_code == 429
    assert try_login(web_b, citizen["citizen_id"], citizen["password"]).status_code == 429
    assert any(redis.Redis.from_url(REDIS).scan_iter(f"*{redis_storage}*")), "the counters live in Redis"


def test_instances_with_memory_storage_count_separately(make_app, make_citizen):
    a, b = make_app(ratelimit_login="2/minute"), make_app(ratelimit_login="2/minute")
    citizen = make_citizen()
    for _ in range(2):
        try_login(a.test_client(), citizen["citizen_id"], citizen["password"])
    assert try_login(a.test_client(), citizen["citizen_id"], citizen["password"]).status_code == 429
    assert try_login(b.test_client(), citizen["citizen_id"], citizen["password"]).status_code == 303
