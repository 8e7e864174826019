"""Wrong answers for the lab "Doctor a sick network" (set ``lab_doctor``).

The probes are NumPy backward passes with one mistake each; the fixes are real Keras models
(their JSON, as a notebook sends it) that treat only one of the patient's two problems, or
break the lab's rules.
"""

from __future__ import annotations

import numpy as np

from vgrad_course.activations import activate, derivative
from vgrad_course.backend import load_tensorflow

load_tensorflow()  # quietly, before Keras
import keras  # noqa: E402

from vgrad_course import models  # noqa: E402
from vgrad_course.reference import doctor  # noqa: E402

# --- Part 1: the gradient probe -----------------------------------------------------------------


def _grads(weights, activation, x, y, *, mean=True, slope=True):
    kernels, biases = weights[0::2], weights[1::2]
    h, inputs, pre = x, [], []
    for i, (w, b) in enumerate(zip(kernels, biases, strict=True)):
        inputs.append(h)
        pre.append(h @ w + b)
        h = pre[-1] if i == len(kernels) - 1 else activate(activation, pre[-1])
    p = np.exp(h - h.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    delta = (p - np.eye(h.shape[1])[y]) / (len(x) if mean else 1)
    grads = []
    for i in reversed(range(len(kernels))):
        if i < len(kernels) - 1 and slope:
            delta = delta * derivative(activation, pre[i])
        grads.append(inputs[i].T @ delta)
        delta = delta @ kernels[i].T
    return grads[::-1]


def rms_of_norms(weights, activation, x, y):
    return np.array([np.linalg.norm(g) for g in _grads(weights, activation, x, y)])


def rms_of_summed_loss(weights, activation, x, y):
    grads = _grads(weights, activation, x, y, mean=False)
    return np.array([np.sqrt(np.mean(g**2)) for g in grads])


def rms_output_first(weights, activation, x, y):
    grads = _grads(weights, activation, x, y)
    return np.array([np.sqrt(np.mean(g**2)) for g in grads])[::-1]


def rms_without_slopes(weights, activation, x, y):  # forgot the activation's derivative
    grads = _grads(weights, activation, x, y, slope=False)
    return np.array([np.sqrt(np.mean(g**2)) for g in grads])


def rms_with_biases(weights, activation, x, y):
    grads = _grads(weights, activation, x, y)
    out = []
    for g in grads:
        out += [np.sqrt(np.mean(g**2)), np.sqrt(np.mean(g.sum(axis=0) ** 2))]
    return np.array(out)


def rms_std(weights, activation, x, y):  # the std, not the root mean square
    return np.array([np.std(g) for g in _grads(weights, activation, x, y)])


# --- Part 4: fixes ------------------------------------------------------------------------------


def _json(**options) -> str:
    return models.build_mlp(input_dim=40, output_dim=10, **options).to_json()


def _lambda_model() -> str:
    inputs = keras.Input((40,))
    hidden = keras.layers.Lambda(lambda t: 2.0 * t)(inputs)
    return keras.Model(inputs, keras.layers.Dense(10)(hidden)).to_json()


_RELU_HE = {"depth": 8, "width": 64, "activation": "relu", "initializer": "he_normal"}

WRONG = {
    "lab_doctor.kernel_rms": [
        rms_of_norms,
        rms_of_summed_loss,
        rms_output_first,
        rms_without_slopes,
        rms_with_biases,
        rms_std,
    ],
    "lab_doctor.gradients": [
        (0, -7.95),  # counted from 0
        (8, -7.95),  # the output side is not where it vanishes
        (1, 7.95),  # the ratio upside down
        (1, -18.3),  # natural log
        (1, -3.0),  # a guess
    ],
    "lab_doctor.updates": [
        (-1.96, -8.1),  # first and last swapped
        (-3.0, -3.0),  # the guide line, not the measurement
        (-18.7, -4.5),  # natural log
        (-8.1, -7.2),  # the second layer, not the last
    ],
    "lab_doctor.fix": [
        (_json(**doctor.SICK), "momentum", 0.05),  # only the learning rate
        (_json(**_RELU_HE), *doctor.SICK_OPTIMIZER),  # only the initialisation
        (_json(**{**_RELU_HE, "depth": 2}), "momentum", 0.05),  # a shallower network
        (_lambda_model(), "adam", 1e-3),  # custom code
        (_json(**_RELU_HE, output_activation="softmax"), "momentum", 0.05),  # probabilities
        (_json(**_RELU_HE), "adamw", 1e-3),  # not an optimizer of the lab
        _json(**_RELU_HE),  # the model alone
    ],
}
