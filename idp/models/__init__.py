"""SQLAlchemy models, one module per aggregate. Persistence only: no protocol rules here."""

from .assertion import SeenAssertion
from .audit import AuditEvent
from .citizen import Citizen
from .client import Client
from .consent import Consent
from .device import DeviceAuthorization
from .grant import AuthorizationCode, Token
from .interaction import Interaction
from .logout_delivery import LogoutDelivery
from .pushed_request import PushedRequest
from .registration import InitialAccessToken
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
    "DeviceAuthorization",
    "InitialAccessToken",
    "Interaction",
    "LoginThrottle",
    "LogoutDelivery",
    "PushedRequest",
    "RecoveryCode",
    "SeenAssertion",
    "SigningKey",
    "Token",
    "TotpCredential",
    "VerificationCode",
    "WebAuthnCredential",
]
