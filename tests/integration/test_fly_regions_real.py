"""Regions and the PDF appliance: real ``twistd showcase`` routers behind a Fly-edge double.

Four routers on 127.0.0.1, started in parallel once for the module:

* ``bos`` (Fly app ``showcase``, region bos) holds the Boston event (the real event
  app on a demo database) and a generic tenant under it (``files/``, echoes uploads);
* ``ord`` (region ord) holds the Chicago event;
* ``printer`` (app ``showcase-printer``) is the PDF appliance;
* ``kamal`` runs off Fly (no ``FLY_*``) with the same Boston rule.

Their configs have the generator's shape: the appliance's ``.pdf`` rule first, then
``{path: "^<tenant path>", region: R}`` for each other region's event.  The
regions' addresses are only known once they listen, so ``internal_hosts`` is added
by a reload.  :mod:`flyedge` plays Fly's proxy and records each request's trail.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import attrs
import pytest

from showcase.event.db import create
from showcase.event.demo import populate_demo

from .flyedge import FlyEdge, Machine
from .routerproc import Router, tenant_yaml, wait_for

pytestmark = pytest.mark.integration

TOKEN = "print-token-4c1d"
BOSTON = "Boston Dance Showcase"
PRINTER_APP = "showcase-printer"
PDF_RULE = '      - {path: "\\\\.pdf$", app: showcase-printer}\n'


def region_rule(path: str, region: str) -> str:
    return f'      - {{path: "^{path}", region: {region}}}\n'


def router_yaml(tmp: Path, tenants: str, rules: str, extra: str = "", start_port: int = 0) -> str:
    (tmp / "public").mkdir(exist_ok=True)
    return (
        "server:\n"
        "  listen: 0\n"
        "  static:\n"
        f"    public_dir: {tmp / 'public'}\n"
        "applications:\n"
        f"  preload: {'true' if tenants else 'false'}\n"  # no event app: no spawner
        "  pools:\n"
        "    timeout: 5m\n"
        "    stop_timeout: 2s\n"
        f"    start_port: {start_port or 24400}\n"
        "  startup_timeout: 10s\n"
        f"  tenants:{tenants or ' []'}\n"
        "cable:\n"
        "  enabled: false\n"
        "routes:\n"
        "  fly:\n"
        "    replay:\n"
        f"{rules}"
        f"{extra}"
    )


def event_tenant(path: str, db: Path, **env: str) -> str:
    lines = "".join(f"        {k}: '{v}'\n" for k, v in {"SHOWCASE_DB": db, **env}.items())
    return f"    - path: {path}\n      env:\n{lines}"


@attrs.frozen
class Site:
    routers: dict[str, Router]
    edge: FlyEdge
    db: Path


def _configs(tmp: Path, db: Path, hosts: dict[str, int]) -> dict[str, str]:
    def internal(*names: str) -> str:
        if not hosts:
            return ""
        pairs = ", ".join(f"{n}: '127.0.0.1:{hosts[n]}'" for n in names)
        return f"    internal_hosts: {{{pairs}}}\n"

    boston = "\n" + event_tenant("/2025/boston/", db, SHOWCASE_PRINT_TOKEN=TOKEN)
    boston += tenant_yaml("/2025/boston/files/", "boston-files").rstrip("\n")
    chicago = "\n" + event_tenant("/2025/chicago/", tmp / "ord" / "chicago.sqlite3").rstrip("\n")
    (tmp / "token").write_text(TOKEN + "\n")
    return {
        # bos also lists its own event (a rule for its own region is served here, no loop).
        "bos": router_yaml(
            tmp / "bos",
            boston.rstrip("\n"),
            PDF_RULE + region_rule("/2025/chicago/", "ord") + region_rule("/2025/boston/", "bos"),
            internal("ord", PRINTER_APP),
            start_port=24410,
        ),
        "ord": router_yaml(
            tmp / "ord",
            chicago,
            PDF_RULE
            + region_rule("/2025/boston/", "bos")
            + region_rule("/2025/sydney/", "syd"),  # a region no machine stands for
            internal("bos", PRINTER_APP),
            start_port=24430,
        ),
        "printer": router_yaml(
            tmp / "printer",
            "",
            region_rule("/2025/boston/", "bos") + region_rule("/2025/chicago/", "ord"),
            internal("bos", "ord") + f"appliance:\n  token_file: {tmp / 'token'}\n",
        ),
        "kamal": router_yaml(
            tmp / "kamal", "", region_rule("/2025/boston/", "bos"), internal("bos")
        ),
    }


ENVS = {
    "bos": {"FLY_APP_NAME": "showcase", "FLY_REGION": "bos"},
    "ord": {"FLY_APP_NAME": "showcase", "FLY_REGION": "ord"},
    "printer": {"FLY_APP_NAME": PRINTER_APP, "FLY_REGION": "iad"},
    "kamal": {"FLY_APP_NAME": "", "FLY_REGION": ""},
}


def reloaded(router: Router) -> Callable[[], bool]:
    return lambda: "reloaded" in router.log()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The four routers and the edge; all stopped afterwards."""
    tmp = tmp_path_factory.mktemp("regions")
    for name in ENVS:
        (tmp / name).mkdir()
    db = tmp / "bos" / "boston.sqlite3"
    create(str(db), populate_demo)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE events SET name = ?", (BOSTON,))
    conn.close()
    first = _configs(tmp, db, {})
    routers: dict[str, Router] = {}
    edge = None
    try:
        with ThreadPoolExecutor(len(ENVS)) as pool:
            started = {n: pool.submit(Router, tmp / n, first[n], ENVS[n]) for n in ENVS}
            for name, future in started.items():
                routers[name] = future.result()
        ports = {n: r.port for n, r in routers.items()}
        ports[PRINTER_APP] = ports["printer"]
        final = _configs(tmp, db, ports)
        for name, router in routers.items():
            router.reload(final[name])
        for name, router in routers.items():
            wait_for(reloaded(router), 10, f"{name} to reload")
        edge = FlyEdge(
            [
                Machine("bos", ports["bos"], "showcase", "bos"),
                Machine("ord", ports["ord"], "showcase", "ord"),
                Machine("printer", ports["printer"], PRINTER_APP, "iad"),
            ],
            arrival="ord",
        )
        yield Site(routers, edge, db)
    finally:
        if edge is not None:
            edge.stop()
        for router in routers.values():
            router.stop()


