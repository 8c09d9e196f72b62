"""SQLAlchemy models, one module per aggregate. Persistence only: no protocol rules here."""

from .audit import AuditEvent
from .citizen import Citizen
from .client import Client
from .consent import Consent
from .grant import AuthorizationCode, Token
from .interaction import Interaction
from .second_factor import RecoveryCode, TotpCredential, WebAuthnCredential
from .session import BrowserSession
from .signing_key import SigningKey
from .throttle import LoginThrottle
from .verification import VerificationCode

__all__ = [
    "AuditEvent",
    "AuthorizationCode",
    "BrowserSession",
    "Citizen",
    "Client",
    "Consent",
    "Interaction",
    "LoginThrottle",
    "RecoveryCode",
    "SigningKey",
    "Token",
    "TotpCredential",
    "VerificationCode",
    "WebAuthnCredential",
]
