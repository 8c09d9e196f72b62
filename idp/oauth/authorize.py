"""The authorization endpoint (OIDC Core §3.1.2), as a sequence of small named checks.

Authlib's authorization-side grant lacks form_post, max_age, login_hint, `iss` on error
redirects and prompt handling, so the request is validated here and only the token side is
left to Authlib. Order matters: until the client and its redirect URI are verified, every error
is shown to the person and never redirected.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import bindparam, delete, insert, select, update

from .. import lean
from ..clock import now
from ..credentials import CODE_PREFIX, new_grant_id, new_ordered_id, new_ordered_token, token_hash
from ..extensions import db
from ..identity import assurance, consent
from ..models import AuthorizationCode, BrowserSession, Client, Interaction
from ..models.client import ClientRow, ClientRules
from ..security import audit
from ..services import services
from . import pushed, request_objects
from .claims import SCOPE_CLAIMS
from .errors import BadRequest, ProtocolError, invalid_request

PUSHED = pushed.MARKER
KNOWN_PARAMS = frozenset(
    [
        "client_id",
        "redirect_uri",
        "response_type",
        "response_mode",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "prompt",
        "max_age",
        "login_hint",
        "ui_locales",
        "id_token_hint",
        "display",
        "acr_values",
        "claims_locales",
        "request",
        "request_uri",
        "registration",
        "claims",
    ]
)
PROMPTS = frozenset({"none", "login", "consent", "select_account"})
RESPONSE_MODES = ("query", "form_post")
_PKCE_CHALLENGE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9\-._~]{1,64}$")
MAX_PARAM_LENGTH = 2048


@dataclass
class AuthorizationRequest:
    """A request whose client and redirect URI are verified and whose parameters are valid."""

    client: ClientRules
    redirect_uri: str
    scopes: list[str]
    response_mode: str = "query"
    state: str | None = None
    nonce: str | None = None
    code_challenge: str | None = None
    prompt: set[str] = field(default_factory=set)
    max_age: int | None = None
    login_hint: str | None = None
    ui_locales: list[str] = field(default_factory=list)
    demand: assurance.Demand = field(default_factory=assurance.Demand)
    # Claims the claims parameter asks for in the ID token (within the consented scopes).
    id_token_claims: list[str] = field(default_factory=list)
    # The parameters the request was validated from (a pushed request's, not the browser's).
    params: dict[str, str] = field(default_factory=dict)

    @property
    def scope(self) -> str:
        return " ".join(self.scopes)


@dataclass
class RedirectableError(Exception):
    """A protocol error to deliver to the client's verified redirect URI."""

    error: ProtocolError
    request: AuthorizationRequest


# --- parsing -------------------------------------------------------------------------------
def single_params(multi: Mapping[str, list[str]]) -> dict[str, str]:
    """One value per parameter (RFC 6749 §3.1: a parameter MUST NOT be repeated)."""
    params = {}
    for name, values in multi.items():
        if name not in KNOWN_PARAMS:
            continue  # unknown parameters are ignored (RFC 6749 §3.1)
        if len(values) > 1:
            raise BadRequest(f"The '{name}' parameter is repeated.")
        if len(values[0]) > MAX_PARAM_LENGTH:
            raise BadRequest(f"The '{name}' parameter is too long.")
        if "\x00" in values[0]:
            raise BadRequest(f"The '{name}' parameter contains a NUL character.")
        if values[0] != "":
            params[name] = values[0]
    return params


# --- the checks before a redirect is allowed -----------------------------------------------
def check_client(params: dict[str, str], read: ClientRow | None = None) -> ClientRow:
    """The portal of the request; ``read``: its row as this request has already read it."""
    client_id = params.get("client_id")
    if not client_id:
        raise BadRequest("The 'client_id' parameter is missing.")
    client = read if read is not None and read.client_id == client_id else _page_client(client_id)
    if client is None:
        raise ProtocolError("invalid_client", "No portal is registered with this client_id.", redirect=False)
    if "authorization_code" not in client.grant_types:
        raise ProtocolError("unauthorized_client", "This portal may not log citizens in.", redirect=False)
    return client


