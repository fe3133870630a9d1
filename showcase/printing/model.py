"""The print data (``showcase.event.print_data``'s dict) with the lookups the renderers share.

Pure Python, no reportlab: who is who, the heats in agenda order, a person's heats,
the heats a judge scores, the scores of a heat.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

VERSION = 1

Dict = dict[str, Any]


class PrintDataError(ValueError):
    """Print data this version cannot read; the message says what is wrong."""


class PrintData:
    """Read-only views over one print-data dict."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        if not isinstance(data, Mapping) or data.get("version") != VERSION:
            found = data.get("version") if isinstance(data, Mapping) else type(data).__name__
            raise PrintDataError(f"print data version {found!r} is not {VERSION}")
        self.data = data
        self.event: Dict = dict(data.get("event") or {})
        self.people: dict[int, Dict] = {p["id"]: p for p in data.get("people") or ()}
        self.studios: dict[int, Dict] = {s["id"]: s for s in data.get("studios") or ()}
        self.judges: dict[int, Dict] = {j["id"]: j for j in data.get("judges") or ()}
        self.sections: list[Dict] = list(data.get("sections") or ())
        self.scores: list[Dict] = list(data.get("scores") or ())
        self._by_person: dict[int, list[tuple[Dict, Dict, Dict, str]]] | None = None
        self._by_heat: dict[int, list[Dict]] | None = None

    # -- people ---------------------------------------------------------------------

    def name(self, person_id: int | None) -> str:
        """A person's name as printed ("" for Nobody or someone unknown)."""
        if not person_id:
            return ""
        return str(self.people.get(person_id, {}).get("name") or "")

    def couple_names(self, couple: Dict) -> str:
        """ "Lead & Follow" (and formation members), Nobody left out."""
        ids = [couple.get("lead"), couple.get("follow"), *(couple.get("formation") or ())]
        return " & ".join(n for n in (self.name(i) for i in ids) if n)

    # -- heats ----------------------------------------------------------------------

    def heats(self) -> Iterator[tuple[Dict, Dict]]:
        """Every scheduled heat in agenda order, with its section."""
        for section in self.sections:
            for heat in section.get("heats") or ():
                yield section, heat

    def person_heats(self, person_id: int) -> list[tuple[Dict, Dict, Dict, str]]:
        """(section, heat, couple, role) of every heat the person is on the floor for.

        ``role`` is "lead", "follow", "formation" or "instructor" (of a couple's entry).
        """
        return self._heats_by_person().get(person_id, [])

    def people_with_heats(self, studio_id: int | None = None) -> list[Dict]:
        """The people with at least one scheduled heat (of a studio), by name."""
        dancing = self._heats_by_person()
        found = [
            p
            for p in self.people.values()
            if p["id"] in dancing and (studio_id is None or p.get("studio_id") == studio_id)
        ]
        return sorted(found, key=lambda p: (str(p.get("name") or "").casefold(), p["id"]))

    def _heats_by_person(self) -> dict[int, list[tuple[Dict, Dict, Dict, str]]]:
        if self._by_person is None:
            found: dict[int, list[tuple[Dict, Dict, Dict, str]]] = {}
            for section, heat in self.heats():
                for couple in heat.get("couples") or ():
                    for pid, role in _roles(couple):
                        found.setdefault(pid, []).append((section, heat, couple, role))
            self._by_person = found
        return self._by_person

    def partner(self, couple: Dict, person_id: int, role: str) -> str:
        """Who a person dances with in a couple, as a heat sheet prints it."""
        if role == "lead":
            others = [couple.get("follow"), *(couple.get("formation") or ())]
        elif role == "follow":
            others = [couple.get("lead"), *(couple.get("formation") or ())]
        elif role == "instructor":
            return f"{self.couple_names(couple)} (instructor)"
        else:
            ids = [couple.get("lead"), couple.get("follow"), *(couple.get("formation") or ())]
            others = [i for i in ids if i != person_id]
        return " & ".join(n for n in (self.name(i) for i in others) if n)

    # -- scores ---------------------------------------------------------------------

    def scores_of(self, heat_id: int) -> list[Dict]:
        """The scores of one couple's heat row."""
        return self._scores_by_heat().get(heat_id, [])

    def _scores_by_heat(self) -> dict[int, list[Dict]]:
        if self._by_heat is None:
            found: dict[int, list[Dict]] = {}
            for score in self.scores:
                found.setdefault(score["heat_id"], []).append(score)
            self._by_heat = found
        return self._by_heat


def _roles(couple: Dict) -> Iterator[tuple[int, str]]:
    seen = set()
    pairs = [
        (couple.get("lead"), "lead"),
        (couple.get("follow"), "follow"),
        *((member, "formation") for member in couple.get("formation") or ()),
        (couple.get("instructor"), "instructor"),
    ]
    for pid, role in pairs:
        if pid and pid not in seen:
            seen.add(pid)
            yield pid, role


def level_age(couple: Dict) -> str:
    """ "Full Bronze B": the couple's level and age group."""
    return " ".join(t for t in (couple.get("level") or "", couple.get("age") or "") if t)


def kind_dance(heat: Dict) -> str:
    """ "Closed Waltz"; a solo says "Solo Rumba"."""
    return " ".join(t for t in (heat.get("kind") or "", heat.get("dance") or "") if t)
