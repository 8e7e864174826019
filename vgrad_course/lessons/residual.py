"""Residual connections: a residual block, a residual MLP and Jacobians (He et al. 2016)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from vgrad_course.seeds import effective_seed


@keras.saving.register_keras_serializable(package="vgrad_course")
class ResidualBlock(keras.layers.Layer):
    """A pre-activation residual block ``h -> h + W f(h) + b`` of constant width.

    The branch is a Dense layer applied to the activated input. Its weights are Gaussian
    with standard deviation ``branch_std``; a small value makes the block start close to
    the identity, so a stack of many blocks neither blows the signal up nor shrinks it.

    Args:
        width: Units (the block's input and output width).
        activation: Activation applied before the Dense layer.
        branch_std: Standard deviation of the branch weights.
        seed: Seed of the branch initializer.
        **kwargs: Passed to ``keras.layers.Layer`` (e.g. ``name``).

    Used in: "Residual connections".
    """

    def __init__(
        self,
        width: int,
        *,
        activation: str = "relu",
        branch_std: float = 0.05,
        seed: int = 0,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ValueError(f"width must be a positive integer, got {width!r}")
        if not branch_std > 0:
            raise ValueError(f"branch_std must be > 0, got {branch_std}")
        self.width = width
        self.activation_name = activation
        self.branch_std = float(branch_std)
        self.seed = seed
        self.activation = keras.activations.get(activation)
        self.dense = keras.layers.Dense(
            width,
            kernel_initializer=keras.initializers.RandomNormal(
                stddev=self.branch_std, seed=effective_seed(seed)
            ),
            name="dense",
        )

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        """Create the branch weights; the input width must equal ``width``."""
        if input_shape[-1] != self.width:
            raise ValueError(
                f"a residual block of width {self.width} needs inputs of width {self.width}, "
                f"got {input_shape[-1]}: add a Dense projection first"
            )
        self.dense.build(input_shape)

    def call(self, h: keras.KerasTensor) -> keras.KerasTensor:
        """Return ``h + dense(activation(h))``."""
        return h + self.dense(self.activation(h))

    def get_config(self) -> dict:
        """Return the serialisable configuration."""
        return {
            **super().get_config(),
            "width": self.width,
            "activation": self.activation_name,
            "branch_std": self.branch_std,
            "seed": self.seed,
        }


def build_residual_mlp(
    depth: int,
    width: int,
    *,
    input_dim: int = 40,
    output_dim: int = 10,
    activation: str = "relu",
    branch_std: float | None = None,
    seed: int = 0,
) -> keras.Model:
    """Build an input projection, ``depth`` residual blocks and a linear output layer.

    Blocks are named ``hidden_1 .. hidden_depth`` so that
    :func:`vgrad_course.probes.hidden_kernel_norms` reads their branch kernels.

    Args:
        depth: Number of residual blocks.
        width: Width of every block.
        input_dim: Features per example.
        output_dim: Units of the output layer (logits).
        activation: Activation inside each branch.
        branch_std: Branch weight std; default ``sqrt(2 / (width * depth))``, so that the
            whole stack multiplies the signal's second moment by about ``e`` at most.
        seed: Seed of every initializer.

    Returns:
        An uncompiled functional ``keras.Model``.

    Used in: "Residual connections".
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be a positive integer, got {depth!r}")
    if branch_std is None:
        branch_std = float(np.sqrt(2.0 / (width * depth)))
    inputs = keras.Input(shape=(input_dim,), name="x")
    h = keras.layers.Dense(
        width,
        kernel_initializer=keras.initializers.GlorotUniform(seed=effective_seed(seed)),
        name="project",
    )(inputs)
    for i in range(1, depth + 1):
        h = ResidualBlock(
            width,
            activation=activation,
            branch_std=branch_std,
            seed=seed * 1000 + i,
            name=f"hidden_{i}",
        )(h)
    outputs = keras.layers.Dense(
        output_dim,
        kernel_initializer=keras.initializers.GlorotUniform(
            seed=effective_seed(seed * 1000 + depth + 1)
        ),
        name="output",
    )(keras.activations.get(activation)(h))
    return keras.Model(inputs, outputs, name=f"residual_{activation}_{depth}x{width}")


def layer_jacobian(layer: keras.layers.Layer, h: np.ndarray) -> np.ndarray:
    """Return the Jacobian ``d layer(h) / d h`` at one input vector, by automatic differentiation.

    Args:
        layer: A built layer mapping ``(1, n)`` to ``(1, m)`` (e.g. a block or a Dense layer).
        h: The input vector, shape ``(n,)``.

    Returns:
        float64 array of shape ``(m, n)``: row ``i`` is the gradient of output ``i``.

    Used in: "Residual connections".
    """
    hv = np.asarray(h, dtype=np.float32)
    if hv.ndim != 1:
        raise ValueError(f"h must be one vector of shape (n,), got shape {hv.shape}")
    ht = tf.constant(hv[None, :])
    with tf.GradientTape() as tape:
        tape.watch(ht)
        out = layer(ht)
    jac = tape.jacobian(out, ht)  # (1, m, 1, n)
    return np.asarray(jac, dtype=np.float64)[0, :, 0, :]


def singular_values(jacobian: np.ndarray) -> np.ndarray:
    """Return the singular values of a Jacobian, largest first.

    They are the factors by which the layer stretches a backward signal in its most and
    least favoured directions; values near 1 mean the gradient passes through intact.

    Args:
        jacobian: A 2-D array.

    Returns:
        1-D float64 array.

    Used in: "Residual connections".
    """
    j = np.asarray(jacobian, dtype=np.float64)
    if j.ndim != 2:
        raise ValueError(f"jacobian must be 2-D, got shape {j.shape}")
    return np.linalg.svd(j, compute_uv=False)
