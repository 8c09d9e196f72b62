"""Email through a real SMTP server process on loopback (aiosmtpd): plain, STARTTLS with a login,
implicit TLS, and the failures an operator meets (server down, wrong password, untrusted certificate)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import ipaddress
import re
import socket
import ssl
import time

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from idp import create_app
from idp.notify import DeliveryFailed, Message
from idp.notify.smtp import SmtpNotifier
from tests.support import hidden_fields

SENDER = "Thai Nguyen ID <no-reply@id.thainguyen.example>"
TEXT = "Mã xác minh email của bạn là: 482913\nYour code is: 482913"


class Mailbox:
    """The server's side: every message it accepted, parsed."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 'localhost' and the client context that trusts it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_file.write_bytes(cert_pem)
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cadata=cert_pem.decode())
    return server, client


def check_login(server, session, envelope, mechanism, auth_data):
    good = isinstance(auth_data, LoginPassword) and auth_data == LoginPassword(b"idp", b"smtp-secret-2026")
    return AuthResult(success=good)


@pytest.fixture
def smtp_server():
    """start(**server options) → (mailbox, port); every server is stopped after the test."""
    started = []

    def start(**options):
        mailbox, port = Mailbox(), free_port()
        controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
        controller.start()
        started.append(controller)
        return mailbox, port

    yield start
    for controller in started:
        controller.stop()


def wait_for_mail(mailbox: Mailbox, count: int = 1, timeout: float = 3.0):
    deadline = time.monotonic() + timeout
    while len(mailbox.received) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return mailbox.received


def test_a_message_arrives_in_utf8_with_its_subject_sender_and_recipient(smtp_server):
    mailbox, port = smtp_server()
    notifier = SmtpNotifier("127.0.0.1", port, "plain", SENDER)

    notifier.send(Message("lan.nguyen@example.com", "Mã xác minh / Your code", TEXT))

    [(mail_from, recipients, message)] = wait_for_mail(mailbox)
    assert mail_from == "no-reply@id.thainguyen.example" and recipients == ["lan.nguyen@example.com"]
    assert message["Subject"] == "Mã xác minh / Your code"
    assert message["Auto-Submitted"] == "auto-generated" and message["Message-ID"]
    assert message.get_content().splitlines() == TEXT.splitlines()


def test_starttls_with_a_login(smtp_server, certificate):
    server_tls, client_tls = certificate
    mailbox, port = smtp_server(tls_context=server_tls, require_starttls=True, authenticator=check_login,
                                auth_require_tls=True)
    notifier = SmtpNotifier("localhost", port, "starttls", SENDER, "idp", "smtp-secret-2026",
                            tls_context=client_tls)

    notifier.send(Message("lan.nguyen@example.com", "subject", TEXT))

    assert len(wait_for_mail(mailbox)) == 1


def test_implicit_tls(smtp_server, certificate):
    server_tls, client_tls = certificate
    mailbox, port = smtp_server(ssl_context=server_tls, server_hostname="localhost")
    notifier = SmtpNotifier("localhost", port, "ssl", SENDER, tls_context=client_tls)

    notifier.send(Message("lan.nguyen@example.com", "subject", TEXT))

    assert len(wait_for_mail(mailbox)) == 1


def test_an_untrusted_certificate_is_refused(smtp_server, certificate):
    server_tls, _ = certificate
    mailbox, port = smtp_server(tls_context=server_tls, require_starttls=True)
    notifier = SmtpNotifier("localhost", port, "starttls", SENDER)  # the system's trust store only

    with pytest.raises(DeliveryFailed):
        notifier.send(Message("lan.nguyen@example.com", "subject", TEXT))
    assert mailbox.received == []


def test_a_wrong_smtp_password_is_a_delivery_failure(smtp_server, certificate):
    server_tls, client_tls = certificate
    _, port = smtp_server(tls_context=server_tls, require_starttls=True, authenticator=check_login)
    notifier = SmtpNotifier("localhost", port, "starttls", SENDER, "idp", "wrong", timeout=2,
                            tls_context=client_tls)

    with pytest.raises(DeliveryFailed) as failure:
        notifier.send(Message("lan.nguyen@example.com", "subject", TEXT))
    assert "wrong" not in str(failure.value)


def test_a_server_that_is_down_is_a_delivery_failure_that_names_no_recipient():
    notifier = SmtpNotifier("127.0.0.1", free_port(), "plain", SENDER, timeout=2)

    with pytest.raises(DeliveryFailed) as failure:
        notifier.send(Message("lan.nguyen@example.com", "subject", TEXT))
    assert "lan.nguyen" not in str(failure.value) and "482913" not in str(failure.value)


# --- the provider itself, configured for SMTP -----------------------------------------------------
def test_an_email_code_from_the_provider_arrives_by_smtp_and_verifies_the_email(
    settings, app, make_citizen, smtp_server
):
    mailbox, port = smtp_server()
    provider = create_app(dataclasses.replace(settings, notify_email="smtp", smtp_host="127.0.0.1",
                                              smtp_port=port, smtp_security="plain", smtp_from=SENDER))
    provider.config["TESTING"] = True
    web = provider.test_client()
    person = make_citizen()
    page = web.get("/login")
    web.post("/login", data={**hidden_fields(page.get_data(as_text=True)), "identifier": person["citizen_id"],
                             "password": person["password"]})
    page = web.get("/verify/email")
    web.post("/verify/email/send", data=hidden_fields(page.get_data(as_text=True)))

    [(_, recipients, message)] = wait_for_mail(mailbox)
    code = re.search(r"\b(\d{6})\b", message.get_content()).group(1)
    answer = web.post("/verify/email", data={**hidden_fields(page.get_data(as_text=True)), "code": code})

    assert recipients == [person["email"]] and "Mã xác minh email" in message["Subject"]
    assert answer.status_code == 303
