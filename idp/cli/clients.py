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
from ..oauth import clients

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