def check_redirect_uri(params: dict[str, str], client: ClientRules) -> str:
    redirect_uri = params.get("redirect_uri")
    if not redirect_uri:
        # OIDC Core §3.1.2.1: redirect_uri is REQUIRED.
        raise BadRequest("The 'redirect_uri' parameter is missing.")
    if not client.check_redirect_uri(redirect_uri):
        raise ProtocolError(
            "invalid_request", "The redirect_uri is not registered for this portal.", redirect=False
        )
    return redirect_uri


# --- the checks whose errors go back to the portal -----------------------------------------
def check_response_type(params: dict[str, str]) -> None:
    if params.get("response_type") != "code":
        raise ProtocolError("unsupported_response_type", "Only response_type=code is supported.")


def check_response_mode(params: dict[str, str]) -> str:
    mode = params.get("response_mode", "query")
    if mode not in RESPONSE_MODES:
        raise invalid_request("response_mode must be query or form_post.")
    return mode


def check_pushed(params: dict[str, str], client: ClientRules) -> None:
    if client.require_pushed_authorization_requests and not params.get(PUSHED):
        raise invalid_request("This portal must push its authorization requests to the PAR endpoint.")


def check_unsupported(params: dict[str, str]) -> None:
    if "request_uri" in params:
        # RFC 9101 §5.2 request objects by reference: never fetched from a portal's server.
        raise ProtocolError("request_uri_not_supported", "Only request_uri values from /par are accepted.")
    if "registration" in params:
        raise ProtocolError("registration_not_supported", "The registration parameter is not supported.")


def check_scope(params: dict[str, str], client: ClientRules) -> list[str]:
    requested = params.get("scope", "").split()
    if "openid" not in requested:
        raise ProtocolError("invalid_scope", "The scope must include openid.")
    unknown = [s for s in requested if s not in SCOPE_CLAIMS]
    if unknown:
        raise ProtocolError("invalid_scope", f"Unknown scope: {' '.join(unknown)}.")
    # Never a silent downgrade (Authlib #320 drops them): the portal is told what it may not have.
    refused = [s for s in requested if s not in client.scopes]
    if refused:
        raise ProtocolError("invalid_scope", f"This portal is not registered for: {' '.join(refused)}.")
    return list(dict.fromkeys(requested))


def check_pkce(params: dict[str, str], client: ClientRules) -> str | None:
    challenge = params.get("code_challenge")
    method = params.get("code_challenge_method")
    if challenge is None:
        if method is not None:
            raise invalid_request("code_challenge_method without code_challenge.")
        if client.is_public or client.fapi2:  # FAPI 2.0 §5.3.2.2: PKCE for every client
            raise invalid_request("PKCE is required for this portal: send code_challenge with S256.")
        return None
    if method != "S256":
        # `plain` (or no method, which means plain) gives no protection if the request leaks.
        raise invalid_request("code_challenge_method must be S256.")
    if not _PKCE_CHALLENGE.match(challenge):
        raise invalid_request("code_challenge is not a valid S256 challenge.")
    return challenge


def check_prompt(params: dict[str, str]) -> set[str]:
    prompt = set(params.get("prompt", "").split())
    if not prompt <= PROMPTS:
        raise invalid_request(f"Unsupported prompt value: {' '.join(sorted(prompt - PROMPTS))}.")
    if "none" in prompt and len(prompt) > 1:
        raise invalid_request("prompt=none cannot be combined with other values.")
    return prompt


def check_max_age(params: dict[str, str]) -> int | None:
    raw = params.get("max_age")
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 10:
        raise invalid_request("max_age must be a non-negative whole number of seconds.")
    return int(raw)


def check_nonce_and_state(params: dict[str, str]) -> None:
    for name in ("nonce", "state"):
        if len(params.get(name, "")) > 512:
            raise invalid_request(f"{name} is longer than 512 characters.")


