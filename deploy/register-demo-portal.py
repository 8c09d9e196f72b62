"""Register the demo portal with the provider, once, and hand its credentials to the portal.

Run by the `portal-register` job of compose.yaml, with the provider's settings in the environment
plus DEMO_PORTAL_URL (the portal's public URL) and DEMO_CLIENT_FILE (where the portal reads
{"client_id": ..., "client_secret": ...}; a volume shared with the portal, read-only there).

Idempotent: when the client `demo-portal` exists with the expected redirect URIs and scopes and the
credentials file names it, nothing changes. Otherwise the client is deleted and registered again
(a new secret) and the file rewritten atomically, mode 0600. Only the public `idp` command is used.
To force a new secret:
    docker compose run --rm portal-register python /app/deploy/register-demo-portal.py --force
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CLIENT_ID = "demo-portal"
NAME = "Cổng dịch vụ công (demo)"
# Everything examples/demo_portal asks for (its SCOPE), plus address.
SCOPES = ["openid", "profile", "email", "phone", "address", "offline_access"]


def idp(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["idp", *args], capture_output=True, text=True)  # noqa: S607 (PATH of the image)
    if check and result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise SystemExit(f"register-demo-portal: `idp {' '.join(args[:2])}` failed ({result.returncode})")
    return result


def registered_as_wanted(wanted: dict, target: Path) -> bool:
    shown = idp("clients", "show", CLIENT_ID, check=False)
    if shown.returncode != 0:
        return False
    current = json.loads(shown.stdout)
    if any(sorted(current.get(key) or []) != sorted(value) for key, value in wanted.items()):
        return False
    try:
        saved = json.loads(target.read_text())
    except (OSError, ValueError):
        return False
    return saved.get("client_id") == CLIENT_ID and bool(saved.get("client_secret"))


def main(argv: list[str]) -> int:
    portal = os.environ["DEMO_PORTAL_URL"].rstrip("/")
    target = Path(os.environ["DEMO_CLIENT_FILE"])
    wanted = {
        "redirect_uris": [f"{portal}/callback"],
        "post_logout_redirect_uris": [f"{portal}/"],
        "scopes": SCOPES,
    }
    if "--force" not in argv and registered_as_wanted(wanted, target):
        print(f"register-demo-portal: {CLIENT_ID} is registered for {portal}; nothing to do")
        return 0
    if idp("clients", "show", CLIENT_ID, check=False).returncode == 0:
        idp("clients", "delete", CLIENT_ID, "--yes")
    args = ["clients", "create", "--name", NAME, "--client-id", CLIENT_ID, "--json"]
    for uri in wanted["redirect_uris"]:
        args += ["--redirect-uri", uri]
    for uri in wanted["post_logout_redirect_uris"]:
        args += ["--post-logout-redirect-uri", uri]
    for scope in SCOPES:
        args += ["--scope", scope]
    created = json.loads(idp(*args).stdout)

    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".client-")
    with os.fdopen(fd, "w") as fh:  # mkstemp: mode 0600
        json.dump({"client_id": created["client_id"], "client_secret": created["client_secret"]}, fh)
    os.replace(tmp, target)
    print(f"register-demo-portal: registered {CLIENT_ID} for {portal}; credentials in {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
