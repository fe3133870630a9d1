"""Operations figures: config generation, daily snapshots, a consistent copy.

Builds a site in a temporary directory (an index with 60 events in 12 locations,
12 event databases, two of them the full demo), then times the real commands:
``showcase config generate`` (a fresh process, as the admin app's hook runs it),
``showcase snapshot`` on a first day (every database copied) and the next day
(every unchanged database hard-linked), and one consistent copy of the demo.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from showcase.event.db import create
from showcase.event.defaults import populate_new_event
from showcase.event.demo import populate_demo
from showcase.index.db import SCHEMA
from showcase.ops.sqlite_copy import consistent_copy

NOW = "2026-01-01 00:00:00"


def build_index(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(Path(SCHEMA).read_text())
    for loc in range(12):
        conn.execute(
            "INSERT INTO locations (id, key, name, region, created_at, updated_at)"
            " VALUES (?, ?, ?, 'iad', ?, ?)",
            (loc + 1, f"city{loc}", f"City {loc}", NOW, NOW),
        )
        for event in range(5):
            conn.execute(
                "INSERT INTO showcases (year, key, name, location_id, created_at, updated_at)"
                " VALUES (2026, ?, ?, ?, ?, ?)",
                (f"e{event}", f"Event {event}", loc + 1, NOW, NOW),
            )
    conn.commit()
    conn.close()


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    showcase = [sys.executable, "-m", "showcase.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp)
        db = site / "db"
        db.mkdir()
        build_index(db / "index.sqlite3")
        for n in range(12):
            populate = populate_demo if n < 2 else lambda conn: populate_new_event(conn, "Event")
            create(str(db / f"2026-city{n}-e0.sqlite3"), populate)
        size = sum(p.stat().st_size for p in db.glob("*.sqlite3")) / 2**20

        generate = [*showcase, "config", "generate", "--db-dir", str(db), "--out"]
        print(f"config generate, 60 events: {timed([*generate, str(site / 'config')]):.2f} s")
        snapshot = [*showcase, "snapshot", "--db-dir", str(db), "--date"]
        first = timed([*snapshot, "2026-01-01"])
        second = timed([*snapshot, "2026-01-02"])
        print(f"snapshot of 13 databases ({size:.1f} MB): first day {first:.2f} s (copied),")
        print(f"  next day {second:.2f} s (unchanged, hard-linked)")
        start = time.perf_counter()
        consistent_copy(str(db / "2026-city0-e0.sqlite3"), str(site / "copy.sqlite3"))
        print(f"consistent copy of the demo database: {time.perf_counter() - start:.3f} s")


if __name__ == "__main__":
    main()
