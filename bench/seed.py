"""Seed a benchmark instance through the project's Python API (the same calls as `idp clients
create` and `idp users create`), in its own process, with the IDP_* environment of the server.

    IDP_... python bench/seed.py [--citizens 16] [--redirect-uri URI ...]   # prints JSON

Clients: bench-cc (client_credentials, scope api:read) and bench-web (confidential, authorization
code + refresh, scopes openid profile email offline_access). Citizens: synthetic CCCD numbers,
all with the same password, hashed with the configured IDP_ARGON2_* parameters.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

PASSWORD = "bench-password-2026"
WEB_REDIRECT = "https://bench.example/cb"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--citizens", type=int, default=16)
    ap.add_argument("--redirect-uri", action="append", default=[])
    ap.add_argument("--no-cc", action="store_true")
    args = ap.parse_args()

    from idp import create_app
    from idp.extensions import db
    from idp.identity import cccd, citizens
    from idp.oauth import clients
    from idp.services import services

    app = create_app()
    out = {"password": PASSWORD, "citizens": []}
    with app.app_context():
        if not args.no_cc:
            cc, cc_secret = clients.register(
                clients.ClientSpec(
                    name="Bench API client",
                    redirect_uris=[],
                    scopes=["api:read"],
                    grant_types=["client_credentials"],
                    client_id="bench-cc",
                )
            )
            out["cc"] = {"client_id": cc.client_id, "client_secret": cc_secret, "scope": "api:read"}
        web, web_secret = clients.register(
            clients.ClientSpec(
                name="Bench web portal",
                redirect_uris=[WEB_REDIRECT, *args.redirect_uri],
                scopes=["openid", "profile", "email", "offline_access"],
                grant_types=["authorization_code", "refresh_token"],
                client_id="bench-web",
            )
        )
        out["web"] = {
            "client_id": web.client_id,
            "client_secret": web_secret,
            "redirect_uri": WEB_REDIRECT,
            "redirect_uris": [WEB_REDIRECT, *args.redirect_uri],
        }
        birth = dt.date(1990, 5, 15)
        for i in range(args.citizens):
            number = f"{cccd.THAI_NGUYEN}{cccd.century_gender_digit(birth, 'male')}90{100000 + i:06d}"
            citizens.create(
                citizens.NewCitizen(
                    citizen_id=number,
                    full_name=f"Nguyễn Văn Bench {i}",
                    birth_date=birth,
                    gender="male",
                    password=PASSWORD,
                    email=f"bench{i}@example.com",
                    email_verified=True,
                ),
                services().passwords,
            )
            out["citizens"].append(number)
        db.session.commit()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
