"""A weight's gradient is a sum over time steps: split it into the contribution of each step.

A recurrent layer uses the same weights at every step, so backpropagation through time adds up
one term per step. For a tanh RNN in Keras' convention, ``h_t = tanh(x_t W + h_{t-1} U + b)``
(``W`` the ``kernel``, ``U`` the ``recurrent_kernel``), with ``delta_t = dL/d(pre-activation
at t)``::

    dL/dU = sum_t h_{t-1}^T delta_t,        dL/dW = sum_t x_t^T delta_t.

:func:`step_contributions` measures each term without writing the backward pass by hand: it
unrolls the layer's own cell and gives step ``t`` its own copy of the weight, ``U + E_t`` with
``E_t = 0``; then ``dL/dE_t`` is step ``t``'s contribution, and their sum is the gradient
Keras computes. This works for any Keras cell (SimpleRNN, LSTM, GRU). :func:`step_shares`
splits the *norm* of the gradient (the one bar of a bar chart) into the same steps.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from vgrad_course.validation import check_choice, check_int

#: The cell weights that :func:`step_contributions` can split into per-step terms.
CELL_WEIGHTS: tuple[str, ...] = ("kernel", "recurrent_kernel", "bias")


def _recurrent_layer(model: keras.Model, name: str) -> tuple[keras.layers.RNN, int]:
    """Return the recurrent layer ``name`` of ``model`` and its index, or raise a clear error."""
    names = [layer.name for layer in model.layers]
    if name not in names:
        raise ValueError(f"model {model.name!r} has no layer named {name!r} (layers: {names})")
    index = names.index(name)
    layer = model.layers[index]
    if not isinstance(layer, keras.layers.RNN):
        raise ValueError(f"layer {name!r} is a {type(layer).__name__}, not a recurrent layer")
    if layer.return_sequences or layer.go_backwards or layer.stateful:
        raise ValueError(
            f"layer {name!r} must read the sequence forwards and return its last state only"
        )
    return layer, index


def step_contributions(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    weight: str = "recurrent_kernel",
    loss: str = "binary_crossentropy",
    layer: str = "rnn",
) -> np.ndarray:
    """Return the contribution of every time step to the gradient of one cell weight.

    The layer's cell is unrolled step by step and step ``t`` reads ``weight + E_t`` with
    ``E_t = 0`` (a Keras ``StatelessScope``); ``dL/dE_t`` is that step's term of the BPTT sum.
    The layers after the recurrent one (e.g. the Dense head) are applied as in the model.

    Args:
        model: A built model whose recurrent layer ``layer`` returns its last state, followed
            only by layers applied in order (e.g. from :func:`vgrad_course.models.build_rnn`).
        x: A batch of sequences, shape ``(batch, seq_len, features)``.
        y: The matching targets.
        weight: ``"recurrent_kernel"`` (U), ``"kernel"`` (W) or ``"bias"`` (b) of the cell.
        loss: A Keras loss name; L is its batch mean (as a training step computes it for a
            model without regularisation).
        layer: The name of the recurrent layer.

    Returns:
        float64 array of shape ``(seq_len, *weight.shape)``; its sum over the first axis is
        ``dL/dweight``.

    Raises:
        ValueError: If the layer is missing or not a forward recurrent layer returning its last
            state, ``weight`` is not a cell weight, or ``x`` is not a batch of sequences.

    Used in: "The assignment, as written: SimpleRNN, LSTM and GRU at length 50".
    """
    check_choice("weight", weight, CELL_WEIGHTS)
    rnn, index = _recurrent_layer(model, layer)
    xt = tf.convert_to_tensor(np.asarray(x, dtype=np.float32))
    if xt.shape.rank != 3 or xt.shape[0] == 0:
        raise ValueError(
            f"x must be a batch of sequences (batch, seq_len, features), got {x.shape}"
        )
    yt = tf.convert_to_tensor(np.asarray(y, dtype=np.float32))
    cell = rnn.cell
    variable = getattr(cell, weight, None)
    if variable is None:
        raise ValueError(f"the cell of layer {layer!r} has no {weight!r} (use_bias=False?)")
    loss_fn = keras.losses.get(loss)
    seq_len = xt.shape[1]
    zeros = tf.zeros((seq_len, *variable.shape))
    with tf.GradientTape() as tape:
        tape.watch(zeros)
        states = cell.get_initial_state(batch_size=xt.shape[0])
        for t in range(seq_len):
            with keras.StatelessScope(state_mapping=[(variable, variable.value + zeros[t])]):
                out, states = cell(xt[:, t], states, training=True)
            states = states if isinstance(states, list | tuple) else [states]
        for after in model.layers[index + 1 :]:
            out = after(out, training=True)
        value = keras.ops.mean(loss_fn(yt, out))
    return tape.gradient(value, zeros).numpy().astype(np.float64)


def step_shares(contributions: np.ndarray) -> np.ndarray:
    """Split the norm of a summed gradient into signed shares, one per time step.

    With ``G = sum_t C_t``, ``||G|| = sum_t <C_t, G> / ||G||``: step ``t`` adds
    ``<C_t, G> / ||G||^2`` of the bar's length. The shares sum to 1; a step whose term points
    against the total has a negative share.

    Args:
        contributions: Per-step terms, shape ``(seq_len, ...)``, e.g. from
            :func:`step_contributions`.

    Returns:
        float64 array of shape ``(seq_len,)`` summing to 1.

    Raises:
        ValueError: If there are fewer than 2 steps or the summed gradient is zero.

    Used in: "The assignment, as written: SimpleRNN, LSTM and GRU at length 50".
    """
    c = np.asarray(contributions, dtype=np.float64)
    if c.ndim < 2 or c.shape[0] < 2:
        raise ValueError(f"contributions must be (seq_len >= 2, ...), got shape {c.shape}")
    flat = c.reshape(c.shape[0], -1)
    total = flat.sum(axis=0)
    squared = float(total @ total)
    if squared == 0.0:
        raise ValueError("the summed gradient is zero: there is no bar to split")
    return flat @ total / squared


def last_steps_share(shares: np.ndarray, k: int) -> float:
    """Return the share of the bar contributed by the last ``k`` time steps.

    Args:
        shares: Per-step shares from :func:`step_shares`.
        k: How many of the last steps (1 <= k <= seq_len).

    Returns:
        ``sum(shares[-k:])`` (1 means those steps make the whole bar).

    Used in: "The assignment, as written: SimpleRNN, LSTM and GRU at length 50".
    """
    s = np.asarray(shares, dtype=np.float64)
    k = check_int("k", k)
    if s.ndim != 1 or k > s.size:
        raise ValueError(f"k must be at most the number of steps ({s.size}), got {k}")
    return float(s[-k:].sum())


def contribution_norms(contributions: np.ndarray) -> np.ndarray:
    """Return ``||C_t||`` (Frobenius norm) of each step's term, step 1 first.

    Args:
        contributions: Per-step terms from :func:`step_contributions`.

    Returns:
        float64 array of shape ``(seq_len,)``.

    Used in: "The assignment, as written: SimpleRNN, LSTM and GRU at length 50".
    """
    c = np.asarray(contributions, dtype=np.float64)
    if c.ndim < 2:
        raise ValueError(f"contributions must be (seq_len, ...), got shape {c.shape}")
    return np.sqrt(np.square(c.reshape(c.shape[0], -1)).sum(axis=1))