def a_student(db: Path) -> tuple[int, str, list[str]]:
    """A student of the Boston event: id, name as printed ("First Last"), heat numbers."""
    with sqlite3.connect(db) as conn:
        person_id, name = conn.execute(
            "SELECT id, name FROM people WHERE type = 'Student' AND back IS NOT NULL"
            " ORDER BY name LIMIT 1"
        ).fetchone()
        rows = conn.execute(
            "SELECT DISTINCT h.number FROM heats h JOIN entries e ON e.id = h.entry_id"
            " WHERE (e.lead_id = ? OR e.follow_id = ?) AND h.number > 0 ORDER BY h.number",
            (person_id, person_id),
        ).fetchall()
    conn.close()
    last, _, first = name.partition(", ")
    return person_id, f"{first} {last}", [f"{n:g}" for (n,) in rows]


def pdf_text(pdf: bytes) -> str:
    done = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    )
    return done.stdout.decode()


def test_a_boston_page_arriving_at_ord_ends_at_boston(site: Site) -> None:
    """A request for the Boston event that arrives at ord is replayed by the edge to bos,
    which serves the Boston event's page (its own-region rule does not loop)."""
    answer = site.edge.request("/2025/boston/", arrive="ord")
    assert answer.status == 200, answer.body[:500]
    assert BOSTON in answer.body.decode()
    assert site.edge.trails[-1] == ["ord", "bos"]


