"""Every example in docs/integrating-a-portal.md, run as written against the real server: the
Python blocks with the Python of this suite, the curl blocks with bash and curl, the JavaScript
block with node and openid-client (installed from npm for the run; skipped with the reason if node
or npm is missing)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from joserfc.jwk import RSAKey

from idp.extensions import db
from idp.oauth import registration
from tests.http.test_logout_across_portals import PortalServer
from tests.http.test_tokens import service_portal
from tests.support import login, query_of

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "integrating-a-portal.md"
BLOCK = re.compile(r"```(python|bash|javascript)\n(?:#|//) example: ([a-z0-9-]+)\n(.*?)```", re.S)
CALLBACK = "https://portal.example/guide/callback"
OPENID_CLIENT = "openid-client@6.9.0"


def examples() -> dict[str, str]:
    return {name: body for _lang, name, body in BLOCK.findall(GUIDE.read_text(encoding="utf-8"))}


def env_for(live_server, portal: dict, **extra) -> dict[str, str]:
    return {**os.environ, "TNID_ISSUER": live_server.issuer, "TNID_CLIENT_ID": portal["client_id"],
            "TNID_CLIENT_SECRET": portal.get("client_secret") or "", "TNID_REDIRECT_URI": CALLBACK, **extra}


def run_bash(name: str, env: dict) -> str:
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", examples()[name]], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def load_python(name: str, tmp_path: Path, monkeypatch, env: dict):
    for key, value in env.items():
        if key.startswith("TNID_"):
            monkeypatch.setenv(key, value)
    path = tmp_path / f"{name.replace('-', '_')}.py"
    path.write_text(examples()[name], encoding="utf-8")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def browser_login(browser, url: str, citizen: dict) -> str:
    """The citizen's part: from the authorization URL to the URL the browser comes back to."""
    page = login(browser, query_of(url), citizen["citizen_id"], citizen["password"], portal_prefix=CALLBACK)
    assert page.status == 302 and page.location.startswith(CALLBACK), page.text[:300]
    return page.location


def test_the_guide_has_every_example_this_suite_runs():
    assert set(examples()) == {"curl-register", "python-login", "js-login", "curl-client-credentials",
                               "python-private-key-jwt", "curl-par", "js-fapi2", "curl-device",
                               "python-backchannel-logout"}


def test_python_login(live_server, browser, make_citizen, make_portal, tmp_path, monkeypatch):
    portal, citizen = make_portal(redirect_uris=[CALLBACK]), make_citizen()
    guide = load_python("python-login", tmp_path, monkeypatch, env_for(live_server, portal))
    saved: dict = {}

    callback = browser_login(browser, guide.start_login(saved), citizen)
    result = guide.finish_login(saved, callback)

    assert result["claims"]["aud"] == portal["client_id"] and result["userinfo"]["name"]


def test_python_login_as_a_public_app_with_pkce_only(
    live_server, browser, make_citizen, make_portal, tmp_path, monkeypatch
):
    portal = make_portal(redirect_uris=[CALLBACK], public=True, grant_types=["authorization_code"])
    guide = load_python("python-login", tmp_path, monkeypatch, env_for(live_server, portal))
    saved: dict = {}

    result = guide.finish_login(saved, browser_login(browser, guide.start_login(saved), make_citizen()))

    assert portal["client_secret"] is None and result["claims"]["aud"] == portal["client_id"]


