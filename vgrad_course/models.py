"""Model builders: deep MLPs (plain, batch-normalised, residual) and recurrent sequence models."""

from __future__ import annotations

import keras

from vgrad_course.seeds import effective_seed, layer_seed
from vgrad_course.validation import check_int

#: Recurrent cells understood by :func:`build_rnn`.
RNN_CELLS: tuple[str, ...] = ("simple", "lstm", "gru", "irnn")


def _initializer(
    spec: str | keras.initializers.Initializer | float, seed: int | None
) -> keras.initializers.Initializer:
    """Turn a name, an Initializer or a float standard deviation into a seeded initializer.

    ``seed`` is shifted by ``VGRAD_SEED_OFFSET`` (see :func:`vgrad_course.seed_offset`); an
    Initializer passed in is used as it is.
    """
    seed = None if seed is None else effective_seed(seed)
    if isinstance(spec, keras.initializers.Initializer):
        return spec
    if isinstance(spec, int | float) and not isinstance(spec, bool):
        if spec <= 0:
            raise ValueError(f"an initializer standard deviation must be > 0, got {spec}")
        return keras.initializers.RandomNormal(stddev=float(spec), seed=seed)
    if not isinstance(spec, str):
        raise TypeError(f"initializer must be a name, an Initializer or a std, got {spec!r}")
    config = {"class_name": spec, "config": {}}
    try:
        init = keras.initializers.get(config)
    except ValueError as exc:
        raise ValueError(f"unknown initializer {spec!r}") from exc
    if hasattr(init, "seed"):
        init = init.__class__.from_config({**init.get_config(), "seed": seed})
    return init


def build_mlp(
    depth: int,
    width: int,
    *,
    input_dim: int = 40,
    output_dim: int = 10,
    activation: str = "relu",
    initializer: str | keras.initializers.Initializer | float = "glorot_uniform",
    batch_norm: bool = False,
    residual: bool = False,
    output_activation: str | None = None,
    seed: int = 0,
    name: str | None = None,
) -> keras.Model:
    """Build a fully connected network of ``depth`` hidden layers of ``width`` units.

    Hidden layers are named ``hidden_1 .. hidden_depth`` (their activations
    ``act_1 ..``) so probes and plots can order them by depth. With ``residual=True``,
    an input projection to ``width`` is followed by ``depth`` blocks ``h + f(h)``.

    Args:
        depth: Number of hidden layers (>= 1).
        width: Units per hidden layer.
        input_dim: Features per example.
        output_dim: Units of the output layer (logits when ``output_activation`` is None).
        activation: Hidden activation, any Keras name (``"sigmoid"``, ``"tanh"``, ``"relu"``...).
        initializer: Kernel initializer name, Initializer, or the std of a normal initializer.
        batch_norm: Insert BatchNormalization between each linear map and its activation.
        residual: Add identity skip connections around each hidden layer.
        output_activation: Activation of the output layer (None for logits).
        seed: Seed of every initializer.
        name: Model name (defaults to a description of the architecture).

    Returns:
        An uncompiled functional ``keras.Model``.

    Used in: "Vanishing gradients in deep networks", "Weight initialisation", "Batch normalization",
    "Residual connections".
    """
    depth = check_int("depth", depth)
    width = check_int("width", width)
    input_dim = check_int("input_dim", input_dim)
    output_dim = check_int("output_dim", output_dim)
    inputs = keras.Input(shape=(input_dim,), name="x")
    h = inputs
    if residual:
        h = keras.layers.Dense(
            width, kernel_initializer=_initializer(initializer, seed), name="project"
        )(h)
    for i in range(1, depth + 1):
        seed_i = layer_seed(seed, i)
        z = keras.layers.Dense(
            width,
            kernel_initializer=_initializer(initializer, seed_i),
            use_bias=not batch_norm,
            name=f"hidden_{i}",
        )(h)
        if batch_norm:
            z = keras.layers.BatchNormalization(name=f"bn_{i}")(z)
        a = keras.layers.Activation(activation, name=f"act_{i}")(z)
        h = keras.layers.Add(name=f"skip_{i}")([h, a]) if residual else a
    outputs = keras.layers.Dense(
        output_dim,
        activation=output_activation,
        kernel_initializer=_initializer("glorot_uniform", layer_seed(seed, depth + 1)),
        name="output",
    )(h)
    if name is None:
        parts = [f"{activation}", f"{depth}x{width}"]
        parts += ["bn"] if batch_norm else []
        parts += ["res"] if residual else []
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
