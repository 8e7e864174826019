"""Gradebooks: the per-submission CSV, shards joined, one row per student, Canvas' import format.

The grader writes one row per submission (:func:`write_gradebook`). From that CSV, or from
several shard CSVs joined by :func:`merge`, :func:`by_student` pivots to one row per student
(one column per exercise set, and optionally per question) and :func:`write_canvas` writes
what Canvas' gradebook import takes. A set a student did not submit is an empty cell, never 0.

A student is the first folder of a submission's path (``alice/07_clipping.ipynb`` is
``alice``), or the file name for a notebook at the top of the folder; name the folders by the
students' login IDs for Canvas.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vgrad_course.grading import checks

#: The first columns of Canvas' gradebook CSV (it matches students by ID or SIS/login ID).
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
_FIXED = ["student", "set"]
_TOTALS = ["total", "max_points"]


@dataclass
class Row:
    """One gradebook row: a submission's scores and feedback.

    Attributes:
        student: The submission's name.
        set_name: Its exercise set (``""`` when unknown).
        scores: Points per question id.
        max_scores: Points available per question id.
        feedback: The text written to its feedback file.
    """

    student: str
    set_name: str
    scores: dict[str, float] = field(default_factory=dict)
    max_scores: dict[str, float] = field(default_factory=dict)
    feedback: str = ""

    @property
    def total(self) -> float:
        """Points earned."""
        return float(sum(self.scores.values()))


def write_gradebook(rows: list[Row], out: Path, feedback_dir: Path) -> list[str]:
    """Write the CSV gradebook and one feedback file per row.

    Args:
        rows: The graded submissions.
        out: The CSV path.
        feedback_dir: Folder for ``<student>.txt`` feedback files.

    Returns:
        The CSV's question columns.

    Used in: "Graded exercises" (the grader).
    """
    checks.load_all()
    sets = [s for s in checks.SETS if any(r.set_name == s for r in rows)]
    columns = [q for s in sets for q in checks.questions_of(s)]
    out.parent.mkdir(parents=True, exist_ok=True)
    feedback_dir.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*_FIXED, *columns, *_TOTALS])
        for r in rows:
            cells = [f"{r.scores[q]:g}" if q in r.scores else "" for q in columns]
            most = sum(r.max_scores.values())
            writer.writerow([r.student, r.set_name, *cells, f"{r.total:g}", f"{most:g}"])
            (feedback_dir / f"{r.student}.txt").write_text(r.feedback)
    return columns


def read_gradebook(path: Path) -> list[dict[str, str]]:
    """Read a per-submission gradebook written by :func:`write_gradebook`.

    Args:
        path: The CSV.

    Returns:
        One dict per row (column name -> cell text).

    Raises:
        ValueError: If the file is not such a gradebook.

    Used in: "Graded exercises" (the grader).
    """
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        if header[:2] != _FIXED or header[-2:] != _TOTALS:
            raise ValueError(f"{path} is not a grader gradebook (its header is {header[:3]}...)")
        return list(reader)


def shard_record(out: Path) -> Path:
    """The file beside a shard's gradebook that says which shard it is."""
    return out.with_name(out.name + ".shard.json")


def write_shard_record(out: Path, shard: tuple[int, int], students: Sequence[str]) -> None:
    """Record that ``out`` holds shard ``i/n`` with these submissions (read by :func:`merge`).

    Used in: "Graded exercises" (the grader).
    """
    record = {"shard": list(shard), "students": sorted(students)}
    shard_record(out).write_text(json.dumps(record, indent=1) + "\n")


def merge(shards: Sequence[Path], out: Path, feedback_dir: Path) -> list[dict[str, str]]:
    """Join shard gradebooks (and their feedback) into one, refusing a mismatched set of shards.

    Each shard is a gradebook written with ``--shard i/n``, its record beside it and its
    feedback in ``feedback/`` next to it. The shards must be ``1/n`` to ``n/n``, each once,
    with no submission in two of them.

    Args:
        shards: The shard CSVs.
        out: The merged CSV.
        feedback_dir: Where the merged feedback files go.

    Returns:
        The merged rows, sorted by submission name.

    Raises:
        ValueError: With what is wrong: a missing record, shards of different ``n``, a shard
            given twice or missing, a submission in two shards.

    Used in: "Graded exercises" (the grader).
    """
    if not shards:
        raise ValueError("merge needs the shard gradebooks (e.g. shard-*.csv)")
    seen: dict[int, Path] = {}
    owner: dict[str, Path] = {}
    rows: list[dict[str, str]] = []
    counts = set()
    for path in shards:
        record_path = shard_record(path)
        if not record_path.is_file():
            raise ValueError(f"{path}: no {record_path.name}: was it graded with --shard i/n?")
        record = json.loads(record_path.read_text())
        i, n = record["shard"]
        counts.add(n)
        if i in seen:
            raise ValueError(f"shard {i}/{n} given twice: {seen[i]} and {path}")
        seen[i] = path
        for row in read_gradebook(path):
            if row["student"] in owner:
                raise ValueError(
                    f"{row['student']} is in two shards: {owner[row['student']]}, {path}"
                )
            owner[row["student"]] = path
            rows.append(row)
    if len(counts) > 1:
        raise ValueError(f"the shards split the class differently (n = {sorted(counts)})")
    n = counts.pop()
    missing = sorted(set(range(1, n + 1)) - set(seen))
    if missing:
        raise ValueError(f"shards missing: {', '.join(f'{i}/{n}' for i in missing)}")
    rows.sort(key=lambda r: r["student"])
    _write_rows(rows, out)
    feedback_dir.mkdir(parents=True, exist_ok=True)
    for path in shards:
        for text in sorted((path.parent / "feedback").glob("*.txt")):
            if text.stem in owner and owner[text.stem] == path:
                shutil.copyfile(text, feedback_dir / text.name)
    return rows


