"""People: new, edit, delete, the judges row, name rules, back numbers."""

from __future__ import annotations

from pathlib import Path

import pytest
from markupsafe import escape
from organizer_support import Couple, dump, insert, new_event, person, refused, saved, studio

from tests.eventsupport import EventClient


def student_form(studio: int, **changes: str) -> dict[str, str]:
    data = {
        "name": "Jane Doe",
        "type": "Student",
        "role": "Follower",
        "studio_id": str(studio),
        "level_id": "3",
        "age_id": "2",
        "back": "",
        "exclude_id": "",
        "available": "",
    }
    data.update(changes)
    return data


def stored(client: EventClient, name: str) -> dict[str, object]:
    row = client.db.one("SELECT * FROM people WHERE name = ?", [name])
    assert row is not None
    return dict(row)


def test_new_student_saved_last_first(tmp_path: Path) -> None:
    """A student entered "First Last" is stored "Last, First" with their details."""
    client = new_event(tmp_path)
    studio_id = studio(client)
    data = student_form(studio_id, name="  Jane   Doe ", back="105", available="<9:30")
    saved(client, "/people/new", data, "/people")
    row = stored(client, "Doe, Jane")
    assert (row["type"], row["role"], row["studio_id"]) == ("Student", "Follower", studio_id)
    assert (row["level_id"], row["age_id"], row["back"], row["available"]) == (3, 2, 105, "<09:30")
    _, body = client.get("/people")
    assert "Jane Doe" in body


def test_person_edited(tmp_path: Path) -> None:
    """Editing a person saves the changes, including a person to exclude."""
    client = new_event(tmp_path)
    couple = Couple(client)
    data = student_form(
        couple.studio, name="Doe, Janet", available=">18:00", exclude_id=str(couple.pro)
    )
    saved(client, f"/people/{couple.student}/edit", data, "/people")
    row = stored(client, "Doe, Janet")
    assert (row["id"], row["available"], row["exclude_id"]) == (
        couple.student,
        ">18:00",
        couple.pro,
    )


def test_filter_by_type_and_studio(tmp_path: Path) -> None:
    """The people list shows only the chosen type and studio."""
    client = new_event(tmp_path)
    couple = Couple(client)
    other = studio(client, "Summit")
    person(client, "Roe, Rita", studio_id=other)
    _, body = client.get("/people?type=Student")
    assert "Jane Doe" in body and "Rita Roe" in body and "Arthur Murray" not in body
    _, body = client.get(f"/people?studio={couple.studio}")
    assert "Jane Doe" in body and "Arthur Murray" in body and "Rita Roe" not in body


def test_judge_gets_a_judges_row(tmp_path: Path) -> None:
    """A new Judge is put in Event Staff and gets a judges row with present, ballroom and sort."""
    client = new_event(tmp_path)
    data = {
        "name": "Judy Sheindlin",
        "type": "Judge",
        "studio_id": "",
        "judge_present": "1",
        "judge_ballroom": "B",
        "judge_sort": "level",
    }
    saved(client, "/people/new", data, "/people")
    row = stored(client, "Sheindlin, Judy")
    assert (row["studio_id"], row["role"]) == (0, None)
    judge = client.db.one(
        "SELECT present, ballroom, sort FROM judges WHERE person_id = ?", [row["id"]]
    )
    assert tuple(judge) == (1, "B", "level")


def test_judge_no_longer_a_judge_loses_the_row(tmp_path: Path) -> None:
    """A judge without scores who becomes an Emcee loses the judges row."""
    client = new_event(tmp_path)
    judge = person(client, "Sheindlin, Judy", "Judge", "Both")
    insert(client, "judges", person_id=judge)
    data = {"name": "Judy Sheindlin", "type": "Emcee", "role": ""}
    saved(client, f"/people/{judge}/edit", data, "/people")
    assert client.db.value("SELECT count(*) FROM judges") == 0


def test_judge_with_scores_stays_a_judge(tmp_path: Path) -> None:
    """A judge who has given scores can't change type (422)."""
    client = new_event(tmp_path)
    judge = person(client, "Sheindlin, Judy", "Judge", "Both")
    insert(client, "judges", person_id=judge)
    insert(client, "scores", judge_id=judge, heat_id=1, value="G")
    data = {"name": "Judy Sheindlin", "type": "Emcee"}
    refused(client, f"/people/{judge}/edit", data, "This judge has scores: the type stays Judge.")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "Jane & John Doe"}, 'A name may not contain "&" or " and "'),
        ({"name": "Jane and John Doe"}, 'A name may not contain "&" or " and "'),
        ({"name": ""}, "Enter a name."),
        ({"type": "Wizard"}, "Not one of the choices."),
        ({"role": ""}, "Choose Leader, Follower or Both."),
        ({"studio_id": "0"}, "Students and professionals belong to a studio, not Event Staff."),
        ({"studio_id": "999"}, "Not one of the choices."),
        ({"level_id": ""}, "Choose the student's level."),
        ({"age_id": ""}, "Choose the student's age group."),
        ({"back": "abc"}, "Enter a whole number."),
        ({"available": "9:30"}, "Enter <HH:MM (leaves before) or >HH:MM (arrives after)"),
        ({"available": "<25:00"}, "Enter <HH:MM (leaves before) or >HH:MM (arrives after)."),
        ({"exclude_id": "999"}, "Not one of the choices."),
    ],
)
def test_person_refused(tmp_path: Path, changes: dict[str, str], message: str) -> None:
    """Each rule on a person answers 422 with its message and saves nothing."""
    client = new_event(tmp_path)
    studio_id = studio(client)
    refused(client, "/people/new", student_form(studio_id, **changes), message)