def test_a_pdf_is_rendered_by_the_appliance_from_bostons_data(site: Site) -> None:
    """A Boston heat sheet asked of ord goes to the appliance, which fetches Boston's print
    data from bos with its token and renders it: a valid PDF naming the event, the
    person and that person's heats."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    person_id, name, heats = a_student(site.db)
    answer = site.edge.request(f"/2025/boston/people/{person_id}/heats.pdf", arrive="ord")
    assert answer.status == 200, answer.body[:500]
    assert answer.headers["content-type"] == "application/pdf"
    assert site.edge.trails[-1] == ["ord", "printer"]
    text = pdf_text(answer.body)
    assert BOSTON in text and name in text
    printed = re.findall(r"^(\d+(?:\.\d+)?) {2,}", text, re.MULTILINE)  # the heat column
    assert heats and printed == heats


def test_a_large_upload_arriving_at_ord_is_proxied_to_bos(site: Site) -> None:
    """A 2 MiB POST for a Boston path that arrives at ord is not replayed (too big for
    Fly to replay): ord streams it to bos, whose tenant gets all of it, marked as
    forwarded once (X-Navigator-Retry)."""
    body = bytes(range(256)) * (2 * 1024 * 1024 // 256)
    answer = site.edge.request("/2025/boston/files/echo", "POST", body=body, arrive="ord")
    assert answer.status == 200, answer.body[:500]
    assert site.edge.trails[-1] == ["ord"]
    echoed = json.loads(answer.body)
    assert echoed["body_length"] == len(body)
    headers = {name.lower(): value for name, value in echoed["headers"]}
    assert headers["x-navigator-retry"] == "true"
    upload = site.edge.request("/2025/boston/files/upload", "POST", body=body, arrive="ord")
    assert json.loads(upload.body)["sha256"] == hashlib.sha256(body).hexdigest()


def test_a_replayed_request_matching_a_rule_gets_the_maintenance_page(site: Site) -> None:
    """A request already marked X-Navigator-Retry that would be replayed again is answered
    with the maintenance page (503), not sent on."""
    answer = site.edge.request("/2025/boston/", headers={"X-Navigator-Retry": "true"}, arrive="ord")
    assert answer.status == 503
    assert answer.headers["content-type"].startswith("text/html")
    assert site.edge.trails[-1] == ["ord"]


def test_a_replay_to_a_missing_region_falls_back_to_the_maintenance_page(site: Site) -> None:
    """A replay to a region with no machine comes back (force_self) with fly-replay-failed:
    the router answers the maintenance page instead of replaying again."""
    answer = site.edge.request("/2025/sydney/", arrive="ord")
    assert answer.status == 503
    assert site.edge.trails[-1] == ["ord", "ord"]


def test_off_fly_the_same_rule_proxies(site: Site) -> None:
    """Without FLY_APP_NAME/FLY_REGION the Boston rule proxies to bos's internal address
    (no replay answer): the client gets the Boston page directly."""
    status, headers, body = site.routers["kamal"].get("/2025/boston/")
    assert status == 200, body[:500]
    assert "fly.replay" not in headers.get("content-type", "")
    assert BOSTON in body.decode()


def test_a_replayed_request_keeps_its_query_and_authorization(site: Site) -> None:
    """A GET with a query string and credentials for a Boston path, arriving at ord, is
    replayed to bos and reaches Boston's tenant with the same path and query, the
    Authorization header re-sent and the X-Navigator-Retry mark."""
    auth = "Basic YWxpY2U6czNjcmV0"
    answer = site.edge.request(
        "/2025/boston/files/echo?heat=12&name=Zo%C3%AB",
        headers={"Authorization": auth},
        arrive="ord",
    )
    assert answer.status == 200, answer.body[:500]
    assert site.edge.trails[-1] == ["ord", "bos"]
    echoed = json.loads(answer.body)
    assert (echoed["path"], echoed["query"]) == ("/2025/boston/files/echo", "heat=12&name=Zo%C3%AB")
    headers = {name.lower(): value for name, value in echoed["headers"]}
    assert headers["authorization"] == auth
    assert headers["x-navigator-retry"] == "true"


def test_a_head_request_arriving_at_ord_is_answered_by_bos(site: Site) -> None:
    """A HEAD for the Boston event that arrives at ord is not replayed (the replay
    instruction is a response body, which an answer to HEAD cannot carry): ord proxies it
    to bos, and the client gets Boston's answer, with no body."""
    answer = site.edge.request("/2025/boston/?from=ord", "HEAD", arrive="ord")
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.body == b""
    assert site.edge.trails[-1] == ["ord"]
