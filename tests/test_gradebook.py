"""Gradebooks for a class: stable shards, merging them, one row per student, Canvas' format."""

from __future__ import annotations

import csv
import json
from collections import Counter

import pytest

from vgrad_course.grading import cli
from vgrad_course.grading.gradebook import (
    CANVAS_COLUMNS,
    Row,
    by_student,
    merge,
    read_gradebook,
    write_canvas,
    write_gradebook,
    write_shard_record,
)
from vgrad_course.grading.shards import parse_shard, shard_of


@pytest.mark.parametrize(("text", "expected"), [("1/1", (1, 1)), (" 2 / 4 ", (2, 4))])
def test_a_shard_is_i_of_n(text, expected):
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text", ["0/4", "5/4", "2", "a/b", "-1/2"])
def test_a_bad_shard_is_refused_with_the_form_to_use(text):
    with pytest.raises(ValueError, match="i/n|between 1 and n"):
        parse_shard(text)


def test_shards_are_stable_and_split_a_class_evenly():
    names = [f"student{i:03d}__07_clipping" for i in range(600)]
    counts = Counter(shard_of(n, 3) for n in names)
    assert set(counts) == {1, 2, 3} and min(counts.values()) > 150
    assert shard_of("alice__07_clipping", 4) == shard_of("alice__07_clipping", 4)
    # The same on every machine: SHA-256 of the name, not Python's salted hash().
    assert [shard_of(n, 4) for n in ("alice", "bob", "carol")] == [
        int(__import__("hashlib").sha256(n.encode()).hexdigest()[:16], 16) % 4 + 1
        for n in ("alice", "bob", "carol")
    ]


def _row(student: str, set_name: str, scores: dict[str, float], most: float) -> Row:
    row = Row(student, set_name, dict(scores), {q: most / len(scores) for q in scores})
    row.feedback = f"feedback of {student}"
    return row


def _shard(tmp_path, i: int, n: int, rows: list[Row]):
    folder = tmp_path / f"shard{i}"
    out = folder / "grades.csv"
    write_gradebook(rows, out, folder / "feedback")
    write_shard_record(out, (i, n), [r.student for r in rows])
    return out


def _class(tmp_path):
    alice = _row("alice__01_gradient_descent", "gd", {"gd.step": 5, "gd.max_lr": 2}, 9)
    bob = _row("bob__01_gradient_descent", "gd", {"gd.step": 1, "gd.max_lr": 0}, 9)
    bob2 = _row("bob__01_gd_again", "gd", {"gd.step": 5, "gd.max_lr": 0}, 9)
    alice_bp = _row("alice__02_backprop", "backprop", {"backprop.chain": 2}, 2)
    return [_shard(tmp_path, 1, 2, [alice, bob]), _shard(tmp_path, 2, 2, [bob2, alice_bp])]


def test_merge_joins_rows_and_feedback(tmp_path):
    rows = merge(_class(tmp_path), tmp_path / "all.csv", tmp_path / "fb")
    assert [r["student"] for r in rows] == sorted(r["student"] for r in rows)
    assert len(read_gradebook(tmp_path / "all.csv")) == 4
    assert (tmp_path / "fb" / "bob__01_gd_again.txt").read_text() == "feedback of bob__01_gd_again"
    header = (tmp_path / "all.csv").read_text().splitlines()[0].split(",")
    assert header.index("gd.step") < header.index("backprop.chain")  # course order


@pytest.mark.parametrize("fault", ["missing", "twice", "overlap", "other n", "no record"])
def test_merge_refuses_shards_that_do_not_fit(tmp_path, fault):
    one, two = _class(tmp_path)
    shards = [one, two]
    if fault == "missing":
        shards = [one]
    elif fault == "twice":
        shards = [one, one]
    elif fault == "overlap":
        record = json.loads((two.parent / "grades.csv.shard.json").read_text())
        rows = list(csv.reader(one.open()))
        with two.open("a", newline="") as fh:  # alice's row also in shard 2
            csv.writer(fh).writerow(rows[1])
        assert record["shard"] == [2, 2]
    elif fault == "other n":
        write_shard_record(two, (2, 3), [])
    else:
        (two.parent / "grades.csv.shard.json").unlink()
    message = {
        "missing": "shards missing: 2/2",
        "twice": "given twice",
        "overlap": "in two shards",
        "other n": "split the class differently",
        "no record": "--shard",
    }[fault]
    with pytest.raises(ValueError, match=message):
        merge(shards, tmp_path / "all.csv", tmp_path / "fb")


def test_by_student_keeps_the_best_submission_and_leaves_missing_sets_empty(tmp_path):
    rows = merge(_class(tmp_path), tmp_path / "all.csv", tmp_path / "fb")
    columns, pivot, most = by_student(rows)
    assert columns == ["gd", "backprop"] and most == {"gd": "9", "backprop": "2"}
    by_name = {line["student"]: line for line in pivot}
    assert by_name["alice"] == {"student": "alice", "gd": "7", "backprop": "2"}
    assert by_name["bob"] == {"student": "bob", "gd": "5", "backprop": ""}  # none: empty, not 0
    columns, pivot, _ = by_student(rows, questions=True)
    assert (
        "gd.step" in columns and {line["student"]: line for line in pivot}["bob"]["gd.step"] == "5"
    )


def test_canvas_file_has_canvas_header_and_points_possible(tmp_path):
    rows = merge(_class(tmp_path), tmp_path / "all.csv", tmp_path / "fb")
    write_canvas(rows, tmp_path / "canvas.csv")
    lines = list(csv.reader((tmp_path / "canvas.csv").open()))
    assert lines[0][:5] == CANVAS_COLUMNS and lines[0][5:] == [
        "vgrad 01_gradient_descent",
        "vgrad 02_backprop",
    ]
    assert lines[1][0] == "Points Possible" and lines[1][5:] == ["9", "2"]
    bob = next(line for line in lines[2:] if line[0] == "bob")
    assert bob[3] == "bob" and bob[5:] == ["5", ""]


def test_the_command_line_merges_and_writes_the_views(tmp_path, capsys):
    shards = [str(p) for p in _class(tmp_path)]
    out = tmp_path / "merged" / "grades.csv"
    code = cli.main(["merge", *shards, "--out", str(out), "--by-student", "--format", "canvas"])
    assert code == 0
    assert (out.parent / "grades_by_student.csv").is_file()
    assert (out.parent / "grades_canvas.csv").is_file()
    assert cli.main(["merge", shards[0], "--out", str(out)]) == 2
    assert "shards missing" in capsys.readouterr().err
