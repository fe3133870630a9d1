"""``showcase backup``: ownership from showcases.yml, consistent copies, change detection,
peers that fail, the summary line and the options (pushes go to an injected fake)."""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from showcase import cli
from showcase.ops.backup import UsageError, _progress_bar, configure, report, resolve
from showcase.ops.backup_push import Outcome, Plan, Rsync, run_backup
from showcase.ops.owned import (
    ShowcasesError,
    database_name,
    database_regions,
    owned_by,
    owned_elsewhere,
)
from showcase.ops.pushstate import STATE_FILE, PushState
from showcase.ops.sqlite_copy import consistent_copy

SHOWCASES = """\
2026:
  alpha: {name: Alpha, region: aaa, date: "2026-05-01"}
  beta: {name: Beta, region: aaa, events: {spring: {name: Spring}, fall: {name: Fall}}}
  bravo: {name: Bravo, region: bbb, date: "2026-06-01"}
"""
OWNED = ["2026-alpha.sqlite3", "2026-beta-fall.sqlite3", "2026-beta-spring.sqlite3"]
PEER_1 = "rsync://u@127.0.0.1:1001/showcase/"
PEER_2 = "rsync://u@127.0.0.1:1002/showcase/"


def later(seconds: float = 10.0) -> Callable[[], float]:
    """A clock ``seconds`` ahead: every write looks old enough for the fast path."""
    return lambda: time.time() + seconds


def make_db(path: Path, value: str = "first") -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")  # test data: no fsync needed
    conn.execute("CREATE TABLE IF NOT EXISTS t (value TEXT)")
    conn.execute("INSERT INTO t VALUES (?)", (value,))
    conn.close()


def values(path: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [row[0] for row in conn.execute("SELECT value FROM t ORDER BY rowid")]
    finally:
        conn.close()


class FakePeers:
    """Receives pushes into ``root/<n>/`` (n = the peer's index); some peers fail."""

    def __init__(self, root: Path, failing: Sequence[str] = ()) -> None:
        self.root = root
        self.failing = set(failing)
        self.calls: list[tuple[str, list[str]]] = []

    def dir(self, peer: str) -> Path:
        return self.root / peer.rsplit(":", 1)[1].split("/")[0]

    def __call__(self, files: Sequence[str], peer: str) -> str | None:
        self.calls.append((peer, sorted(os.path.basename(f) for f in files)))
        if peer in self.failing:
            return "rsync exit 10: connection refused"
        self.dir(peer).mkdir(parents=True, exist_ok=True)
        for name in files:
            shutil.copy(name, self.dir(peer))
        return None


@pytest.fixture
def db_dir(tmp_path: Path) -> Path:
    """A database directory: region aaa's three databases and a stale copy of bbb's."""
    directory = tmp_path / "db"
    directory.mkdir()
    (directory / "showcases.yml").write_text(SHOWCASES)
    for name in OWNED:
        make_db(directory / name)
    make_db(directory / "2026-bravo.sqlite3", "stale")
    make_db(directory / "demo.sqlite3")
    return directory


def plan(db_dir: Path, *peers: str, only: Sequence[str] = ()) -> Plan:
    return Plan(str(db_dir), "aaa", peers or (PEER_1, PEER_2), tuple(only))


# -- ownership -----------------------------------------------------------------------

LETTERS = "abcdefghijklmnopqrstuvwxyz"
KEYS = st.builds(str.__add__, st.sampled_from(LETTERS), st.text(LETTERS + "0123456789", max_size=5))
REGION = st.sampled_from(["aaa", "bbb", "ccc", None])
LOCATION = st.fixed_dictionaries(
    {"name": st.just("X"), "region": REGION},
    optional={"events": st.dictionaries(KEYS, st.just({"name": "E"}), max_size=3)},
)
SHOWCASES_DATA = st.dictionaries(
    st.integers(2000, 2099), st.dictionaries(KEYS, LOCATION, max_size=4), max_size=3
)


@settings(max_examples=60, deadline=None)
@given(SHOWCASES_DATA, st.sampled_from(["aaa", "bbb"]))
def test_each_database_belongs_to_its_locations_region(data: dict, region: str) -> None:
    """Every database of a location (one per event, or year-location alone) belongs to the
    location's region; owned-here and owned-elsewhere never overlap, nobody's are in neither."""
    expected: dict[str, frozenset[str]] = {}
    for year, locations in data.items():
        for key, info in locations.items():
            owners = frozenset({info["region"]}) if info["region"] else frozenset()
            if "events" in info:
                for event in info["events"]:
                    expected[f"{year}-{key}-{event}.sqlite3"] = owners
            else:
                expected[f"{year}-{key}.sqlite3"] = owners
    regions = database_regions(data)
    assert regions == expected
    here, elsewhere = owned_by(regions, region), owned_elsewhere(regions, region)
    assert here == {name for name, owners in expected.items() if region in owners}
    assert not here & elsewhere
    assert here | elsewhere == {name for name, owners in expected.items() if owners}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "expected a mapping"),
        ({"twenty": {}}, "year 'twenty' is not a number"),
        ({2026: {"bad/key": {"region": "aaa"}}}, "location key 'bad/key'"),
        ({2026: {"a": {"region": 3}}}, r"2026\.a\.region: expected text"),
        ({2026: {"a": {"region": "x", "events": {"*": {}}}}}, "event key '\\*'"),
        ({2026: {"a": "text"}}, r"2026\.a: expected a mapping"),
    ],
)
def test_a_malformed_showcases_file_says_where(data: object, message: str) -> None:
    """Shapes other than spec/cli.md's are errors naming the year, location or event."""
    with pytest.raises(ShowcasesError, match=message):
        database_regions(data)


