"""Lab 3, "Doctor a sick network": the patient, its budget, and what the checks measure.

The patient is a deep sigmoid MLP on MNIST-1D with a poor initialisation (``N(0, 0.05^2)``,
less than half of Glorot's scale) and a learning rate that is far too large, trained under
a fixed budget. The lab notebook builds and trains it with these functions; the reference
worker (:mod:`vgrad_course.reference.worker`) runs the same ones to measure the sick network
and to train a student's fix on hidden seeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np

from vgrad_course import data, models, probes, training
from vgrad_course.reference import InvalidInput
from vgrad_course.reference.model_config import rebuild
from vgrad_course.reproducibility import reseed
from vgrad_course.seeds import effective_seed


@dataclass(frozen=True)
class Budget:
    """The fixed training budget of the lab (every run, sick or fixed, gets the same).

    Attributes:
        n_train: Training examples (the first of MNIST-1D's training split).
        epochs: Passes over them.
        batch_size: Examples per step.
        n_probe: The first ``n_probe`` training examples are the probe batch of the
            gradient measurements.
    """

    n_train: int = 3000
    epochs: int = 5
    batch_size: int = 50
    n_probe: int = 500


#: The budget of every run.
BUDGET = Budget()
#: The sick network: ``build_mlp`` options (depth, width, activation, initializer).
SICK: dict[str, object] = {"depth": 8, "width": 64, "activation": "sigmoid", "initializer": 0.05}
#: The sick optimizer: its name (see :func:`vgrad_course.training.make_optimizer`) and rate.
SICK_OPTIMIZER: tuple[str, float] = ("momentum", 0.5)


def lab_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The lab's data: the budget's training examples and MNIST-1D's test split.

    Returns:
        ``((x, y), (x_val, y_val))``, inputs of 40 features, integer labels ``0..9``.

    Used in: "Graded exercises" (lab 3).
    """
    (x, y), validation = data.mnist1d()
    return (x[: BUDGET.n_train], y[: BUDGET.n_train]), validation


def sick_model(seed: int = 0) -> keras.Model:
    """Build the sick network (uncompiled), initialised from ``seed``.

    Args:
        seed: The seed of its initializers (shifted by ``VGRAD_SEED_OFFSET``).

    Returns:
        A :func:`vgrad_course.models.build_mlp` model with :data:`SICK`'s options.

    Used in: "Graded exercises" (lab 3).
    """
    return models.build_mlp(input_dim=40, output_dim=10, seed=seed, **SICK)  # type: ignore[arg-type]


def gradient_rms(model: keras.Model, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The RMS entry of ``dL/dW`` of every weight matrix, input side first, output last.

    ``L`` is the batch-mean cross-entropy of the logits in training mode plus any
    regularisation losses (the loss of a training step); the weight matrices are the trainable
    variables named ``kernel``. Measured by :func:`vgrad_course.probes.layer_grad_norms`, which
    leaves the model as it was (batch-norm statistics, dropout seeds): a fix is trained from
    its initialisation, not from one probe step after it.

    Args:
        model: A built classifier returning logits.
        x: The probe inputs.
        y: Their labels.

    Returns:
        float64 array, one RMS per kernel.

    Used in: "Graded exercises" (lab 3).
    """
    norms = probes.layer_grad_norms(model, x, y, loss=training.classification_loss())
    kernels = [v for v in model.trainable_variables if v.name == "kernel" and len(v.shape) == 2]
    return np.array([norms[k.path] / np.sqrt(np.prod(k.shape)) for k in kernels])


def compile_for_lab(model: keras.Model, optimizer: str, lr: float) -> keras.Model:
    """Compile a classifier of logits with the lab's loss and a named optimizer.

    Args:
        model: The classifier (returning 10 logits).
        optimizer: ``"sgd"``, ``"momentum"``, ``"adam"`` or ``"rmsprop"``.
        lr: The learning rate.

    Returns:
        The same model, compiled.

    Used in: "Graded exercises" (lab 3).
    """
    model.compile(
        optimizer=training.make_optimizer(optimizer, lr), loss=training.classification_loss()
    )
    return model


def train(
    model: keras.Model,
    *,
    seed: int = 0,
    epochs: int | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
) -> dict[str, np.ndarray]:
    """Train a compiled model under the budget, in ``seed``'s batch order; then validate it.

    Args:
        model: A classifier compiled by :func:`compile_for_lab`.
        seed: Seeds the shuffling (shifted by ``VGRAD_SEED_OFFSET``).
        epochs: Passes over the data (default: the budget's).
        callbacks: Keras callbacks (e.g. a :class:`~vgrad_course.probes.UpdateRatioTracker`).

    Returns:
        ``{"loss": per epoch, "val_accuracy": after training (one number)}``.

    Used in: "Graded exercises" (lab 3).
    """
    (x, y), (x_val, y_val) = lab_data()
    reseed(seed)
    history = model.fit(
        x,
        y,
        epochs=BUDGET.epochs if epochs is None else epochs,
        batch_size=BUDGET.batch_size,
        callbacks=list(callbacks),
        verbose=0,
    )
    logits = np.asarray(model(x_val, training=False))
    accuracy = float(np.mean(np.argmax(logits, axis=1) == y_val))
    return {"loss": np.asarray(history.history["loss"]), "val_accuracy": np.array(accuracy)}


def measure_sick(seed: int) -> dict[str, np.ndarray]:
    """Measure the sick network from ``seed``: gradients at init, updates in the first epoch.

    Args:
        seed: The seed of its initialisation and batch order.

    Returns:
        ``rms``: :func:`gradient_rms` on the probe batch at initialisation (hidden layers, then
        the output layer); ``updates``: the mean ``log10`` update:data ratio of each hidden
        layer over the steps of the first epoch with the sick optimizer.

    Used in: the reference worker, for the checks of lab 3 (graded exercises).
    """
    (x, y), _ = lab_data()
    model = sick_model(seed)
    rms = gradient_rms(model, x[: BUDGET.n_probe], y[: BUDGET.n_probe])
    tracker = probes.UpdateRatioTracker()
    train(compile_for_lab(model, *SICK_OPTIMIZER), seed=seed, epochs=1, callbacks=[tracker])
    return {"rms": rms, "updates": tracker.history.mean(axis=0)}


def grade_fix(
    model_json: str, optimizer: str, lr: float, seeds: Sequence[int]
) -> dict[str, np.ndarray]:
    """Train a submitted fix under the budget from each seed and measure it.

    The model is rebuilt from its JSON (:func:`vgrad_course.reference.model_config.rebuild`)
    with every initializer re-seeded from the seed, then trained by :func:`train` (compiled
    once, restarted with fresh weights and optimizer state for each seed).

    Args:
        model_json: The fixed model's ``to_json()``.
        optimizer: An optimizer name of :func:`vgrad_course.training.make_optimizer`.
        lr: Its learning rate.
        seeds: The hidden seeds (each shifted by ``VGRAD_SEED_OFFSET``).

    Returns:
        Per seed: ``ratio``, first over last kernel's gradient RMS at initialisation;
        ``finite``, every epoch's loss and every final weight finite; ``accuracy``, the
        validation accuracy after training; and ``hidden``, the number of weight matrices
        before the output layer.

    Raises:
        InvalidInput: If the model or the optimizer is refused.

    Used in: the reference worker, for the checks of lab 3 (graded exercises).
    """
    if optimizer not in training.OPTIMIZERS:
        raise InvalidInput(f"the optimizer must be one of {training.OPTIMIZERS}")
    if not (isinstance(lr, int | float) and 0 < lr <= 10):
        raise InvalidInput("the learning rate must be a number in (0, 10]")
    (x, y), _ = lab_data()
    probe = (x[: BUDGET.n_probe], y[: BUDGET.n_probe])
    out: dict[str, list[float]] = {"ratio": [], "finite": [], "accuracy": [], "hidden": []}
    model = None
    for seed in seeds:
        fresh = rebuild(model_json, seed=effective_seed(int(seed)), inputs=40, outputs=10)
        rms = gradient_rms(fresh, *probe)
        if model is None:  # compiled once: every seed restarts it (one traced step)
            model = compile_for_lab(fresh, optimizer, float(lr))
            model.optimizer.build(model.trainable_variables)
            start = [v.numpy() for v in model.optimizer.variables]
        else:
            model.set_weights(fresh.get_weights())
            for variable, value in zip(model.optimizer.variables, start, strict=True):
                variable.assign(value)
        run = train(model, seed=int(seed))
        weights = all(np.all(np.isfinite(w)) for w in model.get_weights())
        out["ratio"].append(rms[0] / rms[-1] if rms[-1] > 0 else np.inf)
        out["finite"].append(float(weights and np.all(np.isfinite(run["loss"]))))
        out["accuracy"].append(float(run["val_accuracy"]))
        out["hidden"].append(len(rms) - 1)
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}
