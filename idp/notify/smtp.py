"""Email through an SMTP server (smtplib): STARTTLS, implicit TLS or plain (a local relay)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from . import DeliveryFailed, Message


class SmtpNotifier:
    def __init__(
        self,
        host: str,
        port: int,
        security: str,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.port, self.security = host, port, security
        self.sender, self.username, self.password, self.timeout = sender, username, password, timeout
        # Certificates and host names are verified: a code must not go to whoever sits on the path.
        self.tls_context = tls_context or ssl.create_default_context()

    def compose(self, message: Message) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Date"] = formatdate(localtime=False)
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or None
        email["Message-ID"] = make_msgid(domain=domain)
        email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a robot
        email.set_content(message.text, charset="utf-8")
        return email

    def send(self, message: Message) -> None:
        email = self.compose(message)
        try:
            if self.security == "ssl":
                connection = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=self.tls_context
                )
            else:
                connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with connection:
                if self.security == "starttls":
                    connection.starttls(context=self.tls_context)
                if self.username:
                    connection.login(self.username, self.password or "")
                connection.send_message(email)
        except (smtplib.SMTPException, OSError) as exc:
            # The exception text can quote the server's reply about the recipient: class only.
            raise DeliveryFailed(f"smtp {self.host}:{self.port}: {exc.__class__.__name__}") from None