def test_a_name_claimed_by_two_regions_is_protected_by_both() -> None:
    """2026-a-b as location a's event b (aaa) and as location a-b (bbb): both own it, so
    neither accepts the other's copy."""
    data = {2026: {"a": {"region": "aaa", "events": {"b": {}}}, "a-b": {"region": "bbb"}}}
    regions = database_regions(data)
    for region in ("aaa", "bbb"):
        assert "2026-a-b.sqlite3" in owned_by(regions, region)
        assert "2026-a-b.sqlite3" not in owned_elsewhere(regions, region)


def test_the_index_belongs_to_its_region_only() -> None:
    """index.sqlite3 is owned by index_region; with none it is nobody's."""
    assert owned_by({}, "iad", "iad") == {"index.sqlite3"}
    assert owned_elsewhere({}, "ewr", "iad") == {"index.sqlite3"}
    assert owned_by({}, "iad") == owned_elsewhere({}, "iad") == frozenset()


@pytest.mark.parametrize(
    "value", ["2026-alpha", "2026-alpha.sqlite3", "db/2026-alpha.sqlite3", "/data/db/2026-alpha"]
)
def test_a_database_is_named_by_name_file_or_path(value: str) -> None:
    """--only takes a name, a file name or a path."""
    assert database_name(value) == "2026-alpha.sqlite3"


# -- consistent copies ---------------------------------------------------------------


def test_a_copy_taken_during_writes_is_one_commit(tmp_path: Path) -> None:
    """Copies taken while a writer thread commits pairs of rows always hold whole pairs,
    pass the integrity check, are in rollback-journal mode and leave no -wal behind."""
    src = tmp_path / "live.sqlite3"
    writer = sqlite3.connect(src, isolation_level=None, check_same_thread=False)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE t (value TEXT)")
    stop = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set():
            writer.execute("BEGIN")
            writer.executemany("INSERT INTO t VALUES (?)", [(f"{n}a",), (f"{n}b",)])
            writer.execute("COMMIT")
            n += 1

    thread = threading.Thread(target=write)
    thread.start()
    counts = []
    try:
        for i in range(20):
            dest = tmp_path / f"copy{i}.sqlite3"
            consistent_copy(str(src), str(dest))
            conn = sqlite3.connect(dest)
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
            count = conn.execute("SELECT count(*) FROM t").fetchone()[0]
            conn.close()
            assert count % 2 == 0
            counts.append(count)
            assert not (tmp_path / f"copy{i}.sqlite3-wal").exists()
    finally:
        stop.set()
        thread.join()
        writer.close()
    assert counts[-1] > 0


