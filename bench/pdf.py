"""Printed outputs: building the print data and rendering the PDFs, on the demo and on a
synthetic 300-heat event.

Usage: ``python bench/pdf.py [--repeat 3]``.  Prints the import time of
``showcase.printing`` and of reportlab (each in a fresh interpreter), then per event the
median time to build the print data (target <= 200 ms) and to render each PDF (heat book
target <= 2 s), with page counts.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from showcase.event.db import EventDB, create, insert_row
from showcase.event.defaults import populate_new_event
from showcase.event.demo import populate_demo
from showcase.event.print_data import print_data
from showcase.printing import render_path

HEATS, COUPLES, JUDGES = 300, 6, 3


def import_ms(statement: str) -> float:
    """Milliseconds ``statement`` takes in a fresh interpreter (best of three)."""
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    runs = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout)
        for _ in range(3)
    ]
    return min(runs) * 1000


def timed(repeat: int, work: Callable[[], Any]) -> tuple[float, float, Any]:
    """Median wall and CPU seconds of ``repeat`` runs of ``work``, and its last result.

    CPU time is this process's own: on a busy machine it is what the wall time would be
    on an idle one (the work is single-threaded).
    """
    wall, cpu, result = [], [], None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        result = work()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu), result


def populate_synthetic(conn: sqlite3.Connection) -> None:
    """A new event with 300 closed/open heats of six couples each (every student with a
    professional), the first half scored by three judges."""
    rng = random.Random(300)
    populate_new_event(conn, "Synthetic Showcase", "2026-06-01", "Bench Hall")
    levels = [r[0] for r in conn.execute("SELECT id FROM levels")]
    ages = [r[0] for r in conn.execute("SELECT id FROM ages")]
    dances = [r[0] for r in conn.execute('SELECT id FROM dances WHERE "order" > 0 LIMIT 12')]
    pros, students = [], []
    for s in range(6):
        studio = insert_row(conn, "studios", name=f"Studio {s + 1}")
        for p in range(6):
            pros.append(
                insert_row(
                    conn,
                    "people",
                    name=f"Pro{s}{p}, Pat",
                    type="Professional",
                    role="Leader",
                    studio_id=studio,
                    back=100 + s * 6 + p,
                )
            )
        for p in range(20):
            students.append(
                insert_row(
                    conn,
                    "people",
                    name=f"Student{s}{p}, Sam",
                    type="Student",
                    role="Follower",
                    studio_id=studio,
                    back=300 + s * 20 + p,
                    level_id=rng.choice(levels),
                    age_id=rng.choice(ages),
                )
            )
    judges = [
        insert_row(conn, "people", name=f"Judge{j}, Jo", type="Judge", studio_id=0)
        for j in range(JUDGES)
    ]
    for judge in judges:
        insert_row(conn, "judges", person_id=judge)
    entries = [
        insert_row(
            conn,
            "entries",
            lead_id=pros[i % len(pros)],
            follow_id=student,
            level_id=rng.choice(levels),
            age_id=rng.choice(ages),
        )
        for i, student in enumerate(students)
    ]
    for number in range(1, HEATS + 1):
        kind = "Open" if number % 3 == 0 else "Closed"
        dance = dances[number % len(dances)]
        for entry in rng.sample(entries, COUPLES):
            heat = insert_row(
                conn,
                "heats",
                number=float(number),
                category=kind,
                dance_id=dance,
                entry_id=entry,
            )
            if number <= HEATS // 2:
                for judge in judges:
                    value = rng.choice(
                        ("1", "2", "3", "F") if kind == "Open" else ("GH", "G", "S", "B")
                    )
                    insert_row(conn, "scores", judge_id=judge, heat_id=heat, value=value)


def bench(name: str, path: str, repeat: int) -> None:
    db = EventDB(path)
    try:
        build, build_cpu, data = timed(repeat, lambda: print_data(db))
    finally:
        db.close()
    heats = sum(len(s["heats"]) for s in data["sections"])
    couples = sum(len(h["couples"]) for s in data["sections"] for h in s["heats"])
    print(
        f"{name}: {heats} heat numbers, {couples} couples' heat rows, {len(data['scores'])} scores"
    )
    print(
        f"  print data: {build * 1000:.0f} ms wall, {build_cpu * 1000:.0f} ms CPU (target <= 200)"
    )
    student = next(p["id"] for p in data["people"] if p["type"] == "Student")
    judge = data["judges"][0]["id"]
    for relative, target in (
        ("heats.pdf", " (target <= 2 s)"),
        ("people/heats.pdf", ""),
        (f"scores/{judge}/sheets.pdf", ""),
        ("people/backs.pdf", ""),
        (f"people/{student}/scores.pdf", ""),
    ):
        took, cpu, body = timed(repeat, partial(render_path, relative, data))
        pages = len(re.findall(rb"/Type /Page\b(?!s)", body or b""))
        size = len(body or b"") // 1024
        print(
            f"  {relative}: {took:.2f} s wall, {cpu:.2f} s CPU, {pages} pages, {size} KiB{target}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"import showcase.printing: {import_ms('import showcase.printing'):.0f} ms")
    reportlab = "import reportlab.platypus, reportlab.lib.pagesizes, reportlab.pdfbase.pdfmetrics"
    print(f"import reportlab (platypus): {import_ms(reportlab):.0f} ms")
    work = tempfile.mkdtemp(prefix="showcase-pdf-bench-")
    for name, populate in (("demo", populate_demo), ("synthetic", populate_synthetic)):
        path = os.path.join(work, f"{name}.sqlite3")
        create(path, populate)
        bench(name, path, args.repeat)


if __name__ == "__main__":
    main()
