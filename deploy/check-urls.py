"""Refuse to deploy when the public URLs and nginx's host names or port disagree.

The issuer and the portal URL (TNID_ISSUER, TNID_PORTAL_URL) are what browsers and portals use;
nginx answers for TNID_IDP_HOST and TNID_PORTAL_HOST on TNID_HTTPS_PORT, and the portal reaches
the provider through nginx under the same name. A mismatch would show up only at the first login,
as "provider unreachable"; the migrate job runs this first so that it shows up at deploy time.
"""

from __future__ import annotations

import os
import sys
from urllib.parse import urlsplit


def problems() -> list[str]:
    port = int(os.environ["TNID_HTTPS_PORT"])
    found = []
    for url_var, host_var in (("TNID_ISSUER", "TNID_IDP_HOST"), ("TNID_PORTAL_URL", "TNID_PORTAL_HOST")):
        url, host = os.environ[url_var], os.environ[host_var]
        parts = urlsplit(url)
        if parts.scheme != "https":
            found.append(f"{url_var}={url!r}: expected an https URL (nginx terminates TLS)")
            continue
        if parts.hostname != host.lower():
            found.append(f"{url_var}={url!r}: its host is not {host_var}={host!r}")
        if (parts.port or 443) != port:
            found.append(f"{url_var}={url!r}: its port is not TNID_HTTPS_PORT={port}")
    return found


if __name__ == "__main__":
    errors = problems()
    for error in errors:
        print(f"check-urls: {error}", file=sys.stderr)
    sys.exit(1 if errors else 0)
