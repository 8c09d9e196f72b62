"""SQLAlchemy models, one module per aggregate. Persistence only: no protocol rules here."""

from .citizen import Citizen
from .client import Client
from .consent import Consent
from .grant import AuthorizationCode, Token
from .interaction import Interaction
from .session import BrowserSession
from .signing_key import SigningKey

__all__ = [
    "AuthorizationCode",
    "BrowserSession",
    "Citizen",
    "Client",
    "Consent",
    "Interaction",
    "SigningKey",
    "Token",
]
