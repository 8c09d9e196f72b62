"""Levels of assurance: the `acr` ladder, what a citizen can reach, what a request demands.

The ladder is ordered: a higher level satisfies every lower one.
- loa:1  the password;
- loa:2  the password and a second factor (an authenticator app code, a recovery code, a passkey);
- loa:3  loa:2, by a citizen whose identity an operator has checked in person
         (`idp users verify-identity` sets citizens.identity_verified_at).

How a portal asks (OIDC Core §3.1.2.1, §5.5.1.1):
- `acr_values` is a *voluntary* request: we step the citizen up to the first value (in the
  portal's order of preference) the citizen can reach here, and otherwise answer with what
  happened: the ID token's `acr` says which level it really is.
- `claims={"id_token":{"acr":{"essential":true,"values":[…]}}}` is a *demand*: the answer's
  `acr` is one of the values, or the portal gets `unmet_authentication_requirements`
  (OpenID Connect Core Unmet Authentication Requirements 1.0). Never a silent downgrade.
- A portal registered with `minimum_acr` demands that level on every request.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import bindparam, exists, select

from ..extensions import db
from ..models import Citizen, TotpCredential, WebAuthnCredential

LOA1 = "urn:thainguyen:id:loa:1"
LOA2 = "urn:thainguyen:id:loa:2"
LOA3 = "urn:thainguyen:id:loa:3"
LADDER = (LOA1, LOA2, LOA3)

# RFC 8176 authentication method references.
SECOND_FACTOR_AMR = frozenset({"otp", "hwk", "swk"})


def rank(acr: str | None) -> int:
    """1, 2 or 3 for a level of the ladder; 0 for anything else (unknown, or nothing)."""
    return LADDER.index(acr) + 1 if acr in LADDER else 0


def level(acr_rank: int) -> str:
    return LADDER[max(1, min(acr_rank, len(LADDER))) - 1]


def has_second_factor(citizen_pk: int, committed: bool = False) -> bool:
    """A confirmed authenticator app or at least one passkey. Recovery codes alone are not a
    factor: they stand in for the app, and go when it goes. ``committed``: what is committed is
    all there is to see (the login, before it writes anything): read as a plain row on the lean
    connection rather than in the request's Session."""
    values = {"citizen_pk": citizen_pk}
    if committed:
        return bool(current_app.extensions["idp.lean"].read(_HAS_SECOND_FACTOR_ROW, values).found)
    return bool(db.session.scalar(_HAS_SECOND_FACTOR, values))


# Built once: asked at every login, and building it costs more than running it.
_HAS_SECOND_FACTOR = select(
    exists().where(
        TotpCredential.citizen_pk == bindparam("citizen_pk"), TotpCredential.confirmed_at.is_not(None)
    )
    | exists().where(WebAuthnCredential.citizen_pk == bindparam("citizen_pk"))
)
_HAS_SECOND_FACTOR_ROW = select(_HAS_SECOND_FACTOR.selected_columns[0].label("found"))


def reachable(citizen: Citizen) -> int:
    """The highest level this citizen can reach by logging in here, as it stands now."""
    if not has_second_factor(citizen.id):
        return 1
    return 3 if citizen.identity_verified_at is not None else 2


def achieved(amr: list[str], citizen: Citizen) -> str:
    """The level a login with these methods gives this citizen."""
    if "pwd" in amr and SECOND_FACTOR_AMR & set(amr):
        return LOA3 if citizen.identity_verified_at is not None else LOA2
    return LOA1


@dataclass(frozen=True)
class Demand:
    """What one authorization request asks for, parsed from acr_values, claims and the portal."""

    voluntary: tuple[str, ...] = ()  # acr_values, in order of preference (known levels only)
    essential: tuple[str, ...] = ()  # claims id_token.acr values with essential=true
    minimum: str | None = None  # the portal's registered minimum

    @property
    def required(self) -> int:
        """The rank below which the answer must be an error, not a token."""
        floor = rank(self.minimum)
        if self.essential:
            # Any of the values satisfies the demand, so the lowest is the floor.
            floor = max(floor, min(rank(v) for v in self.essential))
        return floor

    def target(self, citizen: Citizen) -> int:
        """The rank to step the citizen up to: the demand, raised by the first voluntary value
        the citizen can reach (best effort)."""
        can = reachable(citizen)
        wanted = next((rank(v) for v in self.voluntary if rank(v) <= can), 0)
        return max(self.required, wanted)

    def reported(self, session_acr: str) -> str:
        """The `acr` to put in the ID token for a session at ``session_acr``: with essential
        values, the highest of them the session satisfies (§5.5.1.1: it MUST be one of them)."""
        if self.essential:
            met = [v for v in self.essential if rank(v) <= rank(session_acr)]
            if met:
                return max(met, key=rank)
        return session_acr


class UnknownLevel(ValueError):
    """An essential acr demand names no level of the ladder: it can never be met here."""
