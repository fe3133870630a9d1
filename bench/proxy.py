"""Proxy speed: the same hello-world tenant directly, through the router, through nginx.

Usage: ``python bench/proxy.py [--seconds 5]`` (needs ``wrk``; nginx is used when installed).
Prints req/s and p50/p99 at 1 and 32 connections, the router's CPU per proxied
request, the added p50 latency, a static 10 KB file's req/s, and the ratios.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from common import HELLO, RouterRun, cpu_seconds, wrk

TENANT_PORT = 24999


def router_config(public: Path) -> str:
    return f"""
server:
  listen: 0
  static:
    public_dir: {public}
applications:
  pools:
    start_port: {TENANT_PORT}
  tenants:
    - path: /hello/
      runtime: {sys.executable}
      server: {HELLO}
cable:
  enabled: false
"""


NGINX_CONF = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  upstream tenant {{ server 127.0.0.1:{port}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{listen};
    location / {{
      proxy_pass http://tenant;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }}
  }}
}}
"""


def nginx_run(seconds: int) -> dict[str, dict[str, float]] | None:
    nginx = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None
    )
    if nginx is None:
        return None
    work = Path(tempfile.mkdtemp(prefix="showcase-nginx-"))
    listen = 24998
    (work / "nginx.conf").write_text(NGINX_CONF.format(dir=work, port=TENANT_PORT, listen=listen))
    proc = subprocess.Popen([nginx, "-c", str(work / "nginx.conf"), "-g", "daemon off;"])
    try:
        url = f"http://127.0.0.1:{listen}/hello/x"
        for _ in range(200):
            try:
                urllib.request.urlopen(url, timeout=1).read()
                break
            except OSError:
                subprocess.run(["sleep", "0.02"], check=False)
        return {"c1": wrk(url, 1, seconds), "c32": wrk(url, 32, seconds)}
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    public = Path(tempfile.mkdtemp(prefix="showcase-public-"))
    (public / "ten.css").write_bytes(b"x" * 10240)
    router = RouterRun(router_config(public))
    try:
        through = f"http://127.0.0.1:{router.port}/hello/x"
        urllib.request.urlopen(through).read()  # cold start the tenant
        direct = f"http://127.0.0.1:{TENANT_PORT}/hello/x"
        results = {
            "direct": {"c1": wrk(direct, 1, args.seconds), "c32": wrk(direct, 32, args.seconds)}
        }
        c1 = wrk(through, 1, args.seconds)
        before = cpu_seconds(router.proc.pid)
        c32 = wrk(through, 32, args.seconds)
        cpu_us = (cpu_seconds(router.proc.pid) - before) / c32["total"] * 1e6
        results["router"] = {"c1": c1, "c32": c32}
        static = wrk(f"http://127.0.0.1:{router.port}/ten.css", 32, args.seconds)
        nginx = nginx_run(args.seconds)
        if nginx is not None:
            results["nginx"] = nginx
    finally:
        router.stop()
        shutil.rmtree(public, ignore_errors=True)

    columns = ("c1 req/s", "c1 p50", "c1 p99", "c32 req/s", "c32 p50", "c32 p99", "share")
    print(f"{'path':8} " + " ".join(f"{c:>9}" for c in columns))
    base = results["direct"]["c32"]["rps"]
    for name, r in results.items():
        print(
            f"{name:8} {r['c1']['rps']:9.0f} {r['c1']['p50']:7.3f}ms {r['c1']['p99']:7.3f}ms "
            f"{r['c32']['rps']:10.0f} {r['c32']['p50']:7.3f}ms {r['c32']['p99']:7.3f}ms "
            f"{r['c32']['rps'] / base * 100:5.1f}%"
        )
    added = results["router"]["c1"]["p50"] - results["direct"]["c1"]["p50"]
    print(f"router CPU per proxied request (c32): {cpu_us:.0f} us (target <= 200)")
    print(f"added p50 latency at 1 connection: {added:.3f} ms (target <= 0.3)")
    share = c32["rps"] / base * 100
    print(f"through-router share of direct at 32 connections: {share:.1f}% (target >= 45%)")
    print(f"static 10 KB file, 32 connections: {static['rps']:.0f} req/s (target >= 6000)")


if __name__ == "__main__":
    main()
