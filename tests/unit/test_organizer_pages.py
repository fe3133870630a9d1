"""Every organizer page renders and links the others; form posts without a CSRF token fail."""

from __future__ import annotations

from pathlib import Path

import pytest
from organizer_support import Couple, dump, insert, new_event

from tests.eventsupport import EventClient


def populated(tmp_path: Path) -> tuple[EventClient, Couple, int]:
    """A new event with a couple, one entry with a heat, and one solo."""
    client = new_event(tmp_path)
    couple = Couple(client)
    entry = couple.entry(level_id=1)
    insert(client, "heats", number=0, category="Closed", dance_id=1, entry_id=entry)
    solo_heat = insert(client, "heats", number=0, category="Solo", dance_id=2, entry_id=entry)
    solo = insert(client, "solos", heat_id=solo_heat, order=1, song="Moon River")
    return client, couple, solo


PAGES = [
    ("/event/settings", "Event settings"),
    ("/studios", "Harborview"),
    ("/studios/new", "New studio"),
    ("/studios/{studio}/edit", "Harborview"),
    ("/people", "Jane Doe"),
    ("/people?type=Professional", "Arthur Murray"),
    ("/people/new", "New person"),
    ("/people/{student}/edit", "Doe, Jane"),
    ("/people/{student}/entries", "Entries of Jane Doe"),
    ("/dances", "Waltz"),
    ("/dances/new", "New dance"),
    ("/dances/1/edit", "Waltz"),
    ("/categories", "Closed American Smooth"),
    ("/categories/new", "New category"),
    ("/categories/1/edit", "Closed American Smooth"),
    ("/solos", "Moon River"),
    ("/solos/new", "New solo"),
    ("/solos/{solo}/edit", "Moon River"),
]


@pytest.mark.parametrize(("path", "text"), PAGES)
def test_page_renders(tmp_path: Path, path: str, text: str) -> None:
    """Each organizer page answers 200 with its content and the organizer links."""
    client, couple, solo = populated(tmp_path)
    code, body = client.get(path.format(studio=couple.studio, student=couple.student, solo=solo))
    assert code == 200
    assert text in body
    assert 'name="csrf-token"' in body
    for link in ("/event/settings", "/studios", "/people", "/dances", "/categories", "/solos"):
        assert f'href="/showcase/2026/demo{link}"' in body


def test_every_form_carries_the_csrf_token(tmp_path: Path) -> None:
    """Every POST form on the organizer pages includes the authenticity_token field."""
    client, couple, solo = populated(tmp_path)
    for path, _ in PAGES:
        _, body = client.get(path.format(studio=couple.studio, student=couple.student, solo=solo))
        assert body.count('method="post"') == body.count('name="authenticity_token"'), path


POSTS = [
    "/event/settings",
    "/studios/new",
    "/studios/{studio}/edit",
    "/studios/{studio}/delete",
    "/people/new",
    "/people/{student}/edit",
    "/people/{student}/delete",
    "/people/{student}/entries",
    "/people/backs",
    "/dances/new",
    "/dances/1/edit",
    "/categories/new",
    "/categories/1/edit",
    "/categories/1/delete",
    "/categories/1/move",
    "/solos/new",
    "/solos/{solo}/edit",
]


@pytest.mark.parametrize("path", POSTS)
def test_post_without_csrf_is_forbidden(tmp_path: Path, path: str) -> None:
    """A form post without the CSRF token answers 403 and changes nothing."""
    client, couple, solo = populated(tmp_path)
    before = dump(client)
    code, _, _ = client.post_form(
        path.format(studio=couple.studio, student=couple.student, solo=solo),
        {"name": "Changed", "direction": "down"},
        csrf=False,
    )
    assert code == 403
    assert dump(client) == before


@pytest.mark.parametrize(
    "path",
    [
        "/studios/0/edit",
        "/studios/999/edit",
        "/people/0/edit",
        "/people/999/edit",
        "/people/0/entries",
        "/dances/999/edit",
        "/categories/999/edit",
        "/solos/999/edit",
    ],
)
def test_missing_or_built_in_rows_are_not_found(tmp_path: Path, path: str) -> None:
    """Event Staff, Nobody and ids that do not exist have no edit page (404)."""
    client, _, _ = populated(tmp_path)
    code, _ = client.get(path)
    assert code == 404


def test_entries_page_is_for_students_only(tmp_path: Path) -> None:
    """A professional's entries are entered from their students' pages (404 here)."""
    client, couple, _ = populated(tmp_path)
    code, _ = client.get(f"/people/{couple.pro}/entries")
    assert code == 404
