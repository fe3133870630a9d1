"""Cold starts: first byte from a cold tenant through the router, against the tenant's own start.

Usage: ``python bench/coldstart.py [--runs 10]``.  The tenant is the hello-world
backend, which prints the ready line.  Prints the median and p90 of the
tenant's own start-up time (spawn to ready line), of the first byte through
the router, the difference, and the p99 latency of a warm tenant that is
being requested while the others cold-start.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import threading
import time

from common import HELLO, RouterRun

PORT_BASE = 25100


def own_start(runs: int) -> list[float]:
    """Seconds from spawning the tenant to its ready line."""
    times = []
    for i in range(runs):
        env = {**os.environ, "PORT": str(PORT_BASE + 90 + i % 5)}
        t = time.perf_counter()
        proc = subprocess.Popen([sys.executable, HELLO], stdout=subprocess.PIPE, env=env)
        assert proc.stdout is not None
        proc.stdout.readline()
        times.append(time.perf_counter() - t)
        proc.kill()
        proc.wait()
    return times


def config(runs: int) -> str:
    tenants = "".join(
        f"    - path: /t{i}/\n      runtime: {sys.executable}\n      server: {HELLO}\n"
        for i in range(runs + 1)
    )
    return (
        "server:\n  listen: 0\n"
        f"applications:\n  pools:\n    start_port: {PORT_BASE}\n  tenants:\n{tenants}"
        "cable:\n  enabled: false\n"
    )


def first_byte(port: int, path: str) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    t = time.perf_counter()
    conn.request("GET", path)
    resp = conn.getresponse()
    resp.read(1)
    elapsed = time.perf_counter() - t
    assert resp.status == 200, resp.status
    conn.close()
    return elapsed


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    own = own_start(args.runs)
    router = RouterRun(config(args.runs))
    warm: list[float] = []
    done = threading.Event()

    def hammer() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", router.port, timeout=30)
        while not done.is_set():
            t = time.perf_counter()
            conn.request("GET", f"/t{args.runs}/x")
            conn.getresponse().read()
            warm.append(time.perf_counter() - t)

    try:
        first_byte(router.port, f"/t{args.runs}/x")  # the warm one
        thread = threading.Thread(target=hammer)
        thread.start()
        cold = [first_byte(router.port, f"/t{i}/x") for i in range(args.runs)]
        done.set()
        thread.join()
    finally:
        router.stop()
    ms = 1000
    own_ms, cold_ms = statistics.median(own) * ms, statistics.median(cold) * ms
    print(
        f"tenant's own start (spawn to ready line): median {own_ms:.0f} ms, "
        f"p90 {pct(own, 0.9) * ms:.0f} ms"
    )
    print(
        f"cold first byte through the router: median {cold_ms:.0f} ms, "
        f"p90 {pct(cold, 0.9) * ms:.0f} ms"
    )
    print(f"router's share (median difference): {cold_ms - own_ms:.0f} ms (target <= 100)")
    print(
        f"warm tenant while others cold-start: p50 {pct(warm, 0.5) * ms:.2f} ms, "
        f"p99 {pct(warm, 0.99) * ms:.2f} ms over {len(warm)} requests (target p99 <= 5)"
    )


if __name__ == "__main__":
    main()
