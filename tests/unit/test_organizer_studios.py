"""Studios: list, new, edit, delete; Event Staff is built in; a studio with people stays."""

from __future__ import annotations

from pathlib import Path

from markupsafe import escape
from organizer_support import dump, new_event, person, refused, saved, studio


def test_new_studio_saved(tmp_path: Path) -> None:
    """A new studio is saved with its e-mail and ballroom, then the list shows it."""
    client = new_event(tmp_path)
    data = {"name": "Maple Grove", "email": "desk@maple.example", "ballroom": "B"}
    saved(client, "/studios/new", data, "/studios")
    row = client.db.one("SELECT name, email, ballroom FROM studios WHERE id > 0")
    assert tuple(row) == ("Maple Grove", "desk@maple.example", "B")
    _, body = client.get("/studios")
    assert "Maple Grove" in body


def test_studio_edited(tmp_path: Path) -> None:
    """Editing a studio changes its name; an empty ballroom is stored as none."""
    client = new_event(tmp_path)
    studio_id = studio(client, "Harborview")
    saved(client, f"/studios/{studio_id}/edit", {"name": "Harbor View", "ballroom": ""}, "/studios")
    row = client.db.one("SELECT name, ballroom FROM studios WHERE id = ?", [studio_id])
    assert tuple(row) == ("Harbor View", None)


def test_studio_names_unique(tmp_path: Path) -> None:
    """A second studio of the same name (in any case) is refused with 422."""
    client = new_event(tmp_path)
    studio(client, "Harborview")
    refused(
        client, "/studios/new", {"name": "harborview"}, "There is already a studio of that name."
    )


def test_studio_needs_a_name(tmp_path: Path) -> None:
    """A studio without a name is refused with 422."""
    client = new_event(tmp_path)
    refused(client, "/studios/new", {"name": "  "}, "Enter the studio's name.")


def test_studio_email_and_ballroom_checked(tmp_path: Path) -> None:
    """A malformed e-mail and an unknown ballroom are refused, each beside its field."""
    client = new_event(tmp_path)
    body = refused(
        client,
        "/studios/new",
        {"name": "Summit", "email": "not an address", "ballroom": "E"},
        "Enter an e-mail address like name@example.com.",
    )
    assert 'id="ballroom-error"' in body


def test_empty_studio_deleted(tmp_path: Path) -> None:
    """A studio without people is deleted."""
    client = new_event(tmp_path)
    studio_id = studio(client, "Riverside")
    saved(client, f"/studios/{studio_id}/delete", {}, "/studios")
    assert client.db.value("SELECT count(*) FROM studios WHERE id = ?", [studio_id]) == 0


def test_studio_with_people_not_deleted(tmp_path: Path) -> None:
    """A studio that still has people is not deleted: 409 with a message, nothing changed."""
    client = new_event(tmp_path)
    studio_id = studio(client, "Riverside")
    person(client, "Doe, Jane", studio_id=studio_id)
    before = dump(client)
    code, body, _ = client.post_form(f"/studios/{studio_id}/delete", {})
    assert code == 409
    assert str(escape("Riverside still has 1 person: move or delete them first.")) in body
    assert dump(client) == before


def test_event_staff_is_built_in(tmp_path: Path) -> None:
    """Event Staff (studio 0) can be neither edited nor deleted."""
    client = new_event(tmp_path)
    before = dump(client)
    assert client.post_form("/studios/0/edit", {"name": "Staff"})[0] == 404
    assert client.post_form("/studios/0/delete", {})[0] == 404
    assert dump(client) == before
    _, body = client.get("/studios")
    assert "Event Staff" in body
    assert "/studios/0/edit" not in body
