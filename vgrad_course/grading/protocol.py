"""How the grader and a student's kernel exchange values: JSON trees of plain data and arrays.

Nothing is pickled: a value crosses as JSON (None, bool, str, lists, tuples) plus numeric
arrays in an ``.npz`` file read with ``allow_pickle=False``, so a submission cannot smuggle
code or objects with a doctored ``__eq__`` into the grader. The same source (:data:`HELPER`)
runs in the kernel and in the grader, so both ends agree on the format.
"""

from __future__ import annotations

from collections.abc import Callable

#: Self-contained protocol code: encode, decode, save, load, fetch, call (at most 20 MB of
#: arrays and 10,000 leaves per value).
HELPER = r'''
import json as _json
import numpy as _np

MAX_BYTES, MAX_LEAVES = 20_000_000, 10_000


class Unsupported:
    """A value of a type that cannot cross to the grader."""

    def __init__(self, kind):
        self.kind = kind

    def __repr__(self):
        return f"<unsupported {self.kind}>"


def encode(obj, arrays, budget):
    budget[0] += 1
    if budget[0] > MAX_LEAVES:
        raise ValueError("value too large")
    if obj is None or isinstance(obj, (bool, str)):
        if isinstance(obj, str) and len(obj) > 10_000:
            raise ValueError("string too long")
        return {"t": "py", "v": obj}
    if obj is Ellipsis:
        return {"t": "ellipsis"}
    if isinstance(obj, (list, tuple)):
        return {"t": type(obj).__name__, "v": [encode(o, arrays, budget) for o in obj]}
    try:
        arr = _np.asarray(obj)
    except Exception:
        arr = None
    if arr is None or arr.dtype.kind not in "biuf":
        return {"t": "unsupported", "v": type(obj).__name__}
    budget[1] += arr.nbytes
    if budget[1] > MAX_BYTES:
        raise ValueError("value too large")
    key = f"a{len(arrays)}"
    arrays[key] = _np.array(arr, dtype=_np.float64 if arr.dtype.kind == "f" else arr.dtype)
    return {"t": "array", "k": key}


def decode(tree, arrays):
    t = tree["t"]
    if t == "py":
        return tree["v"]
    if t == "ellipsis":
        return ...
    if t in ("list", "tuple"):
        items = [decode(v, arrays) for v in tree["v"]]
        return items if t == "list" else tuple(items)
    if t == "array":
        return arrays[tree["k"]]
    return Unsupported(str(tree.get("v")))


def save(path, payload, value=None, has_value=False):
    arrays, tree = {}, None
    if has_value:
        tree = encode(value, arrays, [0, 0])
    _np.savez(path + ".npz", **arrays)
    with open(path + ".json", "w") as fh:
        _json.dump({**payload, "tree": tree}, fh)


def load(path):
    with open(path + ".json") as fh:
        meta = _json.load(fh)
    with _np.load(path + ".npz", allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    value = decode(meta["tree"], arrays) if meta.get("tree") is not None else None
    return meta, value


def fetch(namespace, name, path):
    if name not in namespace:
        save(path, {"status": "missing"})
    elif callable(namespace[name]):
        save(path, {"status": "function"})
    else:
        try:
            save(path, {"status": "value"}, namespace[name], True)
        except Exception as exc:
            save(path, {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:300]})


def call(namespace, name, in_path, out_path):
    _, args = load(in_path)
    try:
        result = namespace[name](*args)
        save(out_path, {"status": "ok"}, result, True)
    except BaseException as exc:
        save(out_path, {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:300]})
'''


def helper_namespace() -> dict[str, Callable]:
    """Execute :data:`HELPER` in a fresh namespace (the grader's copy of the protocol).

    Returns:
        The namespace, with ``save``, ``load``, ``Unsupported`` and the rest.

    Used in: "Graded exercises" (the grader).
    """
    namespace: dict[str, Callable] = {}
    exec(compile(HELPER, "<vgrad-grading-protocol>", "exec"), namespace)  # noqa: S102
    return namespace
