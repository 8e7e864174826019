"""Model builders: deep MLPs (plain, batch-normalised, residual blocks) and recurrent models."""

from __future__ import annotations

import keras
import numpy as np

from vgrad_course.layers import InitSpec, ResidualBlock, seeded_initializer
from vgrad_course.seeds import effective_seed, layer_seed
from vgrad_course.validation import check_int

#: Recurrent cells understood by :func:`build_rnn`.
RNN_CELLS: tuple[str, ...] = ("simple", "lstm", "gru", "irnn")


def build_mlp(
    depth: int,
    width: int,
    *,
    input_dim: int = 40,
    output_dim: int = 10,
    activation: str = "relu",
    initializer: InitSpec | None = None,
    bias_init: float = 0.0,
    batch_norm: bool = False,
    residual: bool = False,
    preactivation: bool = True,
    output_activation: str | None = None,
    seed: int = 0,
    name: str | None = None,
) -> keras.Model:
    """Build a fully connected network of ``depth`` hidden layers (or blocks) of ``width`` units.

    Plain: hidden layers ``hidden_1 .. hidden_depth`` (Dense), each followed by ``bn_i`` (with
    ``batch_norm``) and ``act_i``. Residual: a linear projection ``project`` to ``width``, then
    ``depth`` :class:`ResidualBlock` layers named ``hidden_1 ..`` (their branch kernels are
    ``hidden_i/dense/kernel``), then, for pre-activation blocks, ``act_out``. The projection
    and the output layer are linear maps initialised ``glorot_uniform`` with seeds ``seed`` and
    ``layer_seed(seed, depth + 1)``; layer or block ``i`` uses ``layer_seed(seed, i)``.

    Args:
        depth: Number of hidden layers or residual blocks (>= 1).
        width: Units per hidden layer.
        input_dim: Features per example.
        output_dim: Units of the output layer (logits when ``output_activation`` is None).
        activation: Hidden activation, any Keras name (``"sigmoid"``, ``"tanh"``, ``"relu"``...).
        initializer: Kernel initializer of the hidden layers or branches: a name, an
            Initializer, or the std of a Gaussian. None: ``glorot_uniform`` for plain layers;
            for residual branches a Gaussian of std ``sqrt(2 / (width * depth))``, so the whole
            stack multiplies the signal's second moment by about ``e`` at most.
        bias_init: Initial value of every hidden bias (e.g. negative, to kill ReLU units).
        batch_norm: Batch-normalise each hidden pre-activation.
        residual: Identity skip connections around each hidden layer (:class:`ResidualBlock`).
        preactivation: For residual blocks: ``h + W f(h)`` (True) or ``h + f(W h)`` (False).
        output_activation: Activation of the output layer (None for logits).
        seed: Seed of every initializer.
        name: Model name (defaults to a description of the architecture).

    Returns:
        An uncompiled functional ``keras.Model``.

    Used in: "Vanishing gradients in deep networks", "Weight initialisation",
    "Activation functions", "Batch normalization", "Residual connections", "Putting it together".
    """
    depth = check_int("depth", depth)
    width = check_int("width", width)
    if batch_norm and bias_init != 0:
        raise ValueError("bias_init has no effect with batch_norm: the normalisation removes it")
    if initializer is None:  # Keras' default for layers; a small std for residual branches
        initializer = float(np.sqrt(2.0 / (width * depth))) if residual else "glorot_uniform"
    inputs = keras.Input(shape=(check_int("input_dim", input_dim),), name="x")
    h = inputs
    if residual:
        project = seeded_initializer("glorot_uniform", seed)
        h = keras.layers.Dense(width, kernel_initializer=project, name="project")(h)
    for i in range(1, depth + 1):
        if residual:
            h = ResidualBlock(
                width,
                activation=activation,
                preactivation=preactivation,
                batch_norm=batch_norm,
                initializer=initializer,
                bias_init=bias_init,
                seed=layer_seed(seed, i),
                name=f"hidden_{i}",
            )(h)
            continue
        h = keras.layers.Dense(
            width,
            kernel_initializer=seeded_initializer(initializer, layer_seed(seed, i)),
            bias_initializer=keras.initializers.Constant(float(bias_init)),
            use_bias=not batch_norm,
            name=f"hidden_{i}",
        )(h)
        if batch_norm:
            h = keras.layers.BatchNormalization(name=f"bn_{i}")(h)
        h = keras.layers.Activation(activation, name=f"act_{i}")(h)
    if residual and preactivation:
        h = keras.layers.Activation(activation, name="act_out")(h)
    outputs = keras.layers.Dense(
        check_int("output_dim", output_dim),
        activation=output_activation,
        kernel_initializer=seeded_initializer("glorot_uniform", layer_seed(seed, depth + 1)),
        name="output",
    )(h)
    if name is None:
        parts = [activation, f"{depth}x{width}"] + ["bn"] * batch_norm
        parts += [("pre" if preactivation else "post") + "res"] * residual
        name = "mlp_" + "_".join(parts)
    return keras.Model(inputs, outputs, name=name)


