"""The operator's ``idp`` command, run as the real console script in a subprocess."""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import re

import pytest
from sqlalchemy import create_engine, func, inspect, select

from idp import models  # noqa: F401 – every table in db.metadata
from idp.extensions import db
from idp.identity import cccd
from idp.models import Citizen, Client
from tests.support import FlaskBrowser, authorize_params, login, query_of


def field_of(output: str, name: str) -> str:
    match = re.search(rf"^{name}:\s*(\S+)\s*$", output, re.M)
    assert match, f"no {name} in:\n{output}"
    return match.group(1)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def assert_no_traceback(result) -> None:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr


def rows_in(app, model) -> int:
    """How many rows the table holds, read in-process (cheaper than another `idp … list`)."""
    with app.app_context():
        try:
            return db.session.scalar(select(func.count()).select_from(model))
        finally:
            db.session.remove()


def basic(client_id: str, secret: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


# --- help and usage -----------------------------------------------------------------------------
def test_help_lists_the_command_groups(idp):
    result = idp("--help")
    assert result.returncode == 0, result.stderr
    commands = result.stdout.split("Commands:", 1)[1]
    listed = {line.split()[0] for line in commands.splitlines() if line.strip()}
    assert {"db", "clients", "users", "serve", "demo"} <= listed
    assert_no_traceback(result)


@pytest.mark.parametrize("group", ["clients", "users", "db"])
def test_group_help(idp, group):
    result = idp(group, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage: idp " + group in result.stdout


@pytest.mark.parametrize("argv", [["clients", "create", "--name", "X", "--bogus"], ["no-such-command"]])
def test_unknown_option_or_command_exits_non_zero(idp, argv):
    result = idp(*argv)
    assert result.returncode == 2
    assert re.search(r"No such (option|command)", result.stderr), result.stderr
    assert_no_traceback(result)


def test_bad_setting_exits_2_naming_the_variable(idp):
    result = idp("clients", "list", env={"IDP_ACCESS_TOKEN_TTL": "abc"})
    assert result.returncode == 2
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert "IDP_ACCESS_TOKEN_TTL" in lines[0] and "abc" in lines[0]
    assert_no_traceback(result)


@pytest.mark.parametrize(
    "name, value", [("IDP_ISSUER", "http://id.example"), ("IDP_ARGON2_MEMORY_COST", "10")]
)
def test_other_bad_settings_exit_2_naming_the_variable(idp, name, value):
    result = idp("users", "list", env={name: value})
    assert result.returncode == 2
    assert name in result.stderr
    assert_no_traceback(result)


# --- db upgrade ---------------------------------------------------------------------------------
def test_db_upgrade_creates_the_schema_and_is_idempotent(idp, fresh_database_url):
    env = {"IDP_DATABASE_URL": fresh_database_url}
    first = idp("db", "upgrade", env=env)
    assert first.returncode == 0, first.stderr
    second = idp("db", "upgrade", env=env)
    assert second.returncode == 0, second.stderr
    assert "Running upgrade" in first.stderr and "Running upgrade" not in second.stderr

    engine = create_engine(fresh_database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {t.name for t in db.metadata.sorted_tables} | {"alembic_version"} <= tables
    # the upgraded database is usable at once
    listed = idp("clients", "list", env=env)
    assert listed.returncode == 0 and listed.stdout == "", listed.stderr


def test_db_upgrade_on_the_migrated_database_is_a_no_op(app, idp):
    for _ in range(2):
        result = idp("db", "upgrade")
        assert result.returncode == 0, result.stderr
        assert "Running upgrade" not in result.stderr


# --- clients ------------------------------------------------------------------------------------
def test_clients_create_list_show_delete(app, client, idp):
    created = idp(
        "clients",
        "create",
        "--name",
        "Cổng Dịch Vụ X",
        "--redirect-uri",
        "https://a.example/cb",
        "--scope",
        "openid",
        "--scope",
        "profile",
    )
    assert created.returncode == 0, created.stderr
    client_id = field_of(created.stdout, "client_id")
    secret = field_of(created.stdout, "client_secret")
    assert created.stdout.count(secret) == 1
    assert created.stdout.count(client_id) == 1
    assert secret not in created.stderr

    # The printed secret is the one the provider checks.
    good = client.post("/introspect", data={"token": "nothing"}, headers=basic(client_id, secret))
    assert good.status_code == 200 and good.get_json() == {"active": False}
    bad = client.post("/introspect", data={"token": "nothing"}, headers=basic(client_id, secret + "x"))
    assert bad.status_code == 401

    listed = idp("clients", "list")
    assert listed.returncode == 0, listed.stderr
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert [client_id, "confidential", "Cổng Dịch Vụ X"] in rows

    shown = idp("clients", "show", client_id)
    assert shown.returncode == 0, shown.stderr
    described = json.loads(shown.stdout)
    assert described["client_id"] == client_id
    assert described["name"] == "Cổng Dịch Vụ X"
    assert described["redirect_uris"] == ["https://a.example/cb"]
    assert described["scopes"] == ["openid", "profile"]
    assert secret not in shown.stdout + shown.stderr
    assert "client_secret" not in described and "tnid_cs_" not in shown.stdout

    deleted = idp("clients", "delete", client_id, "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert client_id not in idp("clients", "list").stdout
    gone = idp("clients", "show", client_id)
    assert gone.returncode != 0 and client_id in gone.stderr
    after = client.post("/introspect", data={"token": "x"}, headers=basic(client_id, secret))
    assert after.status_code == 401


def test_clients_create_json(app, idp):
    created = idp(
        "clients",
        "create",
        "--name",
        "Json",
        "--redirect-uri",
        "https://b.example/cb",
        "--id-token-alg",
        "ES256",
        "--client-id",
        "json-portal",
        "--json",
    )
    assert created.returncode == 0, created.stderr
    body = json.loads(created.stdout)
    assert body["client_id"] == "json-portal"
    assert body["client_secret"]
    assert body["id_token_signed_response_alg"] == "ES256"
    again = idp(
        "clients",
        "create",
        "--name",
        "Json",
        "--redirect-uri",
        "https://b.example/cb",
        "--client-id",
        "json-portal",
    )
    assert again.returncode != 0 and "json-portal" in again.stderr
    assert_no_traceback(again)


def test_clients_delete_without_yes_asks_and_keeps_on_no(app, idp):
    client_id = field_of(
        idp("clients", "create", "--name", "Keep", "--redirect-uri", "https://k.example/cb").stdout,
        "client_id",
    )
    refused = idp("clients", "delete", client_id, input="n\n")
    assert refused.returncode != 0
    assert rows_in(app, Client) == 1


@pytest.mark.parametrize(
    "uri", ["http://evil.example/cb", "https://a.example/cb#frag", "https://*.example/cb"]
)
def test_clients_create_refuses_a_bad_redirect_uri(app, idp, uri):
    result = idp("clients", "create", "--name", "Evil", "--redirect-uri", uri)
    assert result.returncode != 0
    assert result.stdout == ""  # no client_id, no secret
    assert_no_traceback(result)
    clear = [line for line in error_lines(result.stderr) if uri in line]
    assert len(clear) == 1, result.stderr  # one line says what is wrong with which URI
    assert "https" in clear[0] or "fragment" in clear[0] or "wildcard" in clear[0]
    assert rows_in(app, Client) == 0


# --- users --------------------------------------------------------------------------------------
def new_citizen_args(**override) -> tuple[list[str], dict]:
    birth = dt.date(1987, 3, 21)
    person = {
        "citizen_id": cccd.synthetic(birth, "female", random.Random()),
        "name": "Đỗ Thị Lan Anh",
        "birth_date": birth.isoformat(),
        "gender": "female",
        "phone": f"091{random.randrange(10**7):07d}",  # 091: a Vinaphone prefix; not every 09x is in use
        "email": f"lan{random.randrange(10**9)}@example.com",
    }
    person.update(override)
    argv = ["users", "create"]
    for key, value in person.items():
        argv += ["--" + key.replace("_", "-"), value]
    return [*argv, "--password-stdin"], person


def test_users_create_from_stdin_then_login_over_http(app, client, idp, make_portal):
    argv, person = new_citizen_args()
    password = "mat khau rat dai cua lan anh"
    created = idp(*argv, input=password + "\n")
    assert created.returncode == 0, created.stderr
    assert person["citizen_id"] in created.stdout
    assert password not in created.stdout + created.stderr

    listed = idp("users", "list")
    assert listed.returncode == 0, listed.stderr
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    row = next(r for r in rows if r[0] == person["citizen_id"])
    assert row[1] == "active" and row[2] == person["name"] and row[4] == person["email"]

    portal = make_portal()
    params = authorize_params(portal)
    page = login(FlaskBrowser(client), params, person["citizen_id"], password)
    assert page.status == 302 and page.location.startswith(portal["redirect_uri"] + "?"), page.text[:500]
    assert "code" in query_of(page.location)

    wrong = login(
        FlaskBrowser(app.test_client()), authorize_params(portal), person["citizen_id"], password + "x"
    )
    assert wrong.status == 401


@pytest.mark.parametrize("citizen_id", ["123", "01909000123a", "999090001234"])
def test_users_create_refuses_a_bad_cccd_naming_the_field(app, idp, citizen_id):
    argv, _ = new_citizen_args(citizen_id=citizen_id)
    result = idp(*argv, input="mot mat khau du dai\n")
    assert result.returncode != 0
    assert re.search(r"citizen[_-]id|CCCD", result.stderr), result.stderr
    assert_no_traceback(result)
    assert rows_in(app, Citizen) == 0


def test_users_create_refuses_a_cccd_that_contradicts_birth_and_gender(app, idp):
    argv, _ = new_citizen_args(citizen_id=cccd.synthetic(dt.date(2001, 1, 1), "male"))
    result = idp(*argv, input="mot mat khau du dai\n")
    assert result.returncode != 0
    assert "citizen_id" in result.stderr
    assert_no_traceback(result)


@pytest.mark.parametrize(
    "field, value", [("email", "not-an-email"), ("phone", "12"), ("birth_date", "21/03/1987")]
)
def test_users_create_refuses_bad_fields_naming_them(app, idp, field, value):
    argv, _ = new_citizen_args(**{field: value})
    result = idp(*argv, input="mot mat khau du dai\n")
    assert result.returncode != 0
    assert field in result.stderr or field.replace("_", "-") in result.stderr, result.stderr
    assert_no_traceback(result)
    assert rows_in(app, Citizen) == 0


def test_users_create_refuses_a_short_password(app, idp):
    argv, _ = new_citizen_args()
    result = idp(*argv, input="short\n")
    assert result.returncode != 0 and "password" in result.stderr
    assert rows_in(app, Citizen) == 0


def test_users_create_refuses_a_duplicate(app, idp):
    argv, _person = new_citizen_args()
    assert idp(*argv, input="mot mat khau du dai\n").returncode == 0
    again = idp(*argv, input="mot mat khau du dai\n")
    assert again.returncode != 0
    assert_no_traceback(again)
    assert rows_in(app, Citizen) == 1


def test_demo_sets_up_a_citizen_and_a_portal_whose_secret_it_writes_to_a_private_file(
    idp, fresh_database_url, tmp_path
):
    env = {
        "IDP_DATABASE_URL": fresh_database_url,
        "IDP_INSTANCE_DIR": str(tmp_path),
        "IDP_KEYS_DIR": str(tmp_path / "keys"),
    }
    first = idp("demo", "--no-serve", env=env)
    assert first.returncode == 0, first.stderr
    credentials = tmp_path / "demo-portal-client.json"
    assert oct(credentials.stat().st_mode & 0o777) == "0o600"
    secret = json.loads(credentials.read_text())["client_secret"]

    again = idp("demo", "--no-serve", env=env)  # idempotent: same portal, same secret

    assert again.returncode == 0, again.stderr
    assert json.loads(credentials.read_text())["client_secret"] == secret
    assert "019090001234" in idp("users", "list", env=env).stdout
    assert "demo-portal" in idp("clients", "list", env=env).stdout


def test_rotate_secret_replaces_the_secret_at_once(idp, client, make_portal):
    portal = make_portal()
    result = idp("clients", "rotate-secret", portal["client_id"])
    assert result.returncode == 0, result.stderr
    new_secret = result.stdout.split("client_secret:")[1].split()[0]
    old = client.post("/introspect", data={"token": "x"}, auth=(portal["client_id"], portal["client_secret"]))
    new = client.post("/introspect", data={"token": "x"}, auth=(portal["client_id"], new_secret))
    assert old.status_code == 401 and new.status_code == 200


def test_locking_a_citizen_ends_their_tokens_and_logins(idp, client, make_citizen, make_portal):
    from tests.http.test_tokens import bearer, sign_in

    citizen, portal = make_citizen(), make_portal()
    issued = sign_in(client, citizen, portal)
    assert idp("users", "lock", citizen["phone"]).returncode == 0
    assert client.get("/userinfo", headers=bearer(issued["access_token"])).status_code == 401
    assert idp("users", "unlock", citizen["citizen_id"]).returncode == 0
    assert idp("users", "lock", "019195999999").returncode != 0  # no such citizen


def test_demo_refuses_to_run_against_a_real_issuer(idp):
    result = idp("demo", "--no-serve", env={"IDP_ISSUER": "https://id.thainguyen.gov.vn"})
    assert result.returncode != 0 and "loopback" in result.stderr


def test_users_show_tells_an_operator_who_it_is_and_never_the_password_hash(
    idp, client, make_citizen, make_portal
):
    from tests.http.test_tokens import sign_in

    citizen, portal = make_citizen(), make_portal(name="Cổng Bảo hiểm xã hội")
    sign_in(client, citizen, portal)

    shown = idp("users", "show", citizen["email"])

    assert shown.returncode == 0, shown.stderr
    body = json.loads(shown.stdout)
    assert body["citizen_id"] == citizen["citizen_id"] and body["live_sessions"] == 1
    assert body["shares_with"][0]["name"] == "Cổng Bảo hiểm xã hội"
    assert "argon2" not in shown.stdout and "password" not in shown.stdout


def test_an_operator_issues_a_registration_token_that_registers_one_portal(idp, client):
    result = idp("clients", "issue-registration-token", "--label", "Nhà cung cấp B", "--uses", "1")
    assert result.returncode == 0, result.stderr
    token = result.stdout.split("registration token:")[1].split()[0]
    body = {"client_name": "Cổng B", "redirect_uris": ["https://b.example/cb"], "scope": "openid profile"}

    first = client.post("/connect/register", json=body, headers={"Authorization": f"Bearer {token}"})
    second = client.post("/connect/register", json=body, headers={"Authorization": f"Bearer {token}"})

    assert first.status_code == 201 and second.status_code == 401
    assert idp("clients", "show", first.get_json()["client_id"]).returncode == 0


def test_a_registration_token_asking_for_an_unknown_scope_is_refused(idp):
    result = idp("clients", "issue-registration-token", "--label", "x", "--scope", "everything")

    assert result.returncode != 0 and "unknown scope" in result.stderr


def test_a_portal_registered_with_its_public_keys_authenticates_with_them(idp, client, tmp_path):
    from joserfc.jwk import ECKey

    from tests.http.test_client_assertions import assertion, token_with

    key = ECKey.generate_key("P-256", parameters={"kid": "cli-1"}, private=True)
    jwks = tmp_path / "portal-keys.json"
    jwks.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    result = idp("clients", "create", "--name", "Cổng khóa", "--grant-type", "client_credentials",
                 "--scope", "api:read", "--auth-method", "private_key_jwt", "--jwks-file", str(jwks),
                 "--json")
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)

    assert created["client_secret"] is None
    assert token_with(client, assertion(created["client_id"], key)).status_code == 200


def test_private_key_jwt_without_keys_is_refused_by_the_cli(idp):
    result = idp("clients", "create", "--name", "x", "--grant-type", "client_credentials",
                 "--auth-method", "private_key_jwt")

    assert result.returncode != 0 and "jwks" in result.stderr


def test_an_operator_registers_a_portal_for_encrypted_id_tokens(app, idp, tmp_path):
    from joserfc.jwk import RSAKey

    key = RSAKey.generate_key(2048, parameters={"use": "enc"}, private=True)
    keys = tmp_path / "enc.json"
    keys.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))

    result = idp("clients", "create", "--name", "Cổng y tế", "--redirect-uri", "https://yte.example/cb",
                 "--jwks-file", str(keys), "--encrypt-id-token", "RSA-OAEP-256", "--json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["id_token_encrypted_response_alg"] == "RSA-OAEP-256"
