"""Cold starts: first byte from a cold tenant through the router, plain and preloaded.

Usage: ``python bench/coldstart.py [--runs 20] [--hello-runs 10]``.

Part 1, the hello-world backend (prints the ready line): the median and p90
of the tenant's own start-up time (spawn to ready line), of the first byte
through the router, the difference, and the p99 latency of a warm tenant that
is requested while the others cold-start.

Part 2, the event app (``python -m showcase.event``), once with
``applications.preload: true`` (forked from the preloaded spawner) and once
with ``false`` (a new interpreter each): the median and p90 of the first byte
of the home page of ``--runs`` cold events, one after another, each with its
own database (a new event's, created beforehand); the unique memory (USS:
``Private_Clean + Private_Dirty`` of ``/proc/PID/smaps_rollup``) of the first
10 event children while all are running, each having served its home page; and
the p50/p99 latency of a warm hello tenant requested in a loop meanwhile.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import NamedTuple

from common import HELLO, RouterRun, pct, wait_for

PORT_BASE = 25100
EVENT_PORT_BASE = 25300
MS = 1000


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
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    t = time.perf_counter()
    conn.request("GET", path)
    resp = conn.getresponse()
    resp.read(1)
    elapsed = time.perf_counter() - t
    assert resp.status == 200, resp.status
    resp.read()
    conn.close()
    return elapsed


class Hammer:
    """Requests ``path`` in a loop on one connection, keeping each latency, until stopped.

    It runs in a process of its own, so its latencies do not include waiting
    for this process's GIL while the main thread handles a cold start.
    """

    def __init__(self, port: int, path: str) -> None:
        self.port, self.path = port, path
        self.latencies: list[float] = []
        context = multiprocessing.get_context("fork")
        self._done = context.Event()
        self._results, sender = context.Pipe(duplex=False)
        self._process = context.Process(target=self._run, args=(sender,))

    def _run(self, results: Connection) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        latencies = []
        while not self._done.is_set():
            t = time.perf_counter()
            conn.request("GET", self.path)
            conn.getresponse().read()
            latencies.append(time.perf_counter() - t)
        results.send(latencies)

    def __enter__(self) -> Hammer:
        self._process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self.latencies = self._results.recv()
        self._process.join()


def hello_part(runs: int) -> None:
    own = own_start(runs)
    router = RouterRun(config(runs))
    try:
        first_byte(router.port, f"/t{runs}/x")  # the warm one
        with Hammer(router.port, f"/t{runs}/x") as hammer:
            cold = [first_byte(router.port, f"/t{i}/x") for i in range(runs)]
    finally:
        router.stop()
    warm = hammer.latencies
    own_ms, cold_ms = statistics.median(own) * MS, statistics.median(cold) * MS
    print(
        f"tenant's own start (spawn to ready line): median {own_ms:.0f} ms, "
        f"p90 {pct(own, 0.9) * MS:.0f} ms"
    )
    print(
        f"cold first byte through the router: median {cold_ms:.0f} ms, "
        f"p90 {pct(cold, 0.9) * MS:.0f} ms"
    )
    print(f"router's share (median difference): {cold_ms - own_ms:.0f} ms (target <= 100)")
    print(
        f"warm tenant while others cold-start: p50 {pct(warm, 0.5) * MS:.2f} ms, "
        f"p99 {pct(warm, 0.99) * MS:.2f} ms over {len(warm)} requests (target p99 <= 5)"
    )


# -- the event app, preloaded or not ---------------------------------------------------------


def uss_mb(pid: int) -> float:
    """Unique memory of ``pid``: its private pages, clean and dirty."""
    total = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                total += int(line.split()[1])
    return total / 1024


def make_events(work: Path, runs: int) -> None:
    from showcase.event.db import create
    from showcase.event.defaults import populate_new_event

    for i in range(runs):
        create(str(work / f"e{i}.sqlite3"), partial(populate_new_event, name=f"e{i}"))


def event_config(work: Path, runs: int, preload: bool) -> str:
    events = "".join(
        f"    - path: /e{i}/\n"
        f"      env: {{SHOWCASE_DB: '{work / f'e{i}.sqlite3'}', SHOWCASE_SCOPE: 'e{i}'}}\n"
        for i in range(runs)
    )
    warm = f"    - path: /warm/\n      runtime: {sys.executable}\n      server: {HELLO}\n"
    return (
        "server:\n  listen: 0\n"
        f"applications:\n  preload: {'true' if preload else 'false'}\n"
        f"  startup_timeout: 60s\n  pools:\n    start_port: {EVENT_PORT_BASE}\n"
        f"  tenants:\n{events}{warm}"
        "cable:\n  enabled: false\n"
    )


class EventRun(NamedTuple):
    cold: list[float]  # seconds to the first byte
    uss: list[float]  # MB, of 10 running children
    warm: list[float]  # seconds, a warm tenant's requests meanwhile
    spawner_uss: float | None


def event_run(work: Path, runs: int, preload: bool) -> EventRun:
    router = RouterRun(event_config(work, runs, preload))
    try:
        spawner = None
        if preload:
            found = wait_for(lambda: re.search(r"spawner ready: pid (\d+)", router.log.read_text()))
            spawner = int(found.group(1))
        first_byte(router.port, "/warm/x")
        with Hammer(router.port, "/warm/x") as hammer:
            cold = [first_byte(router.port, f"/e{i}/") for i in range(runs)]
        log = router.log.read_text()
        pids = [
            int(m.group(1))
            for i in range(min(10, runs))
            if (m := re.search(rf"tenant e{i} started: pid (\d+)", log))
        ]
        uss = [uss_mb(pid) for pid in pids]
        spawner_uss = uss_mb(spawner) if spawner is not None else None
    finally:
        router.stop()
    return EventRun(cold, uss, hammer.latencies, spawner_uss)


def event_part(runs: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="showcase-coldstart-"))
    try:
        make_events(work, runs)
        results = {preload: event_run(work, runs, preload) for preload in (True, False)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ways = {True: "preload on ", False: "preload off"}
    for preload, run in results.items():
        target = " (target median <= 50)" if preload else " (Navigator + its tenant: >= 505)"
        print(
            f"event cold first byte through the router, {ways[preload]}: "
            f"median {statistics.median(run.cold) * MS:.0f} ms, "
            f"p90 {pct(run.cold, 0.9) * MS:.0f} ms of {len(run.cold)}{target}"
        )
    for preload, run in results.items():
        spawner = run.spawner_uss
        extra = f"; the spawner {spawner:.1f} MB" if spawner is not None else ""
        print(
            f"USS per running event child, {ways[preload]}: "
            f"median {statistics.median(run.uss):.1f} MB, p90 {pct(run.uss, 0.9):.1f} MB "
            f"of {len(run.uss)} (target <= 12){extra}"
        )
    for preload, run in results.items():
        print(
            f"warm tenant while events cold-start, {ways[preload]}: "
            f"p50 {pct(run.warm, 0.5) * MS:.2f} ms, p99 {pct(run.warm, 0.99) * MS:.2f} ms "
            f"over {len(run.warm)} requests (target p99 <= 5)"
        )
    if sys.flags.dont_write_bytecode:
        print("note: PYTHONDONTWRITEBYTECODE is set; uncompiled modules slow the direct starts")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20, help="cold event starts per way")
    parser.add_argument("--hello-runs", type=int, default=10, help="cold hello starts (0: skip)")
    args = parser.parse_args()
    if args.hello_runs:
        hello_part(args.hello_runs)
    event_part(args.runs)


if __name__ == "__main__":
    main()
