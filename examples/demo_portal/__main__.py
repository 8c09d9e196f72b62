"""Serve the demo portal: ``python -m examples.demo_portal`` (run from the repo root)."""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

from examples.demo_portal import PortalNotRegisteredError, create_app, load_client_credentials

DEFAULT_PORT = 5001


def main() -> None:
    """Run Flask's threaded development server on 127.0.0.1."""
    app = create_app()
    portal_url = app.config["DEMO_PORTAL_URL"]
    port = _port_from(portal_url)

    # Tell a newcomer up front what the provider must have registered and
    # whether credentials were found, instead of failing at the first click.
    try:
        client_id, _ = load_client_credentials(app.config)
        credentials = f"client_id={client_id}"
    except PortalNotRegisteredError as exc:
        credentials = f"NOT FOUND yet ({exc}); they are re-read at each log-in"
    print(
        "Thai Nguyen ID demo portal\n"
        f"  portal:          {portal_url}  (listening on 127.0.0.1:{port})\n"
        f"  issuer:          {app.config['DEMO_ISSUER']}\n"
        f"  redirect URI:    {portal_url}/callback\n"
        f"  post-logout URI: {portal_url}/\n"
        f"  credentials:     {credentials}",
        file=sys.stderr,
    )
    # No reloader: it would restart the process with a fresh random session
    # key and log everyone out on every edit.
    app.run(host="127.0.0.1", port=port, threaded=True, use_reloader=False)


def _port_from(portal_url: str) -> int:
    # Follow DEMO_PORTAL_URL when it points at this machine, so the redirect
    # URI and the listening port cannot silently disagree.
    parts = urlsplit(portal_url)
    if parts.hostname in {"127.0.0.1", "localhost", "::1"} and parts.port:
        return parts.port
    return DEFAULT_PORT


if __name__ == "__main__":
    main()
