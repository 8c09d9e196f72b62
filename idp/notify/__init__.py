"""Sending a message to a citizen's phone or email: a small interface and its back-ends.

    Notifier.send(message)   deliver now, or raise DeliveryFailed

Back-ends: ``smtp`` (email), ``webhook`` (an SMS gateway's HTTP API) and ``log`` (development:
the message is written to the log, so the demo works without a mail server or a gateway). Which
one serves each channel comes from settings (IDP_NOTIFY_EMAIL, IDP_NOTIFY_SMS).
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from flask import Flask, current_app

from ..config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    to: str  # an E.164 phone number or an email address
    subject: str  # the email's subject; SMS gateways ignore it
    text: str


class DeliveryFailed(Exception):
    """The message could not be handed over. The text names the back-end and the cause (a status,
    an exception class), never the message or the recipient."""


class Notifier(Protocol):
    def send(self, message: Message) -> None: ...


@dataclass(frozen=True)
class Notifiers:
    email: Notifier
    sms: Notifier

    def for_channel(self, channel: str) -> Notifier:
        return self.sms if channel == "sms" else self.email


def build(settings: Settings) -> Notifiers:
    from .logged import LogNotifier
    from .smtp import SmtpNotifier
    from .webhook import WebhookSmsNotifier

    if settings.notify_email == "smtp":
        email: Notifier = SmtpNotifier(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            sender=settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout=settings.smtp_timeout,
        )
    else:
        email = LogNotifier("email")
    if settings.notify_sms == "webhook":
        sms: Notifier = WebhookSmsNotifier(
            settings.sms_webhook_url, settings.sms_webhook_token, settings.sms_webhook_timeout
        )
    else:
        sms = LogNotifier("sms")
    if settings.https and "log" in (settings.notify_email, settings.notify_sms):
        # An https issuer is a real deployment: codes in the log are readable by whoever reads logs.
        log.warning(
            "IDP_NOTIFY_EMAIL=%s IDP_NOTIFY_SMS=%s: the log back-end writes verification codes to the "
            "log; it is for development only",
            settings.notify_email,
            settings.notify_sms,
        )
    return Notifiers(email=email, sms=sms)


# Deliveries whose duration must not show in the answer (see send_later).
_background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="idp-notify")


def send_later(notifier: Notifier, message: Message) -> Future:
    """Deliver after the answer has gone. For requests whose answer must not depend on whether a
    message was sent (a password reset asked for an identifier that may have no account): an SMS
    gateway's half second would otherwise tell. A failure can only be logged."""

    def run() -> None:
        try:
            notifier.send(message)
        except DeliveryFailed as exc:
            log.warning("background delivery failed: %s", exc)
        except Exception as exc:  # a thread's exception would vanish silently
            log.error("background delivery failed: %s", exc.__class__.__name__)

    return _background.submit(run)


def init_app(app: Flask, settings: Settings) -> None:
    app.extensions["idp.notify"] = build(settings)


def notifiers() -> Notifiers:
    return current_app.extensions["idp.notify"]