def check_acr(params: dict[str, str], client: ClientRules) -> assurance.Demand:
    """The level of assurance asked for: acr_values (voluntary), the claims parameter's
    id_token.acr (essential when it says so; OIDC Core §5.5.1.1), the portal's minimum.
    Other members of the claims parameter are accepted and not acted on yet."""
    voluntary = [v for v in params.get("acr_values", "").split() if assurance.rank(v)]
    if "acr_values" not in params and "claims" not in params:
        voluntary = list(client.default_acr_values or [])
    essential: list[str] = []
    raw = params.get("claims")
    if raw is not None:
        try:
            claims = json.loads(raw)
        except ValueError:
            raise invalid_request("The claims parameter is not valid JSON.") from None
        if not isinstance(claims, dict) or not all(
            isinstance(claims.get(k, {}), dict | None) for k in ("id_token", "userinfo")
        ):
            raise invalid_request("The claims parameter must be a JSON object of objects.")
        acr = (claims.get("id_token") or {}).get("acr")
        if acr is not None and not isinstance(acr, dict):
            raise invalid_request("claims.id_token.acr must be null or an object.")
        acr = acr or {}
        values = acr.get("values", [acr["value"]] if "value" in acr else [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise invalid_request("claims.id_token.acr values must be strings.")
        if acr.get("essential") is True and values:
            essential = [v for v in values if assurance.rank(v)]
            if not essential:
                raise ProtocolError(
                    "unmet_authentication_requirements",
                    "None of the essential acr values is a level this provider offers.",
                )
        else:
            voluntary = voluntary or [v for v in values if assurance.rank(v)]
    return assurance.Demand(tuple(voluntary), tuple(essential), client.minimum_acr)


def check_id_token_claims(params: dict[str, str]) -> list[str]:
    """The individual claims the claims parameter asks to find in the ID token (OIDC Core §5.5).
    They are released only within the scopes the citizen agrees to: the consent page names scopes,
    and a claim the citizen was not asked about never leaves."""
    raw = params.get("claims")
    if raw is None:
        return []
    requested = json.loads(raw).get("id_token") or {}  # well-formed: check_acr has parsed it
    known = {c for names in SCOPE_CLAIMS.values() for c in names}
    return sorted(name for name in requested if name in known and name != "sub")


def validate(multi: Mapping[str, list[str]]) -> AuthorizationRequest:
    """Every check, in order. Raises BadRequest/ProtocolError (page) or RedirectableError."""
    return validate_params(pushed.resolve(single_params(multi)))


def validate_params(params: dict[str, str], client: ClientRow | None = None) -> AuthorizationRequest:
    client = check_client(params, client)
    params = request_objects.unpack(params, client)
    redirect_uri = check_redirect_uri(params, client)
    # From here on the portal and its redirect URI are trusted: errors go back to it.
    partial = AuthorizationRequest(
        client=client,
        redirect_uri=redirect_uri,
        scopes=[],
        state=params.get("state"),
        response_mode=params.get("response_mode", "query")
        if params.get("response_mode") in RESPONSE_MODES
        else "query",
    )
    try:
        check_pushed(params, client)
        check_response_type(params)
        response_mode = check_response_mode(params)
        check_unsupported(params)
        check_nonce_and_state(params)
        return AuthorizationRequest(
            client=client,
            redirect_uri=redirect_uri,
            scopes=check_scope(params, client),
            response_mode=response_mode,
            state=params.get("state"),
            nonce=params.get("nonce"),
            code_challenge=check_pkce(params, client),
            prompt=check_prompt(params),
            max_age=check_max_age(params),
            login_hint=params.get("login_hint"),
            ui_locales=params.get("ui_locales", "").split(),
            demand=check_acr(params, client),
            id_token_claims=check_id_token_claims(params),
            params=params,
        )
    except ProtocolError as error:
        raise RedirectableError(error, partial) from None


# Built once: constructing a SELECT costs more than running it (hot path of every token request).
_FIND_CLIENT = select(Client).where(Client.client_id == bindparam("client_id"))


def find_client(client_id: str) -> Client | None:
    # Malformed ids are refused before they reach the database. Not cached: a deleted portal or
    # a replaced secret must stop working at once, on every instance.
    if not isinstance(client_id, str) or not _CLIENT_ID.match(client_id):
        return None
    return db.session.scalar(_FIND_CLIENT, {"client_id": client_id})


# Every page of a login validates its request again, so the portal is read once per page: as a
# plain row on the lean connection (the ORM loads were ≈ 13 % of a login's time outside Argon2,
# bench/CHANGES.md). Not cached, for the same reason as find_client.
_CLIENTS = Client.__table__
_FIND_PAGE_CLIENT = select(*_CLIENTS.columns).where(_CLIENTS.c.client_id == bindparam("client_id"))


def _page_client(client_id: str) -> ClientRow | None:
    if not isinstance(client_id, str) or not _CLIENT_ID.match(client_id):
        return None
    return current_app.extensions["idp.lean"].read(_FIND_PAGE_CLIENT, {"client_id": client_id}, ClientRow)


# --- the decision: log in, consent, or answer -----------------------------------------------
@dataclass
class Decision:
    action: str  # "login" | "step_up" | "consent" | "issue"


def too_old(session: BrowserSession, max_age: int | None) -> bool:
    """OIDC Core §3.1.2.1: re-authenticate when more than max_age seconds have passed;
    max_age=0 means always (like prompt=login)."""
    if max_age is None:
        return False
    return max_age == 0 or now() - session.auth_time > max_age


def decide(
    req: AuthorizationRequest, session: BrowserSession | None, login_just_done: bool = False
) -> Decision:
    needs_login = session is None or (
        not login_just_done
        and (bool(req.prompt & {"login", "select_account"}) or too_old(session, req.max_age))
    )
    if needs_login:
        if "none" in req.prompt:
            raise RedirectableError(ProtocolError("login_required", "The citizen is not logged in."), req)
        return Decision("login")
    if needs_step_up(req, session):
        if "none" in req.prompt:
            raise RedirectableError(
                ProtocolError("login_required", "A second factor is needed, and prompt=none was asked."), req
            )
        return Decision("step_up")
    needs_consent = "consent" in req.prompt or not consent.covers(
        session.citizen_pk, req.client.client_id, set(req.scopes)
    )
    if needs_consent:
        if "none" in req.prompt:
            raise RedirectableError(
                ProtocolError("consent_required", "The citizen has not agreed to share this."), req
            )
        return Decision("consent")
    return Decision("issue")


def needs_step_up(req: AuthorizationRequest, session: BrowserSession) -> bool:
    """True if the session is below the level this request should get; an error to the portal
    if the citizen cannot reach the level it demands here (no second factor, no in-person check)."""
    demand = req.demand
    if assurance.rank(session.acr) >= demand.required and not demand.voluntary:
        return False  # the usual case, without a database query
    citizen = session.citizen
    if demand.required > assurance.reachable(citizen):
        audit.record(
            "authentication_requirements_unmet",
            "failure",
            citizen_pk=citizen.id,
            client_id=req.client.client_id,
            required=assurance.level(demand.required),
        )
        raise RedirectableError(
            ProtocolError(
                "unmet_authentication_requirements",
                f"The citizen cannot reach {assurance.level(demand.required)} here.",
            ),
            req,
        )
    return assurance.rank(session.acr) < demand.target(citizen)


# --- interactions: the request parked while the citizen logs in or consents -----------------
# An interaction is a plain row (lean.Record), not an ORM object: every page of a login reads it
# (on the lean connection: one SELECT, no Session) and writes it at most once, with a Core
# statement in the page's transaction (the ORM's flush cost ≈ 0.3 ms of each commit, its read
# ≈ 0.1–0.4 ms; bench/CHANGES.md).
_INTERACTIONS = Interaction.__table__
_PARK = insert(_INTERACTIONS)
_LOGIN_DONE = (
    update(_INTERACTIONS)
    .where(_INTERACTIONS.c.id == bindparam("interaction_id"))
    .values(login_done_at=bindparam("login_done_at"))
)
_FORGET = delete(_INTERACTIONS).where(_INTERACTIONS.c.id == bindparam("interaction_id"))


def park(req: AuthorizationRequest) -> Interaction:
    """Keep the request until the citizen has logged in or consented."""
    at = now()
    values = {
        "id": new_ordered_id(),  # sorts by time: new rows at the end of the table's B-tree
        "client_id": req.client.client_id,
        # The validated parameters: a pushed request's request_uri is spent and cannot be resolved again.
        "params": req.params,
        "login_done_at": None,
        "created_at": at,
        "expires_at": at + services().settings.interaction_ttl,
    }
    lean.execute(_PARK, values)
    return lean.Record(values)


def login_done(interaction: Interaction, auth_time: int) -> None:
    """prompt=login and max_age are satisfied for this request by the login done at auth_time."""
    lean.execute(_LOGIN_DONE, {"interaction_id": interaction.id, "login_done_at": auth_time})
    interaction.login_done_at = auth_time


def forget(interaction: Interaction, *, answered_here: bool = True) -> bool:
    """The request is answered (or refused): its interaction ends with this transaction. False if
    another request ended it first (a form sent twice): that one answered, this one must not. In
    a page whose writes wait for its commit (lean.deferring) that is known only then: the commit
    raises lean.Conflict, and nothing of the page is written. ``answered_here=False``: ended
    whether or not it is still there (a request refused with an error)."""
    return lean.execute(
        _FORGET, {"interaction_id": interaction.id}, expected_rows=1 if answered_here else None
    )


_INTERACTION_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def find_interaction(interaction_id: str | None) -> Interaction | None:
    return find_interaction_and_portal(interaction_id)[0]


# A parked request is read with its portal: the pages that resume it (login, consent, the return
# to /authorize) validate it again with that row, one SELECT a page, not two (the portal is still
# read afresh on every page, as find_client explains).
_PORTAL = "portal_"
_FIND_INTERACTION_AND_PORTAL = (
    select(*_INTERACTIONS.columns, *(c.label(_PORTAL + c.key) for c in _CLIENTS.columns))
    .select_from(_INTERACTIONS.outerjoin(_CLIENTS, _CLIENTS.c.client_id == _INTERACTIONS.c.client_id))
    .where(_INTERACTIONS.c.id == bindparam("id"))
)
_INTERACTION_KEYS = tuple(c.key for c in _INTERACTIONS.columns)
_PORTAL_KEYS = tuple(c.key for c in _CLIENTS.columns)


def _interaction_and_portal(values: dict) -> tuple[Interaction, ClientRow | None]:
    interaction = lean.Record({key: values[key] for key in _INTERACTION_KEYS})
    if values[_PORTAL + "id"] is None:
        return interaction, None
    return interaction, ClientRow({key: values[_PORTAL + key] for key in _PORTAL_KEYS})


def find_interaction_and_portal(interaction_id: str | None) -> tuple[Interaction | None, ClientRow | None]:
    """The live (unexpired) interaction of this id and the row of its portal (None if the portal
    is gone), or (None, None)."""
    if not isinstance(interaction_id, str) or not _INTERACTION_ID.match(interaction_id):
        return None, None
    found = current_app.extensions["idp.lean"].read(
        _FIND_INTERACTION_AND_PORTAL, {"id": interaction_id}, _interaction_and_portal
    )
    if found is None or found[0].expires_at <= now():
        return None, None
    return found


def resume(interaction: Interaction, portal: ClientRow | None = None) -> AuthorizationRequest:
    """The parked request validated again, as at /authorize (``portal``: its row, just read)."""
    return validate_params(dict(interaction.params), portal)


# --- the answer -----------------------------------------------------------------------------
def code_ttl(client: ClientRules) -> int:
    ttl = services().settings.code_ttl
    return min(ttl, 60) if client.fapi2 else ttl  # FAPI 2.0 §5.3.2.1: at most 60 seconds


def issue_code(req: AuthorizationRequest, session: BrowserSession) -> str:
    code = new_ordered_token(CODE_PREFIX)
    grant_id = new_grant_id()
    audit.record(
        "code_issued",
        citizen_pk=session.citizen_pk,
        client_id=req.client.client_id,
        grant_id=grant_id,
        scope=req.scope,
    )
    at = now()
    lean.execute(  # Core, like the interaction's rows: nothing here reads the code back
        _ISSUE_CODE,
        {
            "code_hash": token_hash(code),
            "grant_id": grant_id,
            "client_id": req.client.client_id,
            "citizen_pk": session.citizen_pk,
            "redirect_uri": req.redirect_uri,
            "scope": req.scope,
            "nonce": req.nonce,
            "code_challenge": req.code_challenge,
            "code_challenge_method": "S256" if req.code_challenge else None,
            "auth_time": session.auth_time,
            "acr": req.demand.reported(session.acr),
            "amr": session.amr,
            "sid": session.sid,
            "id_token_claims": req.id_token_claims or None,
            "consumed_at": None,
            "created_at": at,
            "expires_at": at + code_ttl(req.client),
        },
    )
    return code


_ISSUE_CODE = insert(AuthorizationCode.__table__)


def response_params(req: AuthorizationRequest, **values: str | None) -> dict[str, str]:
    """The response parameters, always with `iss` (RFC 9207) and the request's `state`."""
    params = {k: v for k, v in values.items() if v is not None}
    if req.state is not None:
        params["state"] = req.state
    params["iss"] = services().settings.issuer
    return params


def error_params(req: AuthorizationRequest, error: ProtocolError) -> dict[str, str]:
    return response_params(req, error=error.error, error_description=error.description)
