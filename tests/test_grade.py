"""The grader, end to end: the fixtures, every solution and a hostile corpus.

One run (one grader process, ``--jobs 2``, each kernel in the default box) grades everything
that needs a kernel: fixture submissions with a known gradebook, every solution notebook but the
TensorFlow labs' (full marks), three copies of a partial submission (determinism across
workers), and notebooks that loop, hang, crash, flood the output, delete files, tamper with the
course package or swallow interrupts (:mod:`grading_corpus`). Two shard processes (``--shard
1/2`` and ``2/2``, each on its own copy, as on two machines) grade a varied share of it again
(:data:`SHARD_SKIP`, :data:`SHARD_SOLUTIONS`), to be merged and compared row for row with the
first run. Two small runs without containment (``--jobs 2`` and ``--jobs 1``) grade the
intruders, which overwrite or delete submitted originals by absolute path: in a box they cannot
see them (``test_containment.py``), so the snapshot that guards an uncontained run is tested
there. The limits of these runs are short (``--timeout 25 --call-timeout 4``) so that the
hostile cases are cheap (the endless loop burns the whole notebook limit); a solution notebook
needs about 2-6 s alone. The TensorFlow labs (3-5), whose checks train models in the reference
worker (about 20 s of CPU each, which kernels sharing two cores can double), are graded in a run
of their own with a limit a course would set (``--timeout 180``), once (sharding them again
would test nothing the other notebooks do not), together with every untouched exercise notebook
(0 points each). The fast tests that need no kernel are in ``test_grade_units.py``.
"""

from __future__ import annotations

import csv
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from grading_corpus import (
    APPENDED,
    INTRUDERS,
    INTRUDERS_DIR,
    TAMPER_LINE,
    UNREADABLE,
    write_corpus,
    write_intruders,
)

