"""The course's own Keras building blocks: seeded initializers and the one residual block.

The model builders (:mod:`vgrad_course.models`) assemble networks from these.
"""

from __future__ import annotations

import keras

from vgrad_course.seeds import effective_seed
from vgrad_course.validation import check_int

#: What an ``initializer`` argument may be: a Keras name, an Initializer, or a Gaussian's std.
InitSpec = str | keras.initializers.Initializer | float


def seeded_initializer(spec: InitSpec | dict, seed: int | None) -> keras.initializers.Initializer:
    """Turn a name, an Initializer or a float standard deviation into a seeded initializer.

    Args:
        spec: A Keras initializer name (seeded with ``seed`` if it is random), an Initializer
            (used as it is), a float (the std of a Gaussian), or a serialised Initializer.
        seed: The seed, shifted by ``VGRAD_SEED_OFFSET`` (see
            :func:`vgrad_course.seeds.effective_seed`); None leaves it unseeded.

    Returns:
        The initializer.

    Used in: "Vanishing gradients in deep networks", "Weight initialisation",
    "Activation functions", "Batch normalization", "Residual connections", "Putting it together".
    """
    seed = None if seed is None else effective_seed(seed)
    if isinstance(spec, dict):  # a serialised Initializer (from a layer's config)
        return keras.initializers.deserialize(spec)
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


@keras.saving.register_keras_serializable(package="vgrad_course")
class ResidualBlock(keras.layers.Layer):
    """A residual block of constant width: ``h + W f(h) + b``, or ``h + f(W h + b)``.

    The branch is one Dense layer (sub-layer ``dense``, so its kernel's path is
    ``<block name>/dense/kernel``) and the activation ``f``. With ``preactivation=True`` (the
    default, the ordering of later ResNets) the branch sees the activated input and its output
    is added unactivated; with ``preactivation=False`` the branch's output is activated before
    it is added, so a ReLU branch only ever adds non-negative values. A small initializer makes
    the block start close to the identity.

    Args:
        width: Units (the block's input and output width).
        activation: The activation ``f``, any Keras name.
        preactivation: Activate before the Dense layer (True) or after it (False).
        batch_norm: Batch-normalise the branch before ``f`` (then a post-activation branch's
            Dense layer has no bias).
        initializer: Branch kernel initializer: a name, an Initializer, or a Gaussian std.
        bias_init: Initial value of every entry of the branch bias.
        seed: Seed of the branch initializer.
        **kwargs: Passed to ``keras.layers.Layer`` (e.g. ``name``).

    Used in: "Residual connections", "Putting it together".
    """

    def __init__(
        self,
        width: int,
        *,
        activation: str = "relu",
        preactivation: bool = True,
        batch_norm: bool = False,
        initializer: InitSpec | dict = "glorot_uniform",
        bias_init: float = 0.0,
        seed: int = 0,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)
        self.width = check_int("width", width)
        self.branch_activation = activation
        self.preactivation = bool(preactivation)
        self.batch_norm = bool(batch_norm)
        self.initializer = initializer
        self.bias_init = float(bias_init)
        self.seed = seed
        self.f = keras.activations.get(activation)
        self.norm = keras.layers.BatchNormalization(name="bn") if batch_norm else None
        self.dense = keras.layers.Dense(
            self.width,
            kernel_initializer=seeded_initializer(initializer, seed),
            bias_initializer=keras.initializers.Constant(self.bias_init),
            use_bias=self.preactivation or not self.batch_norm,
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
        if self.norm is not None:
            self.norm.build(input_shape)

    def call(self, h: keras.KerasTensor, training: bool | None = None) -> keras.KerasTensor:
        """Return ``h + dense(f(h))`` (pre-activation) or ``h + f(dense(h))``."""
        z = h if self.preactivation else self.dense(h)
        if self.norm is not None:
            z = self.norm(z, training=training)
        z = self.f(z)
        return h + (self.dense(z) if self.preactivation else z)

    def get_config(self) -> dict:
        """Return the serialisable configuration."""
        init = self.initializer
        if isinstance(init, keras.initializers.Initializer):
            init = keras.initializers.serialize(init)
        return {
            **super().get_config(),
            "width": self.width,
            "activation": self.branch_activation,
            "preactivation": self.preactivation,
            "batch_norm": self.batch_norm,
            "initializer": init,
            "bias_init": self.bias_init,
            "seed": self.seed,
        }
