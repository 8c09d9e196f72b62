"""SMS through a gateway's HTTP API: one JSON POST per message, authenticated by a bearer token.

    POST <IDP_SMS_WEBHOOK_URL>
    Authorization: Bearer <IDP_SMS_WEBHOOK_TOKEN>
    Content-Type: application/json
    {"to": "+84912345678", "text": "..."}

Any 2xx answer means the gateway took the message. Redirects are not followed: the token must not
be sent to another address.
"""

from __future__ import annotations

import requests

from . import DeliveryFailed, Message


class WebhookSmsNotifier:
    def __init__(self, url: str, token: str | None, timeout: float = 10) -> None:
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, message: Message) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            with requests.Session() as http:
                http.trust_env = False  # no proxy or .netrc credentials taken from the environment
                response = http.post(
                    self.url,
                    json={"to": message.to, "text": message.text},
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
        except requests.RequestException as exc:
            raise DeliveryFailed(f"sms webhook: {exc.__class__.__name__}") from None
        if not 200 <= response.status_code < 300:
            raise DeliveryFailed(f"sms webhook: HTTP {response.status_code}")
