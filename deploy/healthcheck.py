"""Container health checks, with nothing but the Python standard library (the image has no curl).

    healthcheck.py URL            healthy when URL answers 2xx within 4 s (e.g. /readyz: 503 = not ready)
    healthcheck.py --until FILE   healthy while the deadline (Unix time) written in FILE is ahead;
                                  deploy/key-rotation.sh writes it after every successful pass
"""

from __future__ import annotations

import sys
import time
import urllib.request


def check_url(url: str) -> int:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    try:
        with opener.open(url, timeout=4) as response:
            return 0 if 200 <= response.status < 300 else 1
    except Exception as exc:  # HTTPError (4xx/5xx), refused, timeout: all mean unhealthy
        print(f"{url}: {exc}")
        return 1


def check_deadline(path: str) -> int:
    try:
        with open(path) as fh:
            deadline = float(fh.read().split()[0])
    except (OSError, ValueError, IndexError) as exc:
        print(f"{path}: no deadline yet ({exc.__class__.__name__})")
        return 1
    if time.time() > deadline:
        print(f"{path}: the last successful pass is overdue")
        return 1
    return 0


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--until":
        return check_deadline(argv[1])
    if len(argv) == 1 and argv[0].startswith("http"):
        return check_url(argv[0])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
