"""Where the browser suite's server delivers codes: a real SMTP server (aiosmtpd) and a real HTTP
"SMS gateway", both on loopback, so the citizen in the test reads a code the way a citizen would —
from an email or a text — through the production back-ends (IDP_NOTIFY_EMAIL=smtp,
IDP_NOTIFY_SMS=webhook)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.e2e.environment import free_port

GATEWAY_TOKEN = "browser-suite-sms-gateway-token"
_CODE = re.compile(r"\b(\d{6})\b")


@dataclass
class Outbox:
    """Every message the provider sent: (recipient, text), in order."""

    messages: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def deliver(self, to: str, text: str) -> None:
        with self._lock:
            self.messages.append((to, text))
            self._lock.notify_all()

    def code_for(self, to: str, after: int = 0, timeout: float = 10) -> str:
        """The 6-digit code in the first message to ``to`` after the first ``after`` messages."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for recipient, text in self.messages[after:]:
                    found = _CODE.search(text)
                    if recipient == to and found:
                        return found.group(1)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no code sent to {to} within {timeout} s: {self.messages}")
                self._lock.wait(left)


class _SmtpHandler:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook name
        mail = message_from_bytes(envelope.content, policy=policy.default)
        body = mail.get_body(preferencelist=("plain",))
        text = body.get_content() if body else ""
        for recipient in envelope.rcpt_tos:
            self.outbox.deliver(recipient, text)
        return "250 OK"


def _gateway(outbox: Outbox):
    def app(environ, start_response):
        request = Request(environ)
        if request.headers.get("Authorization") != f"Bearer {GATEWAY_TOKEN}":
            return Response(status=401)(environ, start_response)
        body = json.loads(request.get_data())
        outbox.deliver(body["to"], body["text"])
        return Response('{"accepted": true}', mimetype="application/json")(environ, start_response)

    return app


@contextmanager
def delivery_servers() -> Iterator[tuple[Outbox, dict[str, str]]]:
    """Start both servers; yields the outbox and the IDP_* settings that point the provider at them."""
    outbox = Outbox()
    smtp = Controller(_SmtpHandler(outbox), hostname="127.0.0.1", port=free_port())
    smtp.start()
    port = free_port()
    gateway = make_server("127.0.0.1", port, _gateway(outbox), threaded=True)
    thread = threading.Thread(target=gateway.serve_forever, name="sms-gateway", daemon=True)
    thread.start()
    env = {
        "IDP_NOTIFY_EMAIL": "smtp", "IDP_SMTP_HOST": "127.0.0.1", "IDP_SMTP_PORT": str(smtp.port),
        "IDP_SMTP_SECURITY": "plain", "IDP_SMTP_FROM": "Thai Nguyen ID <no-reply@thainguyen.example>",
        "IDP_NOTIFY_SMS": "webhook", "IDP_SMS_WEBHOOK_URL": f"http://127.0.0.1:{port}/send",
        "IDP_SMS_WEBHOOK_TOKEN": GATEWAY_TOKEN,
    }
    try:
        yield outbox, env
    finally:
        gateway.shutdown()
        thread.join(timeout=10)
        gateway.server_close()
        smtp.stop()
