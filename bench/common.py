"""Shared pieces of the benchmark scripts: run a router, run wrk, read /proc."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
HELLO = str(HERE / "hello_tenant.py")
TWISTD = os.path.join(os.path.dirname(sys.executable), "twistd")
LISTENING = re.compile(r"showcase listening on .*port=(\d+)")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], p: float) -> float:
    """The ``p`` quantile (0.5, 0.99, …) of ``values``: the value at that rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def wait_for(condition, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(0.005)
    return value


class RouterRun:
    """``twistd -n showcase`` with ``config`` (YAML text) in a temporary directory."""

    def __init__(self, config: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="showcase-bench-"))
        (self.dir / "showcase.yml").write_text(config)
        self.log = self.dir / "router.log"
        self.access = self.dir / "access.log"
        self.proc = subprocess.Popen(
            [
                TWISTD,
                "-n",
                "--pidfile",
                str(self.dir / "twistd.pid"),
                "--logfile",
                str(self.log),
                "showcase",
                "--config",
                str(self.dir / "showcase.yml"),
                "--listen",
                "tcp:0:interface=127.0.0.1",
            ],
            cwd=self.dir,
            stdin=subprocess.DEVNULL,
        )
        self.port = int(wait_for(self._port))

    def _port(self) -> str | None:
        if self.proc.poll() is not None:
            raise SystemExit(f"router exited:\n{self.log.read_text()}")
        m = LISTENING.search(self.log.read_text()) if self.log.exists() else None
        return m.group(1) if m else None

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)
        shutil.rmtree(self.dir, ignore_errors=True)


WRK_REQ = re.compile(r"Requests/sec:\s+([\d.]+)")
WRK_TOTAL = re.compile(r"(\d+) requests in")
WRK_PCT = re.compile(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)", re.M)


def wrk(url: str, connections: int, seconds: int = 5) -> dict[str, float]:
    """Run wrk; requests/s, total requests, p50 and p99 in ms."""
    threads = min(2, connections)
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    result = {"rps": float(WRK_REQ.search(out).group(1))}  # type: ignore[union-attr]
    result["total"] = float(WRK_TOTAL.search(out).group(1))  # type: ignore[union-attr]
    for pct, value, unit in WRK_PCT.findall(out):
        result[f"p{pct}"] = float(value) * scale[unit]
    return result