def test_curl_device(live_server, browser, make_citizen, make_portal):
    from tests.support import hidden_fields

    kiosk = make_portal(public=True, redirect_uris=[], post_logout_redirect_uris=[],
                        grant_types=["urn:ietf:params:oauth:grant-type:device_code"])
    citizen = make_citizen()
    shell = subprocess.Popen(["bash", "-euo", "pipefail", "-c", examples()["curl-device"]],
                             env=env_for(live_server, kiosk), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        user_code, link = shell.stderr.readline().split()
        assert link.endswith(user_code)
        page = browser.get(link)  # the citizen's phone, from the kiosk's QR code: log in first
        login_page = browser.get(page.location)
        page = browser.post("/login", {**hidden_fields(login_page.text), "identifier": citizen["citizen_id"],
                                       "password": citizen["password"]})
        confirm = browser.get(page.location)
        browser.post("/device", {**hidden_fields(confirm.text), "decision": "allow"})
        out, err = shell.communicate(timeout=60)
    finally:
        shell.kill()

    assert json.loads(out)["id_token"], err


@pytest.fixture(scope="session")
def openid_client(tmp_path_factory) -> Path:
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("node and npm are needed for the JavaScript example: apt-get install nodejs npm")
    folder = tmp_path_factory.mktemp("js-example")
    (folder / "package.json").write_text(json.dumps({"type": "module", "private": True}))
    result = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent", OPENID_CLIENT],
                            cwd=folder, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        pytest.skip(f"npm could not install {OPENID_CLIENT}: {result.stderr[-300:]}")
    return folder


def test_javascript_login_with_openid_client(live_server, browser, make_citizen, make_portal, openid_client,
                                             tmp_path):
    portal, citizen = make_portal(redirect_uris=[CALLBACK]), make_citizen()
    script = openid_client / "login.mjs"
    script.write_text(examples()["js-login"], encoding="utf-8")
    env = env_for(live_server, portal, TNID_STATE_FILE=str(tmp_path / "state.json"))

    def node(*args: str) -> str:
        result = subprocess.run(["node", str(script), *args], cwd=openid_client, env=env, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    callback = browser_login(browser, node("start"), citizen)
    answer = json.loads(node("finish", callback))

    assert answer["sub"] and answer["name"] == citizen["full_name"]


def test_javascript_fapi2_with_par_private_key_jwt_and_dpop(live_server, browser, make_citizen, make_portal,
                                                            openid_client, tmp_path):
    from joserfc.jwk import ECKey

    key = ECKey.generate_key("P-256", parameters={"kid": "portal-fapi-1"}, private=True)
    portal = make_portal(redirect_uris=[CALLBACK], fapi2=True, token_endpoint_auth_method="private_key_jwt",
                         jwks={"keys": [key.as_dict(private=False)]})
    citizen = make_citizen()
    script = openid_client / "fapi.mjs"
    script.write_text(examples()["js-fapi2"], encoding="utf-8")
    env = env_for(live_server, portal, TNID_STATE_FILE=str(tmp_path / "fapi.json"),
                  TNID_PRIVATE_JWK=json.dumps({**key.as_dict(private=True), "kid": "portal-fapi-1"}))

    def node(*args: str) -> str:
        result = subprocess.run(["node", str(script), *args], cwd=openid_client, env=env, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    url = node("start")
    assert "request_uri=urn" in url and "scope" not in url  # only the PAR reference in the browser
    answer = json.loads(node("finish", browser_login(browser, url, citizen)))

    assert answer["token_type"].lower() == "dpop" and answer["name"] == citizen["full_name"]


def test_curl_register(app, live_server):
    with app.app_context():
        initial = registration.issue_initial_token("guide", 1, 600, ["openid", "profile", "email",
                                                                       "offline_access"])
        db.session.commit()
    env = {**os.environ, "TNID_ISSUER": live_server.issuer, "TNID_INITIAL_ACCESS_TOKEN": initial}

    answer = json.loads(run_bash("curl-register", env))

    assert answer["client_id"] and answer["client_secret"] and answer["registration_access_token"]


def test_curl_client_credentials(live_server, make_portal):
    portal = service_portal(make_portal)

    introspection = json.loads(run_bash("curl-client-credentials", env_for(live_server, portal)))

    assert introspection["active"] is True and introspection["client_id"] == portal["client_id"]


def test_python_private_key_jwt(live_server, make_portal, tmp_path):
    key = RSAKey.generate_key(2048, private=True)
    portal = service_portal(make_portal, token_endpoint_auth_method="private_key_jwt",
                            jwks={"keys": [key.as_dict(private=False)]})
    script = tmp_path / "guide_private_key_jwt.py"
    script.write_text(examples()["python-private-key-jwt"], encoding="utf-8")
    env = env_for(live_server, portal, TNID_PRIVATE_KEY_PEM=key.as_pem(private=True).decode())

    result = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                            timeout=60)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "tnid_at_"


def test_curl_par(live_server, browser, make_citizen, make_portal):
    portal, citizen = make_portal(redirect_uris=[CALLBACK]), make_citizen()

    url = run_bash("curl-par", env_for(live_server, portal)).strip()
    callback = browser_login(browser, url, citizen)

    assert query_of(callback)["state"] == "abc" and query_of(callback)["code"]


def test_python_backchannel_logout(live_server, browser, make_citizen, make_portal, tmp_path, monkeypatch):
    server = PortalServer()
    try:
        portal = make_portal(redirect_uris=[CALLBACK], backchannel_logout_uri=server.uri)
        citizen = make_citizen()
        sign_in = load_python("python-login", tmp_path, monkeypatch, env_for(live_server, portal))
        saved: dict = {}
        result = sign_in.finish_login(saved, browser_login(browser, sign_in.start_login(saved), citizen))
        guide = load_python("python-backchannel-logout", tmp_path, monkeypatch, env_for(live_server, portal))

        browser.session.get(live_server.discovery()["end_session_endpoint"], timeout=10,
                            params={"id_token_hint": result["token"]["id_token"]}, allow_redirects=False)
        received = server.wait_for(1)

        assert guide.check_logout_token(received[0]) == result["claims"]["sid"]
    finally:
        server.close()