def build_rnn(
    cell: str,
    units: int,
    *,
    seq_len: int | None = None,
    input_dim: int = 1,
    output_dim: int = 1,
    output_activation: str | None = None,
    forget_bias: float | None = None,
    recurrent_scale: float = 1.0,
    seed: int = 0,
    name: str | None = None,
) -> keras.Model:
    """Build a one-layer recurrent model that reads a sequence and predicts from its last state.

    Args:
        cell: ``"simple"`` (tanh SimpleRNN), ``"lstm"``, ``"gru"`` or ``"irnn"`` (ReLU SimpleRNN
            with identity recurrent weights and zero biases, Le et al. 2015).
        units: Hidden units.
        seq_len: Sequence length (None accepts any length).
        input_dim: Features per time step.
        output_dim: Units of the Dense head.
        output_activation: Activation of the head (``"sigmoid"`` for binary tasks).
        forget_bias: For LSTM only: initial forget-gate bias (Keras' default adds 1.0).
        recurrent_scale: For ``simple``/``irnn``: multiply the recurrent initializer by this gain.
        seed: Seed of every initializer.
        name: Model name (defaults to ``cell``).

    Returns:
        An uncompiled functional ``keras.Model`` whose recurrent layer is named ``rnn``.

    Used in: "Recurrent networks and backpropagation through time", "LSTM and GRU",
    "Identity-initialised ReLU RNNs (IRNN)".
    """
    if cell not in RNN_CELLS:
        raise ValueError(f"cell must be one of {RNN_CELLS}, got {cell!r}")
    units = check_int("units", units)
    if forget_bias is not None and cell != "lstm":
        raise ValueError("forget_bias applies to cell='lstm' only")
    if recurrent_scale <= 0:
        raise ValueError(f"recurrent_scale must be > 0, got {recurrent_scale}")
    seed = effective_seed(seed)  # every initializer below derives from the shifted seed
    kernel_init = keras.initializers.GlorotUniform(seed=seed)
    if cell == "simple":
        layer = keras.layers.SimpleRNN(
            units,
            kernel_initializer=kernel_init,
            recurrent_initializer=keras.initializers.Orthogonal(
                gain=recurrent_scale, seed=seed + 1
            ),
            name="rnn",
        )
    elif cell == "irnn":
        layer = keras.layers.SimpleRNN(
            units,
            activation="relu",
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.001, seed=seed),
            recurrent_initializer=keras.initializers.Identity(gain=recurrent_scale),
            bias_initializer="zeros",
            name="rnn",
        )
    elif cell == "lstm":
        kwargs = {}
        if forget_bias is not None:
            kwargs = {
                "unit_forget_bias": False,
                "bias_initializer": _ForgetBias(units, forget_bias),
            }
        layer = keras.layers.LSTM(
            units,
            kernel_initializer=kernel_init,
            recurrent_initializer=keras.initializers.Orthogonal(seed=seed + 1),
            name="rnn",
            **kwargs,
        )
    else:
        layer = keras.layers.GRU(
            units,
            kernel_initializer=kernel_init,
            recurrent_initializer=keras.initializers.Orthogonal(seed=seed + 1),
            name="rnn",
        )
    inputs = keras.Input(shape=(seq_len, input_dim), name="x")
    h = layer(inputs)
    outputs = keras.layers.Dense(
        output_dim,
        activation=output_activation,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 2),
        name="head",
    )(h)
    return keras.Model(inputs, outputs, name=name or cell)


@keras.saving.register_keras_serializable(package="vgrad_course")
class _ForgetBias(keras.initializers.Initializer):
    """LSTM bias initializer: ``value`` for the forget gate, zero for the other gates."""

    def __init__(self, units: int, value: float) -> None:
        self.units = units
        self.value = value

    def __call__(self, shape: tuple[int, ...], dtype: str | None = None) -> keras.KerasTensor:
        """Return the bias vector [input, forget, cell, output] gates."""
        ops = keras.ops
        u = self.units
        return ops.concatenate([ops.zeros((u,)), ops.full((u,), self.value), ops.zeros((2 * u,))])

    def get_config(self) -> dict:
        """Return the serialisable configuration."""
        return {"units": self.units, "value": self.value}