def test_a_failed_copy_leaves_the_destination_alone(tmp_path: Path) -> None:
    """A source that is not a database raises; the destination keeps its bytes and no
    temporary file is left."""
    (tmp_path / "src.sqlite3").write_bytes(b"not a database at all, really" * 10)
    (tmp_path / "dest.sqlite3").write_bytes(b"old")
    with pytest.raises(sqlite3.DatabaseError):
        consistent_copy(str(tmp_path / "src.sqlite3"), str(tmp_path / "dest.sqlite3"))
    assert (tmp_path / "dest.sqlite3").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dest.sqlite3", "src.sqlite3"]


def test_a_missing_source_is_an_error_not_an_empty_copy(tmp_path: Path) -> None:
    """Copying a database that does not exist fails and creates nothing."""
    with pytest.raises(sqlite3.OperationalError):
        consistent_copy(str(tmp_path / "gone.sqlite3"), str(tmp_path / "dest.sqlite3"))
    assert list(tmp_path.iterdir()) == []


# -- pushing -------------------------------------------------------------------------


def test_the_first_run_pushes_every_owned_database_to_every_peer(
    db_dir: Path, tmp_path: Path
) -> None:
    """Each peer gets this region's databases in one push, as consistent copies; another
    region's database and nobody's (demo) are never pushed."""
    peers = FakePeers(tmp_path / "peers")
    outcome = run_backup(plan(db_dir), peers, later())
    assert peers.calls == [(PEER_1, OWNED), (PEER_2, OWNED)]
    assert outcome.pushed == OWNED and not outcome.failed
    for peer in (PEER_1, PEER_2):
        assert sorted(p.name for p in peers.dir(peer).iterdir()) == OWNED
        assert values(peers.dir(peer) / "2026-alpha.sqlite3") == ["first"]
    assert outcome.summary() == "pushed 3 databases to 2 peers, 0 unchanged, 0 failed"


def test_unchanged_databases_are_not_pushed_again(db_dir: Path, tmp_path: Path) -> None:
    """A second run finds nothing changed and pushes nothing; after a write, only the
    written database goes out again."""
    peers = FakePeers(tmp_path / "peers")
    run_backup(plan(db_dir), peers, later())
    peers.calls.clear()
    outcome = run_backup(plan(db_dir), peers, later())
    assert peers.calls == [] and outcome.unchanged == OWNED
    make_db(db_dir / "2026-beta-fall.sqlite3", "second")
    outcome = run_backup(plan(db_dir), peers, later())
    assert peers.calls == [
        (PEER_1, ["2026-beta-fall.sqlite3"]),
        (PEER_2, ["2026-beta-fall.sqlite3"]),
    ]
    assert values(peers.dir(PEER_2) / "2026-beta-fall.sqlite3") == ["first", "second"]
    assert outcome.summary() == "pushed 1 database to 2 peers, 2 unchanged, 0 failed"


def test_a_recent_write_is_checked_by_content(db_dir: Path, tmp_path: Path) -> None:
    """When the last write is too close to the copy to trust timestamps, the next run
    copies again and compares hashes: same bytes, no push, and the record is renewed."""
    peers = FakePeers(tmp_path / "peers")
    run_backup(plan(db_dir, PEER_1), peers, time.time)  # writes were just now
    first = PushState.load(str(db_dir / STATE_FILE))[0].peers[PEER_1]["2026-alpha.sqlite3"]
    peers.calls.clear()
    outcome = run_backup(plan(db_dir, PEER_1), peers, later())
    renewed = PushState.load(str(db_dir / STATE_FILE))[0].peers[PEER_1]["2026-alpha.sqlite3"]
    assert peers.calls == [] and outcome.unchanged == OWNED
    assert renewed.copied_at > first.copied_at and renewed.sha256 == first.sha256
    outcome = run_backup(plan(db_dir, PEER_1), peers, later(20))
    again = PushState.load(str(db_dir / STATE_FILE))[0].peers[PEER_1]["2026-alpha.sqlite3"]
    assert again == renewed  # now the fast path: no copy, record untouched


