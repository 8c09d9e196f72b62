"""``idp clients``: register, list, show and delete portals."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..config import ConfigError, parse_duration
from ..extensions import db
from ..identity.assurance import LADDER
from ..models import Client
from ..oauth import clients, registration
from ..oauth.claims import STANDARD_SCOPES

group = AppGroup("clients", help="Portals (OIDC clients).")


def _describe(client: Client) -> dict:
    return {
        "client_id": client.client_id,
        "name": client.name,
        "public": client.is_public,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "scopes": client.scopes,
        "grant_types": client.grant_types,
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "access_token_ttl": client.access_token_ttl,
        "refresh_token_ttl": client.refresh_token_ttl,
        "minimum_acr": client.minimum_acr,
        "require_pushed_authorization_requests": client.require_pushed_authorization_requests,
        "jwks_uri": client.jwks_uri,
        "jwks": client.jwks,
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "frontchannel_logout_uri": client.frontchannel_logout_uri,
        "subject_type": client.subject_type,
        "sector": client.sector,
        "dpop_bound_access_tokens": client.dpop_bound_access_tokens,
        "fapi2": client.fapi2,
        "userinfo_signed_response_alg": client.userinfo_signed_response_alg,
        "id_token_encrypted_response_alg": client.id_token_encrypted_response_alg,
        "userinfo_encrypted_response_alg": client.userinfo_encrypted_response_alg,
    }


@group.command("create")
@click.option("--name", required=True, help="The portal's name, shown to citizens.")
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="Exact redirect URI (repeat).")
@click.option("--post-logout-redirect-uri", "logout_uris", multiple=True, help="(repeat)")
@click.option("--scope", "scopes", multiple=True, help="Allowed scope (repeat). Default: openid profile.")
@click.option(
    "--grant-type",
    "grant_types",
    multiple=True,
    help="authorization_code, refresh_token, client_credentials (repeat).",
)
@click.option("--public", is_flag=True, help="A native or browser app with no secret (PKCE required).")
@click.option(
    "--auth-method", default="client_secret_basic", type=click.Choice(clients.CONFIDENTIAL_AUTH_METHODS)
)
@click.option("--client-id", default=None, help="Choose the client_id (default: generated).")
@click.option("--id-token-alg", default=None, type=click.Choice(["RS256", "PS256", "ES256", "EdDSA"]))
@click.option(
    "--access-token-ttl", default=None, metavar="DURATION", help="e.g. 5m (default: IDP_ACCESS_TOKEN_TTL)"
)
@click.option(
    "--refresh-token-ttl", default=None, metavar="DURATION", help="e.g. 7d (default: IDP_REFRESH_TOKEN_TTL)"
)
@click.option(
    "--minimum-acr",
    default=None,
    type=click.Choice(LADDER),
    help="The lowest level of assurance the portal accepts (default: any).",
)
@click.option("--jwks-uri", default=None, help="Where the portal publishes its keys (private_key_jwt).")
@click.option(
    "--jwks-file",
    default=None,
    type=click.File("r"),
    help="A JSON file with the portal's public keys (private_key_jwt).",
)
@click.option(
    "--subject-type",
    default="public",
    type=click.Choice(["public", "pairwise"]),
    help="pairwise: the portal gets a `sub` of its own sector, not shared with other sectors.",
)
@click.option("--sector-identifier-uri", default=None, help="https URL listing the sector's redirect URIs.")
@click.option("--backchannel-logout-uri", default=None, help="Where the portal hears of a citizen's logout.")
@click.option(
    "--frontchannel-logout-uri",
    default=None,
    help="A page the logout loads in a frame, for portals without one.",
)
@click.option("--sign-userinfo", default=None, type=click.Choice(["RS256", "PS256", "ES256", "EdDSA"]))
@click.option(
    "--encrypt-id-token",
    default=None,
    type=click.Choice(["RSA-OAEP-256", "ECDH-ES"]),
    help="Encrypt ID tokens (A256GCM) to the portal's key (--jwks-file or --jwks-uri).",
)
@click.option(
    "--encrypt-userinfo",
    default=None,
    type=click.Choice(["RSA-OAEP-256", "ECDH-ES"]),
    help="Encrypt userinfo answers (A256GCM) to the portal's key.",
)
@click.option("--dpop-bound", is_flag=True, help="Every access token must be DPoP-bound (RFC 9449).")
@click.option(
    "--fapi2",
    is_flag=True,
    help="FAPI 2.0 Security Profile: PAR, PKCE S256, private_key_jwt, DPoP-bound tokens, short codes.",
)
@click.option("--require-par", is_flag=True, help="Accept only pushed authorization requests (RFC 9126).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def create(
    name,
    redirect_uris,
    logout_uris,
    scopes,
    grant_types,
    public,
    auth_method,
    client_id,
    id_token_alg,
    access_token_ttl,
    refresh_token_ttl,
    minimum_acr,
    jwks_uri,
    jwks_file,
    subject_type,
    sector_identifier_uri,
    backchannel_logout_uri,
    frontchannel_logout_uri,
    sign_userinfo,
    encrypt_id_token,
    encrypt_userinfo,
    dpop_bound,
    fapi2,
    require_par,
    as_json,
) -> None:
    """Register a portal. Prints the client_id and the secret, which is shown only this once."""
    try:
        access_ttl = parse_duration("--access-token-ttl", access_token_ttl) if access_token_ttl else None
        refresh_ttl = parse_duration("--refresh-token-ttl", refresh_token_ttl) if refresh_token_ttl else None
    except ConfigError as exc:
        raise click.BadParameter(str(exc)) from None
    spec = clients.ClientSpec(
        name=name,
        redirect_uris=list(redirect_uris),
        post_logout_redirect_uris=list(logout_uris),
        scopes=list(scopes) or ["openid", "profile"],
        grant_types=list(grant_types) or ["authorization_code", "refresh_token"],
        public=public,
        token_endpoint_auth_method=auth_method,
        client_id=client_id,
        id_token_signed_response_alg=id_token_alg,
        access_token_ttl=access_ttl,
        refresh_token_ttl=refresh_ttl,
        minimum_acr=minimum_acr,
        require_pushed_authorization_requests=require_par,
        jwks_uri=jwks_uri,
        jwks=_read_jwks(jwks_file),
        subject_type=subject_type,
        sector_identifier_uri=sector_identifier_uri,
        dpop_bound_access_tokens=dpop_bound,
        fapi2=fapi2,
        userinfo_signed_response_alg=sign_userinfo,
        id_token_encrypted_response_alg=encrypt_id_token,
        id_token_encrypted_response_enc="A256GCM" if encrypt_id_token else None,
        userinfo_encrypted_response_alg=encrypt_userinfo,
        userinfo_encrypted_response_enc="A256GCM" if encrypt_userinfo else None,
        backchannel_logout_uri=backchannel_logout_uri,
        frontchannel_logout_uri=frontchannel_logout_uri,
    )
    try:
        client, secret = clients.register(spec)
    except clients.InvalidClientMetadata as exc:
        raise click.UsageError(str(exc)) from None
    db.session.commit()
    if as_json:
        click.echo(json.dumps({**_describe(client), "client_secret": secret}, indent=2))
        return
    click.echo(f"client_id:     {client.client_id}")
    if secret:
        click.echo(f"client_secret: {secret}")
        click.echo("Keep the secret now: it is stored only as a hash and cannot be shown again.")


def _read_jwks(file) -> dict | None:
    if file is None:
        return None
    try:
        return json.load(file)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--jwks-file") from None


@group.command("list")
def list_() -> None:
    """One line per portal."""
    for client in db.session.scalars(select(Client).order_by(Client.client_id)):
        kind = "public" if client.is_public else "confidential"
        click.echo(f"{client.client_id}\t{kind}\t{client.name}")


@group.command("show")
@click.argument("client_id")
def show(client_id: str) -> None:
    """Everything registered for one portal (never its secret)."""
    client = clients.find(client_id)
    if client is None:
        raise click.UsageError(f"no portal with client_id {client_id}")
    click.echo(json.dumps(_describe(client), indent=2, ensure_ascii=False))


@group.command("delete")
@click.argument("client_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete(client_id: str, yes: bool) -> None:
    """Remove a portal; its tokens stop working at once."""
    client = clients.find(client_id)
    if client is None:
        raise click.UsageError(f"no portal with client_id {client_id}")
    if not yes:
        click.confirm(f"Delete {client.client_id} ({client.name})?", abort=True)
    clients.delete(client)
    db.session.commit()
    click.echo(f"deleted {client_id}")


@group.command("rotate-secret")
@click.argument("client_id")
def rotate_secret(client_id: str) -> None:
    """Replace a portal's secret (the old one stops working at once). Prints the new one, once."""
    client = clients.find(client_id)
    if client is None:
        raise click.UsageError(f"no portal with client_id {client_id}")
    if client.is_public:
        raise click.UsageError(f"{client_id} is a public client: it has no secret")
    secret = clients.new_secret(client)
    db.session.commit()
    click.echo(f"client_secret: {secret}")
    click.echo("Keep the secret now: it is stored only as a hash and cannot be shown again.")


