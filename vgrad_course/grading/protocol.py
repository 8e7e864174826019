"""How the grader and a student's kernel exchange values: JSON trees of plain data and arrays.

Nothing is pickled: a value crosses as JSON (None, bool, str, lists, tuples) plus numeric
arrays in an ``.npz`` file read with ``allow_pickle=False``, so a submission cannot smuggle
code or objects with a doctored ``__eq__`` into the grader.

Both ends run this very module. The grader imports it; the kernel receives its source
(:func:`source`) and runs it in a namespace of its own under a random name, so a notebook can
neither shadow it nor be shadowed by it. It must therefore stay self-contained: it imports
only the standard library and NumPy (``tests/test_grade_units.py`` runs it that way).
"""

from __future__ import annotations

import inspect
import json
import sys

import numpy as np

#: The most array bytes one value may carry.
MAX_BYTES = 20_000_000
#: The most leaves (items) one value may have.
MAX_LEAVES = 10_000
#: The longest string that may cross (a deep Keras model's ``to_json()``, lab 3, is ~25,000).
MAX_STRING = 200_000

#: A JSON tree as :func:`encode` writes it.
Tree = dict[str, object]


class Unsupported:
    """A value of a type that cannot cross to the grader (it arrives as this marker).

    Args:
        kind: The type's name, shown in messages.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __repr__(self) -> str:
        return f"<unsupported {self.kind}>"


class Budget:
    """What one value has used so far of :data:`MAX_LEAVES` and :data:`MAX_BYTES`."""

    def __init__(self) -> None:
        self.leaves = 0
        self.nbytes = 0

    def spend(self, *, leaves: int = 0, nbytes: int = 0) -> None:
        """Count a leaf or array bytes; raise ``ValueError("value too large")`` past a limit."""
        self.leaves += leaves
        self.nbytes += nbytes
        if self.leaves > MAX_LEAVES or self.nbytes > MAX_BYTES:
            raise ValueError("value too large")


def encode(obj: object, arrays: dict[str, np.ndarray], budget: Budget) -> Tree:
    """Turn a value into a JSON tree, moving its numeric arrays into ``arrays``.

    Args:
        obj: The value: None, bool, str, ``...``, lists and tuples of these, or anything NumPy
            turns into a boolean, integer or float array. Anything else becomes an
            ``"unsupported"`` leaf.
        arrays: Receives the arrays (floats as float64), under the keys the tree names.
        budget: Counts leaves and bytes across the whole value.

    Returns:
        The tree.

    Raises:
        ValueError: If the value is too large or a string too long.
    """
    budget.spend(leaves=1)
    if obj is None or isinstance(obj, bool | str):
        if isinstance(obj, str) and len(obj) > MAX_STRING:
            raise ValueError("string too long")
        return {"t": "py", "v": obj}
    if obj is Ellipsis:
        return {"t": "ellipsis"}
    if isinstance(obj, list | tuple):
        return {"t": type(obj).__name__, "v": [encode(o, arrays, budget) for o in obj]}
    try:
        arr = np.asarray(obj)
    except Exception:  # an object NumPy cannot even look at
        return {"t": "unsupported", "v": type(obj).__name__}
    if arr.dtype.kind not in "biuf":
        return {"t": "unsupported", "v": type(obj).__name__}
    budget.spend(nbytes=arr.nbytes)
    key = f"a{len(arrays)}"
    arrays[key] = np.array(arr, dtype=np.float64 if arr.dtype.kind == "f" else arr.dtype)
    return {"t": "array", "k": key}


def decode(tree: Tree, arrays: dict[str, np.ndarray]) -> object:
    """Rebuild a value from its tree and arrays (the inverse of :func:`encode`).

    Args:
        tree: The JSON tree.
        arrays: The arrays it refers to.

    Returns:
        The value; an :class:`Unsupported` marker where the sender had one.
    """
    kind = tree["t"]
    if kind == "py":
        return tree["v"]
    if kind == "ellipsis":
        return ...
    if kind in ("list", "tuple"):
        items = [decode(v, arrays) for v in tree["v"]]  # type: ignore[attr-defined]
        return items if kind == "list" else tuple(items)
    if kind == "array":
        return arrays[str(tree["k"])]
    return Unsupported(str(tree.get("v")))


def save(path: str, payload: dict, value: object = None, *, has_value: bool = False) -> None:
    """Write ``payload`` (and a value) to ``path.json`` and ``path.npz``.

    Args:
        path: The path without suffix.
        payload: Plain JSON data, e.g. ``{"status": "ok"}``.
        value: The value to send, if ``has_value``.
        has_value: Whether ``value`` is part of the message (``None`` may be a value).
    """
    arrays: dict[str, np.ndarray] = {}
    tree = encode(value, arrays, Budget()) if has_value else None
    np.savez(path + ".npz", **arrays)  # type: ignore[arg-type]
    with open(path + ".json", "w") as fh:
        json.dump({**payload, "tree": tree}, fh)


def load(path: str) -> tuple[dict, object]:
    """Read what :func:`save` wrote; arrays are read with ``allow_pickle=False``.

    Args:
        path: The path without suffix.

    Returns:
        The payload (with its ``"tree"``) and the value (``None`` when there was none).
    """
    with open(path + ".json") as fh:
        meta = json.load(fh)
    with np.load(path + ".npz", allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    value = decode(meta["tree"], arrays) if meta.get("tree") is not None else None
    return meta, value


def _error(exc: BaseException) -> dict:
    """The message that reports an exception (its type and text, at most 300 characters)."""
    return {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:300]}


def fetch(namespace: dict, name: str, path: str) -> None:
    """In the kernel: send the notebook global ``name`` (or say it is missing or a function).

    Args:
        namespace: The notebook's globals.
        name: The answer's name.
        path: Where to :func:`save` the message; its status is ``"missing"``, ``"function"``,
            ``"value"`` (with the value) or ``"error"`` (it could not be sent).
    """
    if name not in namespace:
        save(path, {"status": "missing"})
    elif callable(namespace[name]):
        save(path, {"status": "function"})
    else:
        try:
            save(path, {"status": "value"}, namespace[name], has_value=True)
        except Exception as exc:  # a value too large, or one that breaks NumPy: say so
            save(path, _error(exc))


def call(namespace: dict, name: str, in_path: str, out_path: str) -> None:
    """In the kernel: call the notebook's function ``name`` on the arguments in ``in_path``.

    Args:
        namespace: The notebook's globals.
        name: The function's name.
        in_path: Where the grader saved the argument list.
        out_path: Where to save the result (status ``"ok"``) or the error it raised.
    """
    _, args = load(in_path)
    before = _snapshot(args)
    try:
        with np.errstate(over="raise"):  # an overflow is an error, as in the notebook's check()
            result = namespace[name](*args)  # type: ignore[misc]
        if _snapshot(args) == before:
            save(out_path, {"status": "ok"}, result, has_value=True)
        else:  # the function changed its arguments: send them back, as a local call shows it
            save(out_path, {"status": "ok", "changed": True}, [result, args], has_value=True)
    except BaseException as exc:  # student code may raise anything, even SystemExit
        save(out_path, _error(exc))


def _snapshot(value: object) -> tuple[str, list[bytes]]:
    """A comparable copy of a value: its JSON tree and the bytes of its arrays."""
    arrays: dict[str, np.ndarray] = {}
    tree = encode(value, arrays, Budget())
    return json.dumps(tree), [arrays[k].tobytes() for k in sorted(arrays)]


def write_back(old: list | tuple, new: list | tuple) -> None:
    """Make the grader's arguments ``old`` what the kernel's became (``new``), in place.

    A function that updates an argument in place (``w -= lr * grad``) changes the caller's
    array when the notebook calls it; through the kernel it changed only the kernel's copy.
    Writing the change back makes a check see what a local call shows. Arrays are overwritten
    in place, list items replaced, and lists resized; a tuple's items are updated in place.

    Args:
        old: The arguments the grader passed (its own objects).
        new: The same arguments after the call, as the kernel sent them back.
    """
    for i, (o, n) in enumerate(zip(old, new, strict=False)):
        if isinstance(o, np.ndarray) and isinstance(n, np.ndarray) and o.shape == n.shape:
            if o.flags.writeable:
                np.copyto(o, n, casting="unsafe")
        elif isinstance(o, list | tuple) and isinstance(n, list | tuple):
            write_back(o, n)
        elif isinstance(old, list):
            old[i] = n
    if isinstance(old, list) and isinstance(new, list):
        del old[len(new) :]
        old.extend(new[len(old) :])


def source() -> str:
    """This module's source: what the grader sends to a kernel to run there.

    Returns:
        The source text.

    Used in: "Graded exercises" (the grader).
    """
    return inspect.getsource(sys.modules[__name__])