def test_a_failing_peer_fails_the_run_but_not_the_others(db_dir: Path, tmp_path: Path) -> None:
    """Peer 1 refuses: peer 2 still gets everything, the run reports the failures and exits
    1, and the next run retries peer 1 only."""
    peers = FakePeers(tmp_path / "peers", failing=[PEER_1])
    outcome = run_backup(plan(db_dir), peers, later())
    assert sorted(p.name for p in peers.dir(PEER_2).iterdir()) == OWNED
    assert sorted(outcome.failed) == OWNED and outcome.pushed == []
    out, err = io.StringIO(), io.StringIO()
    assert report(outcome, "aaa", out, err) == 1
    assert out.getvalue() == "pushed 0 databases to 2 peers, 0 unchanged, 3 failed\n"
    assert f"2026-alpha.sqlite3: {PEER_1}: rsync exit 10: connection refused" in err.getvalue()
    peers.failing.clear()
    peers.calls.clear()
    outcome = run_backup(plan(db_dir), peers, later())
    assert peers.calls == [(PEER_1, OWNED)]
    assert report(outcome, "aaa", io.StringIO(), io.StringIO()) == 0


def test_only_narrows_and_never_pushes_another_regions_database(
    db_dir: Path, tmp_path: Path
) -> None:
    """--only by name and by path pushes just those; another region's database is skipped
    and said so; an owned one without a file counts as missing."""
    (db_dir / "2026-beta-spring.sqlite3").unlink()
    peers = FakePeers(tmp_path / "peers")
    only = ["2026-bravo", str(db_dir / "2026-alpha.sqlite3"), "2026-beta-spring"]
    outcome = run_backup(plan(db_dir, PEER_1, only=only), peers, later())
    assert peers.calls == [(PEER_1, ["2026-alpha.sqlite3"])]
    assert outcome.not_owned == ["2026-bravo.sqlite3"]
    assert outcome.missing == ["2026-beta-spring.sqlite3"]
    out = io.StringIO()
    assert report(outcome, "aaa", out, io.StringIO()) == 0
    assert out.getvalue() == (
        "skipped 2026-bravo.sqlite3: not owned by region aaa\n"
        "pushed 1 database to 1 peer, 0 unchanged, 0 failed, 1 missing, 1 not owned here\n"
    )


def test_the_index_is_pushed_only_by_its_region(db_dir: Path, tmp_path: Path) -> None:
    """index.sqlite3 is left alone unless this region is the index region."""
    make_db(db_dir / "index.sqlite3")
    peers = FakePeers(tmp_path / "peers")
    run_backup(plan(db_dir, PEER_1), peers, later())
    assert "index.sqlite3" not in peers.calls[0][1]
    index_plan = Plan(str(db_dir), "aaa", (PEER_1,), index_region="aaa")
    run_backup(index_plan, peers, later())
    assert peers.calls[-1] == (PEER_1, ["index.sqlite3"])


def test_an_unreadable_state_file_means_pushing_everything(db_dir: Path, tmp_path: Path) -> None:
    """A corrupt .backup-state.json is reported and everything is pushed again."""
    peers = FakePeers(tmp_path / "peers")
    run_backup(plan(db_dir, PEER_1), peers, later())
    (db_dir / STATE_FILE).write_text("{not json")
    outcome = run_backup(plan(db_dir, PEER_1), peers, later())
    assert outcome.pushed == OWNED
    assert "unusable" in outcome.warnings[0]
    assert PushState.load(str(db_dir / STATE_FILE))[1] is None  # rewritten whole


def test_a_database_that_cannot_be_copied_fails_alone(db_dir: Path, tmp_path: Path) -> None:
    """A corrupt owned database is a failure with its reason; the others are pushed."""
    (db_dir / "2026-alpha.sqlite3").write_bytes(b"garbage" * 100)
    peers = FakePeers(tmp_path / "peers")
    outcome = run_backup(plan(db_dir, PEER_1), peers, later())
    assert outcome.pushed == OWNED[1:]
    assert "cannot copy" in outcome.failed["2026-alpha.sqlite3"][0]