def _write_rows(rows: list[dict[str, str]], out: Path) -> None:
    """Write rows read from gradebooks as one gradebook (question columns in course order)."""
    checks.load_all()
    present = {k for r in rows for k in r} - set(_FIXED) - set(_TOTALS)
    order = [q for s in checks.SETS for q in checks.questions_of(s)]
    columns = [q for q in order if q in present] + sorted(present - set(order))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, [*_FIXED, *columns, *_TOTALS], restval="")
        writer.writeheader()
        writer.writerows(rows)


def person(submission: str) -> str:
    """The student a submission belongs to: its first folder, else its file name.

    Used in: "Graded exercises" (the grader).
    """
    return submission.split("__", 1)[0]


def by_student(
    rows: Sequence[dict[str, str]], *, questions: bool = False
) -> tuple[list[str], list[dict[str, str]], dict[str, str]]:
    """Pivot per-submission rows to one row per student.

    Args:
        rows: Rows of a per-submission gradebook (:func:`read_gradebook`).
        questions: Also one column per question.

    Returns:
        ``(columns, rows, max_points)``: a set's column holds the student's total for it (their
        best submission of that set), empty when they submitted none; ``max_points`` maps each
        column to the points it is out of.

    Used in: "Graded exercises" (the grader).
    """
    checks.load_all()
    sets = [s for s in checks.SETS if any(r["set"] == s for r in rows)]
    columns, most = [], {}
    for s in sets:
        columns.append(s)
        most[s] = f"{max(float(r['max_points']) for r in rows if r['set'] == s):g}"
        if questions:
            columns += checks.questions_of(s)
    best: dict[tuple[str, str], dict[str, str]] = {}
    for r in rows:
        key = (person(r["student"]), r["set"])
        if r["set"] and (key not in best or float(r["total"]) > float(best[key]["total"])):
            best[key] = r
    people = sorted({person(r["student"]) for r in rows})
    out = []
    for who in people:
        line = {"student": who}
        for s in sets:
            r = best.get((who, s))
            line[s] = r["total"] if r else ""
            if questions:
                line.update({q: (r.get(q, "") if r else "") for q in checks.questions_of(s)})
        out.append(line)
    return columns, out, most


def write_by_student(rows: Sequence[dict[str, str]], out: Path, *, questions: bool) -> None:
    """Write :func:`by_student`'s pivot as a CSV (a "points possible" row first).

    Used in: "Graded exercises" (the grader).
    """
    columns, pivot, most = by_student(rows, questions=questions)
    with out.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, ["student", *columns], restval="")
        writer.writeheader()
        writer.writerow({"student": "(points possible)", **most})
        writer.writerows(pivot)


def write_canvas(rows: Sequence[dict[str, str]], out: Path) -> None:
    """Write a CSV that Canvas' gradebook import accepts: one assignment column per set.

    The header is Canvas' own (``Student, ID, SIS User ID, SIS Login ID, Section``, then one
    column per assignment), the second row ``Points Possible``. Students are matched by
    ``SIS Login ID`` (the submission folder's name); a set not submitted is left empty, so
    the import leaves that grade as it was.

    Used in: "Graded exercises" (the grader).
    """
    _, pivot, most = by_student(rows)
    sets = list(most)
    titles = {s: f"vgrad {checks.SETS[s]}" for s in sets}
    with out.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*CANVAS_COLUMNS, *(titles[s] for s in sets)])
        writer.writerow(["Points Possible", "", "", "", "", *(most[s] for s in sets)])
        for line in pivot:
            who = line["student"]
            writer.writerow([who, "", "", who, "", *(line[s] for s in sets)])
