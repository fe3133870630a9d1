"""The event app on the demo event: start-up, a judge's heat page, a score post, memory.

Usage: ``python bench/event.py [--requests 1000]``.  Prints the median and p90
of spawn-to-ready (5 starts), the heat page's render time and a score post's
commit time (p50/p90 over the requests), and the process's RSS afterwards.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

from common import pct, rss_mb

from showcase.event.db import create
from showcase.event.demo import populate_demo


def start(db: str) -> tuple[subprocess.Popen[bytes], int, float]:
    env = {**os.environ, "SHOWCASE_DB": db, "PORT": "0", "SHOWCASE_SCOPE": ""}
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "showcase.event"], stdout=subprocess.PIPE, env=env
    )
    assert proc.stdout is not None
    line = json.loads(proc.stdout.readline())
    return proc, int(line["port"]), time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="showcase-event-bench-")
    db = os.path.join(work, "demo.sqlite3")
    create(db, populate_demo)
    with sqlite3.connect(db) as sql:
        judge = sql.execute("SELECT id FROM people WHERE type = 'Judge' ORDER BY id").fetchone()[0]
        heats = sql.execute(
            "SELECT h.id, h.number FROM heats h WHERE h.number > 0 AND h.category != 'Solo'"
            " ORDER BY h.number LIMIT 50"
        ).fetchall()

    starts = []
    for _ in range(5):
        proc, port, took = start(db)
        starts.append(took)
        proc.terminate()
        proc.wait()

    proc, port, _ = start(db)
    conn = http.client.HTTPConnection("127.0.0.1", port)
    page, post = [], []
    try:
        for i in range(args.requests // 2):
            heat_id, number = heats[i % len(heats)]
            t = time.perf_counter()
            conn.request("GET", f"/scores/{judge}/heat/{int(number)}")
            resp = conn.getresponse()
            resp.read()
            page.append(time.perf_counter() - t)
            assert resp.status == 200, resp.status
            body = json.dumps({"heat": heat_id, "score": "GH" if i % 2 else "G"})
            t = time.perf_counter()
            conn.request(
                "POST", f"/scores/{judge}/post", body, {"Content-Type": "application/json"}
            )
            resp = conn.getresponse()
            resp.read()
            post.append(time.perf_counter() - t)
        rss = rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait()
    ms = 1000
    print(
        f"spawn to ready line: median {statistics.median(starts) * ms:.0f} ms, "
        f"p90 {pct(starts, 0.9) * ms:.0f} ms (target <= 300)"
    )
    print(
        f"judge's heat page: p50 {pct(page, 0.5) * ms:.1f} ms, p90 {pct(page, 0.9) * ms:.1f} ms "
        "(target p50 <= 30)"
    )
    print(
        f"score post: p50 {pct(post, 0.5) * ms:.1f} ms, p90 {pct(post, 0.9) * ms:.1f} ms "
        "(target p50 <= 10)"
    )
    print(f"RSS after {args.requests} requests: {rss:.1f} MB (target <= 40)")


if __name__ == "__main__":
    main()
