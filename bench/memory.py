"""Router memory: RSS with N configured tenants, none running.

Usage: ``python bench/memory.py [--tenants 300]``.  Prints the router's RSS
right after start and after 1,000 requests that are answered without a
tenant (redirects and 404s), so nothing is spawned.
"""

from __future__ import annotations

import argparse
import http.client
import sys

from common import HELLO, RouterRun, rss_mb


def config(tenants: int) -> str:
    entries = "".join(
        f"    - path: /showcase/2026/city{i}/\n"
        f"      runtime: {sys.executable}\n      server: {HELLO}\n"
        f"      var: {{database: 2026-city{i}}}\n"
        f"      env: {{SHOWCASE_DB: 'db/2026-city{i}.sqlite3', SHOWCASE_SCOPE: '2026/city{i}'}}\n"
        for i in range(tenants)
    )
    return (
        "server:\n  listen: 0\n  root_path: /showcase\n"
        f"applications:\n  tenants:\n{entries}"
        "cable:\n  enabled: false\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenants", type=int, default=300)
    args = parser.parse_args()
    router = RouterRun(config(args.tenants))
    try:
        at_start = rss_mb(router.proc.pid)
        conn = http.client.HTTPConnection("127.0.0.1", router.port)
        for i in range(1000):
            conn.request("GET", f"/showcase/2026/city{i % args.tenants}")  # a redirect
            conn.getresponse().read()
        after = rss_mb(router.proc.pid)
    finally:
        router.stop()
    print(
        f"router RSS with {args.tenants} configured tenants, none running: {at_start:.1f} MB "
        f"at start, {after:.1f} MB after 1000 requests (target <= 60 MB)"
    )


if __name__ == "__main__":
    main()
