"""A chosen delivery back-end must be usable at start-up, not at the first citizen's registration."""

from __future__ import annotations

import logging

import pytest

from idp.config import ConfigError, Settings
from idp.notify import build
from idp.notify.logged import LogNotifier
from idp.notify.smtp import SmtpNotifier
from idp.notify.webhook import WebhookSmsNotifier

SMTP = {"IDP_NOTIFY_EMAIL": "smtp", "IDP_SMTP_HOST": "smtp.example.vn", "IDP_SMTP_FROM": "a@example.vn"}


def test_the_default_is_the_development_log_back_end():
    notifiers = build(Settings.from_env({}))
    assert isinstance(notifiers.email, LogNotifier) and isinstance(notifiers.sms, LogNotifier)


def test_configured_back_ends_are_built_from_settings():
    notifiers = build(Settings.from_env({**SMTP, "IDP_NOTIFY_SMS": "webhook",
                                         "IDP_SMS_WEBHOOK_URL": "https://sms.example.vn/send"}))
    assert isinstance(notifiers.email, SmtpNotifier) and notifiers.email.port == 587
    assert isinstance(notifiers.sms, WebhookSmsNotifier)


@pytest.mark.parametrize("missing", ["IDP_SMTP_HOST", "IDP_SMTP_FROM"])
def test_smtp_needs_a_host_and_a_sender(missing):
    with pytest.raises(ConfigError, match=missing):
        Settings.from_env({k: v for k, v in SMTP.items() if k != missing})


def test_a_password_is_never_sent_unencrypted_to_another_host():
    with pytest.raises(ConfigError, match="IDP_SMTP_SECURITY=plain"):
        Settings.from_env({**SMTP, "IDP_SMTP_SECURITY": "plain", "IDP_SMTP_USERNAME": "idp"})
    local = Settings.from_env({**SMTP, "IDP_SMTP_HOST": "127.0.0.1", "IDP_SMTP_SECURITY": "plain",
                               "IDP_SMTP_USERNAME": "idp"})
    assert local.smtp_security == "plain"


@pytest.mark.parametrize("name, value", [("IDP_NOTIFY_EMAIL", "pigeon"), ("IDP_SMTP_SECURITY", "tls1"),
                                         ("IDP_VERIFICATION_MAX_ATTEMPTS", "0")])
def test_bad_values_are_refused_naming_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


def test_the_log_back_end_under_an_https_issuer_is_warned_about(caplog):
    with caplog.at_level(logging.WARNING, logger="idp.notify"):
        build(Settings.from_env({"IDP_ISSUER": "https://id.thainguyen.example"}))
    assert "development only" in caplog.text