from vgrad_course.grading import checks
from vgrad_course.grading.containment import choose

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
COPIES = (1, 2)  # with the original: three gradings of the same notebook
TIMEOUT, CALL_TIMEOUT = 25, 4
LAB_TIMEOUT = 180  # the TensorFlow labs' run
#: The solutions whose checks need the reference worker (TensorFlow): graded in their own run.
TF_LABS = tuple(f"{checks.SETS[s]}.ipynb" for s in ("lab_doctor", "lab_clip", "lab_assign"))
HOSTILE_DIR = "hostile"  # the corpus's folder inside the submissions
HOSTILE = f"{HOSTILE_DIR}__"  # ... and the prefix it gives the student names
INTRUDER = f"{INTRUDERS_DIR}__"
#: What the shards grade again: every fixture and copy, the hostile corpus but the cases that
#: spend a time limit (their limits are tested once, in the first run), and four solutions of
#: four sets, so that the merged gradebook joins columns of several sets.
SHARD_SKIP = ("loop", "hang", "stubborn")
SHARD_SOLUTIONS = ("03_vanishing", "09_activations", "13_part_iv", "lab1_bptt_by_hand")


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _package() -> dict[Path, bytes]:
    """The bytes of every file of the installed package (Python's caches left out)."""
    return {
        p: p.read_bytes()
        for p in sorted((ROOT / "vgrad_course").rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open() as fh:
        return {r["student"]: {k: v for k, v in r.items() if v != ""} for r in csv.DictReader(fh)}


def _grade(subs: Path, jobs: int, *options: str, timeout: float = TIMEOUT) -> dict:
    """Grade ``subs`` in a grader process; what it wrote, and what it changed on disk."""
    before, fixtures_before = _hashes(subs), _hashes(FIXTURES)
    package_before = _package()
    out = subs.parent / "out" / "grades.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "vgrad_course.grade", str(subs), "--out", str(out)]
        + ["--jobs", str(jobs), "--timeout", str(timeout), "--call-timeout", str(CALL_TIMEOUT)]
        + list(options),
        capture_output=True,
        text=True,
        timeout=1500,
        cwd=subs.parent,
    )
    package_after = _package()
    changed = sorted(
        str(p.relative_to(ROOT))
        for p in package_before.keys() | package_after.keys()
        if package_before.get(p) != package_after.get(p)
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    feedback = out.parent / "feedback"
    return {
        "out": out,
        "stderr": proc.stderr,
        "rows": _rows(out),
        "feedback": {p.stem: p.read_text() for p in feedback.glob("*.txt")},
        "unchanged": before == _hashes(subs) and fixtures_before == _hashes(FIXTURES),
        "package_changed": changed,
    }


def _write_submissions(subs: Path, *, for_shards: bool = False) -> Path:
    """Fixtures, solutions (but the TensorFlow labs), copies and the hostile corpus, in ``subs``.

    ``for_shards``: the shards' class instead (see :data:`SHARD_SKIP`).
    """
    shutil.copytree(FIXTURES / "submissions", subs)
    if for_shards:
        (subs / "solutions").mkdir()
        for stem in SHARD_SOLUTIONS:
            shutil.copy(ROOT / "solutions" / f"{stem}.ipynb", subs / "solutions")
    else:
        ignore = shutil.ignore_patterns(*TF_LABS)
        shutil.copytree(ROOT / "solutions", subs / "solutions", ignore=ignore)
    write_corpus(subs / HOSTILE_DIR, skip=SHARD_SKIP if for_shards else ())
    for i in COPIES:
        shutil.copy(FIXTURES / "submissions" / "carol.ipynb", subs / f"carol_copy{i}.ipynb")
    # A truncated file (made here: ruff would reject it in the repository).
    (subs / "erin.ipynb").write_text('{"cells": [ {"cell_type": "code", "source": "max_lr = 0.5"')
    return subs


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade fixtures, solutions, copies and the hostile corpus in one run."""
    subs = _write_submissions(tmp_path_factory.mktemp("grade") / "submissions")
    return _grade(subs, jobs=2)


@pytest.fixture(scope="module")
def graded_labs(tmp_path_factory):
    """Grade the TensorFlow labs' solutions and every untouched exercise, with a course's limit.

    A class hands in blank notebooks too: each must score 0 through the grader, not only
    through the checker (``test_exercises.py``).
    """
    subs = tmp_path_factory.mktemp("labs") / "submissions"
    shutil.copytree(ROOT / "exercises", subs / "exercises", ignore=shutil.ignore_patterns("*.md"))
    (subs / "solutions").mkdir()
    for name in TF_LABS:
        shutil.copy(ROOT / "solutions" / name, subs / "solutions" / name)
    return _grade(subs, 2, timeout=LAB_TIMEOUT)


@pytest.fixture(scope="module")
def graded_in_shards(tmp_path_factory):
    """The shards' class graded as shards 1/2 and 2/2, as on two machines, then merged.

    Each shard has its own copy of the submissions (as on its own machine) and its own grader
    process with ``--jobs 1``; both run at once, then ``merge`` joins their gradebooks.
    """
    base = tmp_path_factory.mktemp("shards")
    procs, outs = [], []
    for i in (1, 2):
        subs = _write_submissions(base / f"machine{i}" / "submissions", for_shards=True)
        outs.append(subs.parent / "out" / "grades.csv")
        cmd = [sys.executable, "-m", "vgrad_course.grade", str(subs), "--out", str(outs[-1])]
        cmd += ["--shard", f"{i}/2", "--jobs", "1", "--no-progress"]
        cmd += ["--timeout", str(TIMEOUT), "--call-timeout", str(CALL_TIMEOUT)]
        procs.append(subprocess.Popen(cmd, cwd=subs.parent, stderr=subprocess.PIPE, text=True))
    for proc in procs:
        _, err = proc.communicate(timeout=1500)
        assert proc.returncode == 0, err[-3000:]
    merged = base / "merged" / "grades.csv"
    cmd = [sys.executable, "-m", "vgrad_course.grade", "merge", *map(str, outs)]
    proc = subprocess.run([*cmd, "--out", str(merged)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    feedback = merged.parent / "feedback"
    return {
        "rows": _rows(merged),
        "shard_rows": [_rows(out) for out in outs],
        "feedback": {p.stem: p.read_text() for p in feedback.glob("*.txt")},
    }


@pytest.fixture(scope="module")
def intruded(tmp_path_factory):
    """Grade the intruders without containment, two notebooks at a time."""
    subs = tmp_path_factory.mktemp("intruders") / "submissions"
    write_intruders(subs)
    return _grade(subs, 2, "--no-containment")


@pytest.fixture(scope="module")
def graded_serially(tmp_path_factory):
    """Grade the intruders without containment, one notebook at a time."""
    subs = tmp_path_factory.mktemp("serial") / "submissions"
    write_intruders(subs)
    return _grade(subs, 1, "--no-containment")


@pytest.fixture(params=["intruded", "graded_serially"], ids=["jobs2", "jobs1"])
def run(request):
    """Each of the two runs of the intruders."""
    return request.getfixturevalue(request.param)


# Fixtures with a known gradebook, and the solutions.


def test_fixture_rows_match_the_expected_gradebook(graded):
    expected = _rows(FIXTURES / "expected_grades.csv")
    extra = ("solutions__", "carol_copy", HOSTILE, INTRUDER)
    got = {s: r for s, r in graded["rows"].items() if not s.startswith(extra)}
    assert got == expected


def test_every_solution_earns_full_marks(graded, graded_labs):
    rows = {s: r for s, r in graded["rows"].items() if s.startswith("solutions__")}
    labs = {s: r for s, r in graded_labs["rows"].items() if s.startswith("solutions__")}
    assert not rows.keys() & labs.keys()
    rows |= labs
    assert len(rows) == len(checks.SETS)
    for student, row in rows.items():
        assert float(row["total"]) == float(row["max_points"]) > 0, (student, row)


def test_every_untouched_exercise_scores_zero(graded_labs):
    rows = {s: r for s, r in graded_labs["rows"].items() if s.startswith("exercises__")}
    assert sorted(r["set"] for r in rows.values()) == sorted(checks.SETS)
    for student, row in rows.items():
        assert float(row["total"]) == 0 < float(row["max_points"]), (student, row)
        assert "worker failed" not in graded_labs["feedback"][student]  # 0 for the answers


def test_gradebook_has_one_column_per_question(graded, graded_labs):
    # One column per question of the sets graded, in course order.
    headers = []
    for run in (graded, graded_labs):
        with run["out"].open() as fh:
            headers.append(next(csv.reader(fh)))
    checks.load_all()
    sets = [s for s in checks.SETS if f"{checks.SETS[s]}.ipynb" not in TF_LABS]
    for header, graded_sets in zip(headers, (sets, checks.SETS), strict=True):
        questions = [q for s in graded_sets for q in checks.questions_of(s)]
        assert header == ["student", "set", *questions, "total", "max_points"]


def test_feedback_files_explain_the_scores(graded):
    feedback = graded["feedback"]
    assert sorted(feedback) == sorted(graded["rows"])
    dave = feedback["dave"]
    assert dave.startswith("dave (gd): 1/20 points") and "moves by -lr x gradient (0/2)" in dave
    assert "not a readable notebook" in feedback["erin"]
    assert "wrong sign" in feedback["carol"]


def test_the_same_submission_always_gets_the_same_grade_and_feedback(graded):
    rows, feedback = graded["rows"], graded["feedback"]
    names = ["carol", *(f"carol_copy{i}" for i in COPIES)]
    strip = [{k: v for k, v in rows[n].items() if k != "student"} for n in names]
    assert all(r == strip[0] for r in strip), strip
    texts = [feedback[n].replace(n, "carol", 1) for n in names]
    assert texts[0] == texts[1] == texts[2], texts
    assert "[FAIL]" in texts[0] and "[PASS]" in texts[0]  # a partial score, with messages


def test_progress_bar_and_skipped_files_on_stderr(graded):
    assert "grading" in graded["stderr"] and "100%" in graded["stderr"]
    assert "nb/min" in graded["stderr"]  # the rate so far
    for name in ("notes.txt", "readme.txt"):
        assert name in graded["stderr"]
    assert "skipped (not a notebook)" in graded["stderr"]


# Sharding: two machines, each a share of the class, give the gradebook of one machine.


def test_the_sharded_run_equals_the_unsharded_run_row_for_row(graded, graded_in_shards):
    first, second = graded_in_shards["shard_rows"]
    assert first and second and not first.keys() & second.keys()  # two real, disjoint shares
    rows = graded_in_shards["rows"]
    assert {row.get("set") for row in rows.values()} >= {"gd", "vanishing", "part_iv", "lab_bptt"}
    skipped = {HOSTILE + name for name in SHARD_SKIP}
    same_class = {s: r for s, r in graded["rows"].items() if s in rows or s in skipped}
    assert same_class.keys() - rows.keys() == skipped  # the class is the one meant
    expected = {s: r for s, r in same_class.items() if s not in skipped}
    assert rows == expected
    assert list(rows) == list(expected)  # the same order, too
    assert graded_in_shards["feedback"] == {s: graded["feedback"][s] for s in expected}


# The hostile corpus: each submission gets its row, the others are unharmed.


def test_one_row_per_hostile_notebook(graded):
    hostile = sorted(s.removeprefix(HOSTILE) for s in graded["rows"] if s.startswith(HOSTILE))
    assert hostile == sorted([*APPENDED, *UNREADABLE])


def _assert_scored(run: dict, key: str, expected: tuple) -> None:
    """The row of ``key`` has the expected total and its feedback the expected note."""
    _, total, note = expected
    feedback = run["feedback"][key]
    assert float(run["rows"][key]["total"]) == total, feedback
    assert note in feedback


@pytest.mark.parametrize("name", sorted(APPENDED))
def test_each_hostile_submission_gets_its_score_and_a_note(graded, name):
    _assert_scored(graded, HOSTILE + name, APPENDED[name])


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_unreadable_notebooks_score_zero(graded, name):
    row = graded["rows"][HOSTILE + name]
    assert (row.get("set", ""), row["total"]) == ("", "0")
    assert "not a readable notebook" in graded["feedback"][HOSTILE + name]


def test_submissions_are_never_modified(graded, graded_labs, run):
    assert graded["unchanged"] and graded_labs["unchanged"] and run["unchanged"]


def test_the_run_names_its_box_and_limits(graded, graded_serially):
    assert f"containment: {choose().kind}" in graded["stderr"]
    assert "per notebook: memory 3 GiB, files 256 MiB each" in graded["stderr"]
    assert "containment: NONE" in graded_serially["stderr"]


# The intruders: whatever they do to submitted originals is undone and costs them their score.


@pytest.mark.parametrize("name", sorted(INTRUDERS))
def test_a_notebook_that_changes_submitted_files_scores_0_and_they_are_restored(run, name):
    _assert_scored(run, INTRUDER + name, INTRUDERS[name])
    assert run["unchanged"]  # byte-identical afterwards, the deleted one included


def test_in_parallel_the_suspects_are_graded_again_one_at_a_time(intruded, graded_serially):
    again = [line for line in intruded["stderr"].splitlines() if "to be graded again" in line]
    for culprit in ("overwrite_other", "delete_own"):  # each was in flight when found
        assert any(INTRUDER + culprit in line for line in again), again
    assert "graded again" not in graded_serially["stderr"]


def test_the_victim_is_graded_from_its_original(run):
    feedback = run["feedback"][INTRUDER + "victim"]
    assert feedback.startswith(f"{INTRUDER}victim (gd): 20/20 points"), feedback
    notes = [line for line in feedback.splitlines() if line.startswith("note:")]
    assert notes == ["note: " + choose("none").warning], notes  # only: "NOT CONTAINED"


def test_the_package_on_disk_is_never_modified(graded, graded_labs):
    # The "tamper" notebook edited the checker of the private copy its kernel imported.
    assert graded_labs["package_changed"] == [], graded_labs["package_changed"]
    assert graded["package_changed"] == [], (
        "grading modified the installed package; check and restore: "
        + ", ".join(graded["package_changed"])
    )


def test_no_package_file_carries_the_tamper_line():
    # Catches a tampered file left behind by any earlier run, whatever this run did.
    tampered = [
        str(p.relative_to(ROOT)) for p, data in _package().items() if TAMPER_LINE.encode() in data
    ]
    assert tampered == [], f"remove {TAMPER_LINE!r} from: {tampered}"


def test_a_hung_function_is_timed_out_once_then_not_called_again(graded):
    feedback = graded["feedback"][HOSTILE + "hang"]
    assert feedback.count(f"took longer than {CALL_TIMEOUT} s") >= 2, feedback
    assert feedback.count("not run: your function took longer") >= 1, feedback


def test_a_kernel_that_swallows_the_interrupt_stops_grading_at_once(graded):
    feedback = graded["feedback"][HOSTILE + "stubborn"]
    assert "grading stopped" in feedback, feedback
    # Only the function's own question was reached; no later fetch waited for its limit, and
    # the answers read when their check cells ran still count.
    assert feedback.count("did not stop after an interrupt") >= 2, feedback
    rescued = "scored as read when their check cells ran (before grading stopped): gd.max_lr,"
    assert rescued in feedback, feedback


def test_a_kernel_killed_by_the_last_cell_keeps_every_answer_given_before(graded):
    feedback = graded["feedback"][HOSTILE + "crash"]
    assert "the kernel died" in feedback and "not scored" not in feedback, feedback
