"""SMS through an HTTP gateway: a real HTTP server thread on loopback stands as the gateway."""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from idp import clock, create_app
from idp.config import ConfigError, Settings
from idp.notify import DeliveryFailed, Message
from idp.notify.webhook import WebhookSmsNotifier
from tests.support import hidden_fields

TOKEN = "gateway-token-for-tests"
PASSWORD = "hoa mai no ben hien nha"
SMS = Message("+84912345678", "Thai Nguyen ID", "Thai Nguyen ID: Ma xac minh cua ban la 482913")


class Gateway:
    """What the gateway was sent, and how it answers (status, delay, redirect)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status, self.delay, self.redirect_to = 200, 0.0, None


@pytest.fixture
def gateway():
    state = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            time.sleep(state.delay)
            self.send_response(302 if state.redirect_to else state.status)
            if state.redirect_to:
                self.send_header("Location", state.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/sms/send"
    yield state
    server.shutdown()
    server.server_close()


def test_an_sms_is_one_json_post_with_the_bearer_token(gateway):
    WebhookSmsNotifier(gateway.url, TOKEN).send(SMS)

    [sent] = gateway.requests
    assert sent["path"] == "/sms/send"
    assert sent["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert sent["headers"]["Content-Type"] == "application/json"
    assert json.loads(sent["body"]) == {"to": "+84912345678", "text": SMS.text}


@pytest.mark.parametrize("status", [400, 401, 500, 503])
def test_a_gateway_error_is_a_delivery_failure(gateway, status):
    gateway.status = status

    with pytest.raises(DeliveryFailed) as failure:
        WebhookSmsNotifier(gateway.url, TOKEN).send(SMS)
    assert str(status) in str(failure.value)
    assert "+8491" not in str(failure.value) and "482913" not in str(failure.value)


def test_a_slow_gateway_times_out(gateway):
    gateway.delay = 1.5

    started = time.monotonic()
    with pytest.raises(DeliveryFailed):
        WebhookSmsNotifier(gateway.url, TOKEN, timeout=0.5).send(SMS)
    assert time.monotonic() - started < 1.4


def test_a_redirect_is_not_followed_so_the_token_goes_nowhere_else(gateway):
    gateway.redirect_to = "http://127.0.0.1:9/elsewhere"

    with pytest.raises(DeliveryFailed):
        WebhookSmsNotifier(gateway.url, TOKEN).send(SMS)
    assert len(gateway.requests) == 1


def test_a_gateway_that_is_down_is_a_delivery_failure():
    with pytest.raises(DeliveryFailed):
        WebhookSmsNotifier("http://127.0.0.1:9/sms", TOKEN, timeout=1).send(SMS)


def test_the_gateway_must_be_https_except_on_loopback():
    with pytest.raises(ConfigError, match="IDP_SMS_WEBHOOK_URL"):
        Settings.from_env({"IDP_NOTIFY_SMS": "webhook", "IDP_SMS_WEBHOOK_URL": "http://sms.example.vn/send"})
    with pytest.raises(ConfigError, match="IDP_SMS_WEBHOOK_URL is required"):
        Settings.from_env({"IDP_NOTIFY_SMS": "webhook"})


# --- the provider itself, configured for the gateway ----------------------------------------------
def test_a_registration_code_reaches_the_gateway_and_a_gateway_failure_is_said_plainly(
    settings, app, gateway
):
    provider = create_app(dataclasses.replace(settings, notify_sms="webhook", sms_webhook_url=gateway.url,
                                              sms_webhook_token=TOKEN, sms_webhook_timeout=2))
    provider.config["TESTING"] = True
    web = provider.test_client()
    page = web.get("/register")
    web.post("/register", data={**hidden_fields(page.get_data(as_text=True)),
                                "full_name": "Đặng Thị Hoa", "citizen_id": "019195001234",
                                "birth_date": "1995-03-08", "gender": "female", "phone": "0987654321",
                                "password": PASSWORD, "password_confirm": PASSWORD})

    [sent] = gateway.requests
    body = json.loads(sent["body"])
    code = re.search(r"\b(\d{6})\b", body["text"]).group(1)
    assert body["to"] == "+84987654321"

    clock.freeze()
    clock.advance(30)
    gateway.status = 503
    page = web.get("/register/verify")
    failed = web.post("/register/resend", data=hidden_fields(page.get_data(as_text=True)))
    assert failed.status_code == 502 and "Chưa gửi được mã" in failed.get_data(as_text=True)

    page = web.get("/register/verify")
    verified = web.post("/register/verify", data={**hidden_fields(page.get_data(as_text=True)), "code": code})
    assert verified.status_code == 303  # the code that did arrive still works