def test_name_unique_per_type(tmp_path: Path) -> None:
    """Two people of one type can't share a name; another type may."""
    client = new_event(tmp_path)
    couple = Couple(client)
    data = student_form(couple.studio, name="Jane Doe")
    refused(client, "/people/new", data, "There is already a Student of that name.")
    pro = {**data, "type": "Professional", "role": "Leader", "level_id": ""}
    saved(client, "/people/new", pro, "/people")


def test_back_numbers_unique(tmp_path: Path) -> None:
    """A back number already worn by someone else is refused, naming its wearer."""
    client = new_event(tmp_path)
    couple = Couple(client)
    client.db.conn.execute("UPDATE people SET back = 101 WHERE id = ?", [couple.pro])
    refused(
        client,
        "/people/new",
        student_form(couple.studio, name="Rita Roe", back="101"),
        "Back number 101 is Arthur Murray's.",
    )


def test_person_can_not_exclude_themselves(tmp_path: Path) -> None:
    """A person is not offered, and may not choose, themselves to exclude."""
    client = new_event(tmp_path)
    couple = Couple(client)
    data = student_form(couple.studio, exclude_id=str(couple.student))
    refused(client, f"/people/{couple.student}/edit", data, "Not one of the choices.")


def test_person_without_entries_deleted(tmp_path: Path) -> None:
    """A person with no entries is deleted, and others stop excluding them."""
    client = new_event(tmp_path)
    couple = Couple(client)
    client.db.conn.execute(
        "UPDATE people SET exclude_id = ? WHERE id = ?", [couple.student, couple.pro]
    )
    saved(client, f"/people/{couple.student}/delete", {}, "/people")
    assert client.db.value("SELECT count(*) FROM people WHERE id = ?", [couple.student]) == 0
    assert client.db.value("SELECT exclude_id FROM people WHERE id = ?", [couple.pro]) is None


def test_person_with_entries_not_deleted(tmp_path: Path) -> None:
    """A person with entries is not deleted: 409 with a message, nothing changed."""
    client = new_event(tmp_path)
    couple = Couple(client)
    couple.entry(level_id=1, age_id=1)
    before = dump(client)
    code, body, _ = client.post_form(f"/people/{couple.student}/delete", {})
    assert code == 409
    assert str(escape("Not deleted: this person has 1 entry.")) in body
    assert dump(client) == before


def test_nobody_is_built_in(tmp_path: Path) -> None:
    """Person 0 (Nobody) is neither listed, edited nor deleted."""
    client = new_event(tmp_path)
    before = dump(client)
    assert client.post_form("/people/0/edit", {"name": "Somebody", "type": "Guest"})[0] == 404
    assert client.post_form("/people/0/delete", {})[0] == 404
    assert dump(client) == before
    _, body = client.get("/people")
    assert "Nobody</td>" not in body


def test_back_numbers_assigned_from_100_in_name_order(tmp_path: Path) -> None:
    """Students and leading professionals without a back get unique numbers from 100 up
    in name order; existing numbers are kept and skipped; others get none."""
    client = new_event(tmp_path)
    studio_id = studio(client)
    zed = person(client, "Zed, Amy", studio_id=studio_id)
    abel = person(client, "Abel, Ben", studio_id=studio_id)
    kept = person(client, "Kay, Kim", studio_id=studio_id, back=101)
    lead = person(client, "Murray, Arthur", "Professional", "Leader", studio_id)
    pro_follow = person(client, "Murray, Kathryn", "Professional", "Follower", studio_id)
    judge = person(client, "Sheindlin, Judy", "Judge", "Both")
    saved(client, "/people/backs", {}, "/people?assigned=3")
    backs = dict(client.db.query("SELECT id, back FROM people"))
    assert [backs[abel], backs[lead], backs[zed]] == [100, 102, 103]
    assert backs[kept] == 101
    assert backs[pro_follow] is None and backs[judge] is None
    assert backs[0] == 0
    numbers = [b for b in backs.values() if b is not None]
    assert len(numbers) == len(set(numbers))
    _, body = client.get("/people?assigned=3")
    assert "3 back numbers assigned." in body