def test_no_showcases_file_is_an_error(tmp_path: Path) -> None:
    """Without showcases.yml ownership is unknown: the run fails before any push."""
    peers = FakePeers(tmp_path / "peers")
    with pytest.raises(FileNotFoundError):
        run_backup(plan(tmp_path, PEER_1), peers, later())
    assert peers.calls == []


def test_summary_counts() -> None:
    """The summary names databases and peers in the singular or plural."""
    outcome = Outcome(1, pushed=["a"], unchanged=["b", "c"], failed={"d": ["x"]})
    assert outcome.summary() == "pushed 1 database to 1 peer, 2 unchanged, 1 failed"


# -- options -------------------------------------------------------------------------


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    configure(parser)
    return parser.parse_args(argv)


def test_options_default_to_the_router_configs_backup_section(tmp_path: Path) -> None:
    """Peers, password file, db_dir and index_region come from --config; the region from
    FLY_REGION; --only - is $SHOWCASE_DB."""
    (tmp_path / "showcase.yml").write_text(
        f"backup: {{peers: ['{PEER_1}'], password_file: pw, db_dir: data, index_region: iad}}\n"
    )
    args = parse("--config", str(tmp_path / "showcase.yml"), "--only", "-")
    environ = {"FLY_REGION": "aaa", "SHOWCASE_DB": "/x/2026-a.sqlite3", "PATH": os.environ["PATH"]}
    made, push = resolve(args, environ)
    assert made == Plan(str(tmp_path / "data"), "aaa", (PEER_1,), ("/x/2026-a.sqlite3",), "iad")
    assert isinstance(push, Rsync) and push.password_file == str(tmp_path / "pw")


def test_options_override_the_config(tmp_path: Path) -> None:
    """Options given on the command line win over the config."""
    (tmp_path / "showcase.yml").write_text(f"backup: {{peers: ['{PEER_1}'], db_dir: data}}\n")
    args = parse(
        *("--config", str(tmp_path / "showcase.yml"), "--db-dir", "elsewhere"),
        *("--region", "bbb", "--peer", PEER_2, "--password-file", "f", "--index-region", "x"),
    )
    made, push = resolve(args, {"PATH": os.environ["PATH"]})
    assert made == Plan("elsewhere", "bbb", (PEER_2,), (), "x")
    assert isinstance(push, Rsync) and push.password_file == "f"


@pytest.mark.parametrize(
    ("argv", "environ", "message"),
    [
        (["--peer", PEER_1], {}, "no region"),
        (["--region", "aaa"], {}, "no peers"),
        (["--region", "aaa", "--peer", "host:/db"], {}, "not an rsync:// URL"),
        (["--region", "aaa", "--peer", PEER_1, "--only", "-"], {}, "needs SHOWCASE_DB"),
    ],
)
def test_bad_usage(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    environ: dict[str, str],
    message: str,
) -> None:
    """Missing region or peers, a bad peer URL, --only - without SHOWCASE_DB: usage errors."""
    monkeypatch.chdir(tmp_path)  # no config/showcase.yml to take defaults from
    with pytest.raises(UsageError, match=message):
        resolve(parse(*argv), environ)


def test_the_progress_bar_draws_on_a_terminal_only() -> None:
    """On a terminal each step redraws one line, cleared at the end; elsewhere nothing."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    with _progress_bar(terminal) as progress:
        assert progress is not None
        progress(1, 4, "copy 2026-alpha.sqlite3")
    assert "[#####...............] 1/4 copy 2026-alpha.sqlite3" in terminal.getvalue()
    assert terminal.getvalue().endswith("\r\x1b[K")
    with _progress_bar(io.StringIO()) as nothing:
        assert nothing is None


def test_the_command_exits_2_on_bad_usage_and_1_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`showcase backup` without a region is bad usage (2); without showcases.yml it fails
    (1) with the file named on stderr."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLY_REGION", raising=False)
    assert cli.main(["backup", "--peer", PEER_1]) == 2
    assert "no region" in capsys.readouterr().err
    argv = ["backup", "--peer", PEER_1, "--region", "aaa", "--db-dir", str(tmp_path)]
    assert cli.main(argv) == 1
    assert capsys.readouterr().err == (
        f"showcase backup: {tmp_path}/showcases.yml: No such file or directory\n"
    )
