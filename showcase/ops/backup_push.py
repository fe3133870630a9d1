"""Push databases to peers: what ``showcase backup`` does once its options are resolved.

:func:`run_backup` takes a :class:`Plan` and a ``push`` function (the real one
is :class:`Rsync`; tests inject their own).  For each owned database it
compares the file's signature with :mod:`showcase.ops.pushstate`; one that
changed since its last push to a peer is copied consistently
(:func:`~showcase.ops.sqlite_copy.consistent_copy`, safe while its tenant
writes) into a temporary directory inside the database directory, and its
copy is pushed when its hash differs from what that peer last got.  Each peer
gets its changed copies in one ``rsync`` run (``--checksum --times
--partial-dir``, I/O and connect timeouts); a failing peer does not stop the
others.  Runs in one database directory take turns (``.backup.lock``), so two
hooks never push an older copy over a newer one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence

import attrs

from .owned import SHOWCASES_FILE, SUFFIX, database_name, owned_by, read_showcases
from .progress import Progress  # called before each step (a copy, a push to one peer)
from .pushstate import STATE_FILE, PushState, Record, file_sha256, signature
from .sqlite_copy import consistent_copy

LOCK_FILE = ".backup.lock"
PARTIAL_DIR = ".rsync-partial"

Push = Callable[[Sequence[str], str], "str | None"]
"""``push(files, peer)``: None when every file reached ``peer``, else why not."""


@attrs.frozen
class Plan:
    """What one run does, every option resolved."""

    db_dir: str
    region: str
    peers: tuple[str, ...]
    only: tuple[str, ...] = ()  # names or paths; () = every database this region owns
    index_region: str | None = None


@attrs.define
class Outcome:
    """What one run did, database by database."""

    peers: int
    pushed: list[str] = attrs.Factory(list)
    unchanged: list[str] = attrs.Factory(list)
    failed: dict[str, list[str]] = attrs.Factory(dict)  # name → reasons
    not_owned: list[str] = attrs.Factory(list)
    missing: list[str] = attrs.Factory(list)
    warnings: list[str] = attrs.Factory(list)

    def fail(self, name: str, reason: str) -> None:
        self.failed.setdefault(name, []).append(reason)

    def summary(self) -> str:
        """One line: ``pushed 3 databases to 2 peers, 5 unchanged, 0 failed``."""
        text = (
            f"pushed {_count(len(self.pushed), 'database')} to {_count(self.peers, 'peer')}, "
            f"{len(self.unchanged)} unchanged, {len(self.failed)} failed"
        )
        if self.missing:
            text += f", {len(self.missing)} missing"
        if self.not_owned:
            text += f", {len(self.not_owned)} not owned here"
        return text


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


@attrs.frozen
class Rsync:
    """Pushes files with the real ``rsync`` binary."""

    binary: str
    password_file: str | None = None
    timeout: int = 60

    def __call__(self, files: Sequence[str], peer: str) -> str | None:
        args = [
            self.binary,
            "--checksum",
            "--times",
            f"--partial-dir={PARTIAL_DIR}",
            f"--timeout={self.timeout}",
            f"--contimeout={self.timeout}",
        ]
        if self.password_file is not None:
            args.append(f"--password-file={self.password_file}")
        destination = peer if peer.endswith("/") else peer + "/"
        result = subprocess.run(
            [*args, *files, destination],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
        )
        if result.returncode == 0:
            return None
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        reasons = [line for line in lines if not line.startswith("rsync error:")]
        detail = (reasons or lines or ["no output"])[-1]
        return f"rsync exit {result.returncode}: {detail}"


def run_backup(
    plan: Plan, push: Push, now: Callable[[], float], progress: Progress | None = None
) -> Outcome:
    """Push what changed; raises OSError / ShowcasesError when showcases.yml is unusable."""
    regions = read_showcases(os.path.join(plan.db_dir, SHOWCASES_FILE))
    owned = owned_by(regions, plan.region, plan.index_region)
    outcome = Outcome(len(plan.peers))
    targets = _targets(plan, owned, outcome)
    done = [0]

    def step(label: str) -> None:
        if progress is not None:
            progress(done[0], len(targets) + len(plan.peers), label)
        done[0] += 1

    with _locked(plan.db_dir):
        state, warning = PushState.load(os.path.join(plan.db_dir, STATE_FILE))
        if warning is not None:
            outcome.warnings.append(warning)
        try:
            with tempfile.TemporaryDirectory(prefix=".backup-", dir=plan.db_dir) as tmp:
                batches = _copy_changed(plan, targets, state, tmp, now, outcome, step)
                _push_batches(batches, tmp, state, push, outcome, step)
        finally:
            state.save()
    return outcome


def _targets(plan: Plan, owned: frozenset[str], outcome: Outcome) -> list[tuple[str, str]]:
    """``(name, path)`` of the owned databases to consider, in name order."""
    if not plan.only:
        return [(name, os.path.join(plan.db_dir, name)) for name in sorted(owned)]
    targets: dict[str, str] = {}
    for value in plan.only:
        name = database_name(value)
        if name not in owned:
            outcome.not_owned.append(name)
            continue
        is_path = "/" in value and value.endswith(SUFFIX)
        targets[name] = value if is_path else os.path.join(plan.db_dir, name)
    return sorted(targets.items())


Batches = dict[str, list[tuple[str, Record]]]
"""Peer → the ``(name, record)`` of each copy it needs."""


def _copy_changed(
    plan: Plan,
    targets: list[tuple[str, str]],
    state: PushState,
    tmp: str,
    now: Callable[[], float],
    outcome: Outcome,
    step: Callable[[str], None],
) -> Batches:
    batches: Batches = {}
    for name, path in targets:
        step(f"copy {name}")
        try:
            current = signature(path)
        except FileNotFoundError:
            outcome.missing.append(name)
            continue
        stale = [peer for peer in plan.peers if not state.fresh(peer, name, current)]
        if not stale:
            outcome.unchanged.append(name)
            continue
        started = now()
        copy = os.path.join(tmp, name)
        try:
            consistent_copy(path, copy)
        except (sqlite3.Error, OSError) as e:
            outcome.fail(name, f"cannot copy {path}: {e}")
            continue
        record = Record(current, started, file_sha256(copy))
        last_write = max(current[2::3])
        os.utime(copy, ns=(last_write, last_write))  # rsync --times carries it to the peer
        needed = False
        for peer in stale:
            if state.pushed_hash(peer, name) == record.sha256:
                state.record(peer, name, record)  # same bytes as the peer has
            else:
                batches.setdefault(peer, []).append((name, record))
                needed = True
        if not needed:
            outcome.unchanged.append(name)
    return batches


def _push_batches(
    batches: Batches,
    tmp: str,
    state: PushState,
    push: Push,
    outcome: Outcome,
    step: Callable[[str], None],
) -> None:
    sent: set[str] = set()
    for peer, batch in batches.items():
        step(f"push {_count(len(batch), 'database')} to {peer}")
        error = push([os.path.join(tmp, name) for name, _ in batch], peer)
        for name, record in batch:
            if error is None:
                state.record(peer, name, record)
                sent.add(name)
            else:
                outcome.fail(name, f"{peer}: {error}")
    outcome.pushed = sorted(sent - set(outcome.failed))


@contextlib.contextmanager
def _locked(db_dir: str) -> Iterator[None]:
    with open(os.path.join(db_dir, LOCK_FILE), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
