"""A student's Keras model, sent as its JSON config: checked, re-seeded and rebuilt safely.

The worker must never run code that came from a submission. A model config names classes;
:func:`rebuild` accepts only the layers of :data:`ALLOWED_LAYERS` (Keras' own, and the
course's :class:`~vgrad_course.layers.ResidualBlock`), no serialised function and no module
outside Keras, limits every size, and deserialises with Keras' ``safe_mode`` (which refuses
lambdas). Every random initializer is then re-seeded from the seed the grader picks, so a
config is trained from the grader's initialisations, not the ones the student tried.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

import keras

from vgrad_course.layers import ResidualBlock
from vgrad_course.reference import InvalidInput

#: The layers a submitted model may use (Keras' class names).
ALLOWED_LAYERS: frozenset[str] = frozenset(
    {
        "InputLayer",
        "Dense",
        "Activation",
        "BatchNormalization",
        "LayerNormalization",
        "Dropout",
        "Add",
        "ReLU",
        "LeakyReLU",
        "ELU",
        "ResidualBlock",
    }
)
#: The models a config may describe.
MODEL_CLASSES: frozenset[str] = frozenset({"Functional", "Sequential"})
#: The most units a layer may have, layers a model may have, and weights in all.
MAX_UNITS, MAX_LAYERS, MAX_PARAMS = 512, 120, 1_000_000
#: The course's own layer, the one serialised object allowed outside Keras.
_COURSE = ("vgrad_course.layers", f"vgrad_course>{ResidualBlock.__name__}")


def _walk(node: object, visit: Callable[[dict], None]) -> None:
    """Call ``visit`` on every dict of a JSON tree, parents first."""
    if isinstance(node, dict):
        visit(node)
        for value in node.values():
            _walk(value, visit)
    elif isinstance(node, list):
        for value in node:
            _walk(value, visit)


def check_config(config: object) -> dict:
    """Refuse a config that names anything but allowed Keras objects, or is too large.

    Args:
        config: The decoded JSON of ``model.to_json()``.

    Returns:
        The config (a dict).

    Raises:
        InvalidInput: With a message for the student, naming what was refused.

    Used in: the reference worker, for the checks of lab 3 (graded exercises).
    """
    if not isinstance(config, dict) or config.get("class_name") not in MODEL_CLASSES:
        raise InvalidInput("send model.to_json() of a keras.Sequential or functional keras.Model")
    layers = config.get("config", {}).get("layers")
    if not isinstance(layers, list) or not 1 <= len(layers) <= MAX_LAYERS:
        raise InvalidInput(f"the model must have between 1 and {MAX_LAYERS} layers")

    def visit(node: dict) -> None:
        module, name = node.get("module"), node.get("class_name")
        registered = node.get("registered_name")
        if name in ("__lambda__", "function") or module == "builtins":
            raise InvalidInput("the model contains a serialised function (a Lambda?)")
        if module is not None and not (
            isinstance(module, str)
            and module.split(".")[0] == "keras"
            and registered in (None, name)
            or (module, registered) == _COURSE
        ):
            raise InvalidInput(f"the model uses {name!r} from {module!r}: Keras' own only")
        for key in ("units", "width"):
            value = node.get(key)
            if isinstance(value, int | float) and not 1 <= value <= MAX_UNITS:
                raise InvalidInput(f"a layer has {key} = {value}: at most {MAX_UNITS}")

    _walk(config, visit)
    for layer in layers:
        name = layer.get("class_name") if isinstance(layer, dict) else None
        if name not in ALLOWED_LAYERS:
            allowed = ", ".join(sorted(ALLOWED_LAYERS))
            raise InvalidInput(f"layer {name!r} is not allowed here; allowed: {allowed}")
    return config


def reseed(config: dict, seed: int) -> dict:
    """Give every random initializer (and residual block) of a config its own seed.

    Every object with a ``seed`` (initializers, dropout, residual blocks) is seeded, in the
    order of the config.

    Args:
        config: A checked config (see :func:`check_config`).
        seed: The model's seed; the ``i``-th seeded object gets ``seed * 1000 + i``.

    Returns:
        A re-seeded copy.

    Used in: the reference worker, for the checks of lab 3 (graded exercises).
    """
    config = copy.deepcopy(config)
    count = [0]

    def visit(node: dict) -> None:
        inner = node.get("config")
        if isinstance(inner, dict) and "seed" in inner and node.get("module") is not None:
            count[0] += 1
            inner["seed"] = seed * 1000 + count[0]

    _walk(config, visit)
    return config


def rebuild(model_json: str, *, seed: int, inputs: int, outputs: int) -> keras.Model:
    """Rebuild a submitted model from its JSON, in safe mode, with the grader's seeds.

    Args:
        model_json: ``model.to_json()`` as the student sent it.
        seed: The seed of its initialisation (see :func:`reseed`).
        inputs: The features the model must read.
        outputs: The logits it must return (a linear output, no softmax).

    Returns:
        The built, uncompiled model.

    Raises:
        InvalidInput: If the config is refused or the model has the wrong shape.

    Used in: the reference worker, for the checks of lab 3 (graded exercises).
    """
    if not isinstance(model_json, str):
        raise InvalidInput("send the model as a JSON string: model.to_json()")
    try:
        config = check_config(json.loads(model_json))
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"the model is not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise InvalidInput("the model's JSON is nested too deeply") from None
    try:
        with keras.saving.custom_object_scope({"vgrad_course>ResidualBlock": ResidualBlock}):
            model = keras.saving.deserialize_keras_object(reseed(config, seed), safe_mode=True)
    except Exception as exc:  # a config Keras cannot build: say what Keras said
        text = str(exc).splitlines()[0] if str(exc) else ""
        raise InvalidInput(f"Keras could not rebuild the model: {text}"[:300]) from None
    if not isinstance(model, keras.Model):
        raise InvalidInput("the JSON does not describe a Keras model")
    shape_in, shape_out = tuple(model.input_shape), tuple(model.output_shape)
    if shape_in != (None, inputs) or shape_out != (None, outputs):
        raise InvalidInput(
            f"the model maps {shape_in} to {shape_out}; it must read (None, {inputs})"
            f" and return (None, {outputs}) logits"
        )
    last = model.layers[-1]
    if getattr(last, "activation", None) not in (None, keras.activations.linear):
        raise InvalidInput("the output layer must return logits: no activation (no softmax)")
    if model.count_params() > MAX_PARAMS:
        raise InvalidInput(f"the model has {model.count_params()} weights: at most {MAX_PARAMS}")
    return model
