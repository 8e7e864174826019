"""The trusted reference worker: ``python -m vgrad_course.reference.worker FOLDER``.

The checks of labs 3 to 5 start it through :mod:`vgrad_course.grading.reference_worker` and
keep it for the life of their process. It reads request names from stdin, one a line; request
``reqN`` is ``FOLDER/reqN.json`` (``{"task": ..., "args": {...}}``) and ``FOLDER/reqN.npz``
(named arrays, read with ``allow_pickle=False``). It writes ``FOLDER/resN.json``
(``{"status": "ok", "result": {...}}``, ``{"status": "invalid", "message": ...}`` for input a
student must fix, or ``{"status": "error", ...}``) and ``FOLDER/resN.npz``, then prints ``reqN``
on stdout. Anything else the process prints goes to stderr. It exits when stdin closes.

Every task is deterministic: it seeds what it builds, and TensorFlow's ops run
deterministically.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from vgrad_course.backend import load_tensorflow
from vgrad_course.reference import InvalidInput

Arrays = dict[str, np.ndarray]
#: A task: ``(args, arrays) -> (plain results, named arrays)``.
Task = Callable[[dict, Arrays], tuple[dict, Arrays]]
_NAME = re.compile(r"^req\d+$")


def _weights(arrays: Arrays, prefix: str) -> list[np.ndarray]:
    """The arrays ``prefix0, prefix1, ...`` in order (a list of weights)."""
    count = sum(1 for k in arrays if re.fullmatch(rf"{prefix}\d+", k))
    return [arrays[f"{prefix}{i}"] for i in range(count)]


def _tasks() -> dict[str, Task]:
    """The task table (imports the lab modules, and with them TensorFlow and Keras)."""
    from vgrad_course.reference import clip_loop, doctor, time_steps

    def sick(args: dict, arrays: Arrays) -> tuple[dict, Arrays]:
        return {}, doctor.measure_sick(int(args["seed"]))

    def fix(args: dict, arrays: Arrays) -> tuple[dict, Arrays]:
        out = doctor.grade_fix(args["model"], args["optimizer"], args["lr"], args["seeds"])
        return {}, out

    def clip(args: dict, arrays: Arrays) -> tuple[dict, Arrays]:
        clipped, norm = clip_loop.clip_reference(_weights(arrays, "g"), float(args["max_norm"]))
        return {"norm": norm}, {f"c{i}": c for i, c in enumerate(clipped)}

    def train(args: dict, arrays: Arrays) -> tuple[dict, Arrays]:
        run = clip_loop.train_reference(
            _weights(arrays, "w"),
            arrays["x"],
            arrays["y"],
            lr=float(args["lr"]),
            max_norm=float(args["max_norm"]),
            batch_size=int(args["batch_size"]),
        )
        final = {f"w{i}": w for i, w in enumerate(run.pop("weights"))}
        return {}, {**run, **final}

    def exploding(args: dict, arrays: Arrays) -> tuple[dict, Arrays]:
        seeds, replicas = [int(s) for s in args["seeds"]], int(args["replicas"])
        return {}, clip_loop.exploding_run(float(args["max_norm"]), seeds=seeds, replicas=replicas)

    def first(args: dict, arrays: Arrays) -> tuple[dict, Arrays]:
        return {}, {"squares": clip_loop.first_gradient(int(args["seed"]))}

    def norms(args: dict, arrays: Arrays) -> tuple[dict, Arrays]:
        w, x, y = _weights(arrays, "w"), arrays["x"], arrays["y"]
        return {}, {"norms": time_steps.step_norms(args["cell"], w, x, y)}

    def initial(args: dict, arrays: Arrays) -> tuple[dict, Arrays]:
        return {}, time_steps.initial_profiles(int(args["seed"]), arrays["x"], arrays["y"])

    def trained(args: dict, arrays: Arrays) -> tuple[dict, Arrays]:
        weights = {c: _weights(arrays, f"{c}_") for c in args["cells"]}
        probe, validation = (arrays["x"], arrays["y"]), (arrays["x_val"], arrays["y_val"])
        return {}, time_steps.measure_trained(weights, probe, validation)

    return {
        "doctor.sick": sick,
        "doctor.fix": fix,
        "clip.global": clip,
        "clip.train": train,
        "clip.exploding": exploding,
        "clip.first": first,
        "steps.norms": norms,
        "steps.initial": initial,
        "steps.trained": trained,
    }


def serve(folder: Path, name: str, tasks: dict[str, Task]) -> None:
    """Answer the request ``folder/name``: write ``res<N>.json`` and ``res<N>.npz``.

    Args:
        folder: The exchange folder.
        name: The request's name, ``req<N>``.
        tasks: The task table.

    Used in: the reference worker, for the checks of labs 3 to 5.
    """
    out = folder / name.replace("req", "res")
    arrays: Arrays = {}
    try:
        with open(folder / f"{name}.json") as fh:
            request = json.load(fh)
        with np.load(folder / f"{name}.npz", allow_pickle=False) as data:
            given = {k: data[k] for k in data.files}
        task = tasks.get(str(request.get("task")))
        if task is None:
            raise KeyError(f"unknown task {request.get('task')!r}")
        result, arrays = task(dict(request.get("args", {})), given)
        reply: dict = {"status": "ok", "result": result}
    except InvalidInput as exc:
        reply = {"status": "invalid", "message": str(exc)[:500]}
    except Exception as exc:  # a bug or a crash of the measurement: reported, never hidden
        reply = {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:300]}
    np.savez(f"{out}.npz", **{k: np.asarray(v) for k, v in arrays.items()})
    with open(f"{out}.json", "w") as fh:
        json.dump(reply, fh)


def main(argv: list[str] | None = None) -> int:
    """Serve requests from stdin until it closes.

    Args:
        argv: ``[FOLDER]`` (default: the command line).

    Returns:
        The exit status.

    Used in: the reference worker, for the checks of labs 3 to 5.
    """
    folder = Path((sys.argv[1:] if argv is None else argv)[0])
    channel = os.fdopen(os.dup(1), "w")  # replies only: the rest of fd 1 goes to stderr
    os.dup2(2, 1)
    tf = load_tensorflow()
    tf.get_logger().setLevel(logging.ERROR)
    tf.config.experimental.enable_op_determinism()
    tasks = _tasks()
    for line in sys.stdin:
        name = line.strip()
        if _NAME.match(name):
            serve(folder, name, tasks)
            channel.write(name + "\n")
            channel.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
