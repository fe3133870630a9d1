"""A student's results (``people/<id>/scores.pdf``): each scored heat, each judge's mark.

One row per scheduled heat the person danced (as lead, follow or formation member)
that a judge has scored: the heat, dance, level and age, partner, each judge's mark in
the heat's own scale (GH/G/S/B, 1/2/3/F, a number) with feedback codes (+ good,
- needs work), the points it is worth, and the judges' comments.  A heat is one row,
so a page break never splits it.
"""

from __future__ import annotations

from typing import Any

from reportlab.platypus import Paragraph, Spacer

from .layout import FAINT, SHADE, Document, escape
from .model import Dict, PrintData, kind_dance, level_age


def student(data: PrintData, person_id: int | None) -> bytes | None:
    if person_id is None or person_id not in data.people:
        return None
    someone = data.people[person_id]
    doc = Document(data, "Results")
    rows = scored_heats(data, person_id)
    judge_ids = sorted(
        {s["judge_id"] for _, _, scores in rows for s in scores},
        key=lambda j: (data.name(j).casefold(), j),
    )
    initials = _initials(data, judge_ids)
    facts = [
        f"Back {someone['back']}" if someone.get("back") else "",
        str(someone.get("studio") or ""),
    ]
    story: list[Any] = [
        Paragraph(escape(str(someone.get("name") or "")), doc.style(16, bold=True)),
        Paragraph(escape(" · ".join(f for f in facts if f)), doc.style(9)),
        Spacer(0, 6),
    ]
    if not rows:
        story.append(Paragraph("No scores yet.", doc.style(10)))
        return doc.build(story)
    legend = ", ".join(f"{initials[j]} {data.name(j)}" for j in judge_ids)
    story += [Paragraph(escape(f"Judges: {legend}"), doc.style(8.5)), Spacer(0, 6)]
    story.append(results_table(doc, data, person_id, rows, judge_ids, initials))
    total = sum(s.get("points") or 0 for _, _, scores in rows for s in scores)
    story += [Spacer(0, 8), Paragraph(f"Total points: {total}", doc.style(10, bold=True))]
    return doc.build(story)


def scored_heats(data: PrintData, person_id: int) -> list[tuple[Dict, Dict, list[Dict]]]:
    """(heat, couple, scores) of each heat the person danced that has scores."""
    found = []
    for _section, heat, couple, role in data.person_heats(person_id):
        if role == "instructor":
            continue
        scores = data.scores_of(couple["heat_id"])
        if scores:
            found.append((heat, couple, scores))
    return found


def results_table(
    doc: Document,
    data: PrintData,
    person_id: int,
    rows: list[tuple[Dict, Dict, list[Dict]]],
    judge_ids: list[int],
    initials: dict[int, str],
) -> Any:
    judge_width = max(22.0, min(36.0, (doc.width - 380) / max(1, len(judge_ids))))
    widths = [30.0, 82.0, 78.0, 100.0, *([judge_width] * len(judge_ids)), 34.0]
    widths.append(max(60.0, doc.width - sum(widths)))
    header = ["Heat", "Dance", "Level", "Partner", *(initials[j] for j in judge_ids), "Points"]
    table: list[list[Any]] = [[*header, "Comments"]]
    for heat, couple, scores in rows:
        role = "lead" if couple.get("lead") == person_id else "follow"
        if couple.get("lead") != person_id and couple.get("follow") != person_id:
            role = "formation"
        by_judge: dict[int, list[Dict]] = {}
        for score in scores:
            by_judge.setdefault(score["judge_id"], []).append(score)
        comments = [
            f"{initials.get(s['judge_id'], '')}: {s['comments']}"
            for s in scores
            if s.get("comments")
        ]
        points = [s["points"] for s in scores if s.get("points") is not None]
        table.append(
            [
                str(heat.get("label") or ""),
                doc.cell(kind_dance(heat), widths[1], 8.5),
                doc.cell(level_age(couple), widths[2], 8.5),
                doc.cell(data.partner(couple, person_id, role), widths[3], 8.5),
                *(doc.cell(_marks(by_judge.get(j, [])), judge_width) for j in judge_ids),
                str(sum(points)) if points else "",
                Paragraph(escape("\n".join(comments)).replace("\n", "<br/>"), doc.style(8))
                if comments
                else "",
            ]
        )
    last_mark = 3 + len(judge_ids)
    commands = [
        ("FONT", (0, 0), (-1, 0), doc.fonts.bold, doc.fonts.size(8.5)),
        ("BACKGROUND", (0, 0), (-1, 0), SHADE),
        ("ALIGN", (4, 0), (last_mark + 1, -1), "CENTER"),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, FAINT),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    return doc.table(table, widths, 8.5, commands, repeatRows=1)


def _marks(scores: list[Dict]) -> str:
    """One judge's marks on a heat (one per slot), with feedback codes."""
    texts = []
    for score in sorted(scores, key=lambda s: s.get("slot") or 0):
        words = [str(score.get("mark") or "")]
        if score.get("good"):
            words.append("+" + "+".join(str(score["good"]).split()))
        if score.get("bad"):
            words.append("-" + "-".join(str(score["bad"]).split()))
        texts.append(" ".join(w for w in words if w))
    return " ".join(t for t in texts if t)


def _initials(data: PrintData, judge_ids: list[int]) -> dict[int, str]:
    """Each judge's initials (a column heading), numbered where two judges share them."""
    found: dict[int, str] = {}
    for judge_id in judge_ids:
        name = data.name(judge_id)
        short = "".join(w[0] for w in name.split() if w[:1].isalpha()).upper() or str(judge_id)
        taken = sum(1 for v in found.values() if v.rstrip("0123456789") == short)
        found[judge_id] = f"{short}{taken + 1}" if taken else short
    return found