@group.command("issue-registration-token")
@click.option("--label", required=True, help="Who it is for, e.g. the vendor's name (kept in the audit).")
@click.option(
    "--uses", default=1, show_default=True, type=click.IntRange(1, 1000), help="Portals it may register."
)
@click.option("--expires-in", default="7d", show_default=True, metavar="DURATION", help="e.g. 12h, 7d")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    help="A scope registered portals may ask for (repeat). Default: every scope except citizen.",
)
def issue_registration_token(label: str, uses: int, expires_in: str, scopes: tuple[str, ...]) -> None:
    """An initial access token for dynamic registration (RFC 7591), shown only this once."""
    try:
        lifetime = parse_duration("--expires-in", expires_in)
    except ConfigError as exc:
        raise click.BadParameter(str(exc)) from None
    unknown = [s for s in scopes if s not in STANDARD_SCOPES]
    if unknown:
        raise click.BadParameter(f"unknown scope: {' '.join(unknown)}", param_hint="--scope")
    # The CCCD number is for portals an operator vetted: only an explicit --scope citizen allows it.
    allowed = list(scopes) or [s for s in STANDARD_SCOPES if s != "citizen"]
    token = registration.issue_initial_token(label, uses, lifetime, allowed)
    db.session.commit()
    click.echo(f"registration token: {token}")
    click.echo(f"It registers up to {uses} portal(s) within {expires_in}, with scopes: {' '.join(allowed)}.")
    click.echo("Give it to the vendor now: it is stored only as a hash and cannot be shown again.")


@group.command("revoke-registration-token")
@click.argument("token_id", type=int)
def revoke_registration_token(token_id: int) -> None:
    """Stop an initial access token (its id is in `idp audit tail`, event registration_token_issued)."""
    if not registration.revoke_initial_token(token_id):
        raise click.UsageError(f"no unrevoked registration token with id {token_id}")
    db.session.commit()
    click.echo(f"revoked registration token {token_id}")
