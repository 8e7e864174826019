"""Residual networks with a scalar gate on each branch, several trained side by side.

One residual block of a *member* network maps ``h`` (batch, width) to

    h + g * F(h),    F(h) = W2 relu(W1 relu(h) + b1) + b2,

a pre-activation branch of two Dense layers and a scalar gate ``g``. How they start is the
member's initialisation *scheme* (:data:`SCHEMES`).

All weights have a leading *member* axis and every operation acts on each member separately:
one model trains several independent networks at once (their losses are summed, so each
member's gradient is its own), and the blocks run as one loop, traced once whatever the depth.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from vgrad_course.seeds import layer_seed, make_rng
from vgrad_course.validation import check_choice, check_int

#: The initialisation schemes of a member and what each means.
SCHEMES: dict[str, str] = {
    "he": "h + F(h), both branch layers He-initialised, no gate",
    "scaled": "h + F(h), both branch layers He * depth**-0.25, no gate",
    "rezero": "h + g F(h), He branch, trainable gate g = 0 at start (SkipInit, ReZero)",
    "fixup": "h + g F(h), W1 He * depth**-0.5, W2 = 0, g = 1, output layer 0 (Fixup)",
    "noskip": "F(h) without the skip: a plain ReLU network, He-initialised",
}
#: Schemes whose gate is trained; the others keep ``g = 1`` (their gate gets no gradient).
GATED: tuple[str, ...] = ("rezero", "fixup")


def _glorot(rng: np.random.Generator, fan_in: int, units: int) -> np.ndarray:
    """Return a Glorot-uniform kernel (Keras' default for Dense) of shape (fan_in, units)."""
    limit = np.sqrt(6.0 / (fan_in + units))
    return (2 * rng.random((fan_in, units), dtype=np.float32) - 1) * np.float32(limit)


def _he(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Return He's Gaussian, std sqrt(2 / fan_in) with fan_in = shape[-2] (not truncated)."""
    return rng.standard_normal(shape, dtype=np.float32) * np.float32(np.sqrt(2.0 / shape[-2]))


def _constant(values: np.ndarray) -> keras.initializers.Initializer:
    """Return an initializer that yields ``values`` (shape checked by Keras)."""
    return keras.initializers.Constant(np.asarray(values, dtype=np.float32))


@keras.saving.register_keras_serializable(package="vgrad_course")
class MemberDense(keras.layers.Layer):
    """A Dense layer for each member: ``(members, batch, n) -> (members, batch, units)``.

    A 2-D input ``(batch, n)`` is shared by every member. Kernels start Glorot-uniform (each
    member from its own seed), or at zero for the members listed in ``zero``; biases at zero.

    Args:
        units: Output units.
        seeds: One seed per member.
        zero: Indices of members whose kernel starts at zero.
        **kwargs: Passed to ``keras.layers.Layer`` (e.g. ``name``).

    Used in: "Very deep residual networks without normalisation, and pictures of the landscape".
    """

    def __init__(
        self, units: int, *, seeds: Sequence[int], zero: Sequence[int] = (), **kwargs: object
    ) -> None:
        super().__init__(**kwargs)
        self.units = check_int("units", units)
        self.seeds = [int(s) for s in seeds]
        self.zero = [int(m) for m in zero]
        if not self.seeds:
            raise ValueError("seeds is empty: give one seed per member")

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        """Create ``kernel`` (members, n, units) and ``bias`` (members, units)."""
        fan_in = int(input_shape[-1])
        drawn = {s: _glorot(make_rng(s), fan_in, self.units) for s in set(self.seeds)}
        kernels = np.stack([drawn[s] for s in self.seeds])
        kernels[self.zero] = 0.0
        self.kernel = self.add_weight(
            shape=kernels.shape, initializer=_constant(kernels), name="kernel"
        )
        self.bias = self.add_weight(
            shape=(len(self.seeds), self.units), initializer="zeros", name="bias"
        )

    def call(self, h: keras.KerasTensor) -> keras.KerasTensor:
        """Return ``h @ kernel + bias`` member by member."""
        if len(h.shape) == 2:
            return keras.ops.einsum("bi,miu->mbu", h, self.kernel) + self.bias[:, None, :]
        return keras.ops.matmul(h, self.kernel) + self.bias[:, None, :]

    def get_config(self) -> dict:
        """Return the serialisable configuration."""
        return {**super().get_config(), "units": self.units, "seeds": self.seeds, "zero": self.zero}


@keras.saving.register_keras_serializable(package="vgrad_course")
class GatedResidualStack(keras.layers.Layer):
    """``depth`` scalar-gated residual blocks for each member, run as one loop over the blocks.

    Member ``m`` applies, block after block, ``h <- s_m h + g F(h)`` with the branch ``F`` of
    the module docstring; ``s_m`` is 0 for the scheme ``"noskip"`` and 1 otherwise, and the
    gate ``g`` is a trained scalar per block for the schemes in :data:`GATED` and the constant
    1 for the others. Variables (member axis first): ``kernel_1``, ``kernel_2`` (members,
    depth, width, width), ``bias_1``, ``bias_2`` (members, depth, width), ``gate`` (members,
    depth). Biases start at zero; kernels and gates as the scheme says (:data:`SCHEMES`),
    member ``m`` drawing from ``seeds[m]``.

    Args:
        depth: Residual blocks per member (``L``; each has two Dense layers).
        width: Units of every block (input and output width).
        schemes: One scheme name per member (keys of :data:`SCHEMES`).
        seeds: One seed per member.
        **kwargs: Passed to ``keras.layers.Layer`` (e.g. ``name``).

    Used in: "Very deep residual networks without normalisation, and pictures of the landscape".
    """

    def __init__(
        self,
        depth: int,
        width: int,
        *,
        schemes: Sequence[str],
        seeds: Sequence[int],
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)
        self.depth = check_int("depth", depth)
        self.width = check_int("width", width)
        self.schemes = [check_choice("scheme", s, tuple(SCHEMES)) for s in schemes]
        self.seeds = [int(s) for s in seeds]
        if not self.schemes or len(self.schemes) != len(self.seeds):
            raise ValueError(
                f"give one scheme and one seed per member, got {len(self.schemes)} schemes "
                f"and {len(self.seeds)} seeds"
            )
        self.gated = np.array([s in GATED for s in self.schemes], np.float32)
        self.skip = np.array([s != "noskip" for s in self.schemes], np.float32)

    def _initial(self, scheme: str, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return one member's initial ``kernel_1``, ``kernel_2`` and ``gate``."""
        rng = make_rng(seed)
        shape = (self.depth, self.width, self.width)
        k1, k2 = _he(rng, shape), _he(rng, shape)
        gate = np.full(self.depth, 0.0 if scheme == "rezero" else 1.0, np.float32)
        if scheme == "scaled":  # each block multiplies the second moment by 1 + 1/L
            k1, k2 = k1 * np.float32(self.depth**-0.25), k2 * np.float32(self.depth**-0.25)
        if scheme == "fixup":  # m = 2 layers per branch: scale by L^(-1/(2m-2)) = L^(-1/2)
            k1, k2 = k1 * np.float32(self.depth**-0.5), np.zeros(shape, np.float32)
        return k1, k2, gate

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        """Create the variables; the input must be (members, batch, width)."""
        if len(input_shape) != 3 or input_shape[-1] != self.width:
            raise ValueError(
                f"the stack needs inputs (members, batch, {self.width}), got {input_shape}"
            )
        members = list(zip(self.schemes, self.seeds, strict=True))
        drawn = {m: self._initial(*m) for m in set(members)}  # copies drawn once
        k1, k2, gate = (np.stack(v) for v in zip(*(drawn[m] for m in members), strict=True))
        self.kernel_1 = self.add_weight(shape=k1.shape, initializer=_constant(k1), name="kernel_1")
        self.bias_1 = self.add_weight(shape=k1.shape[:-1], initializer="zeros", name="bias_1")
        self.kernel_2 = self.add_weight(shape=k2.shape, initializer=_constant(k2), name="kernel_2")
        self.bias_2 = self.add_weight(shape=k2.shape[:-1], initializer="zeros", name="bias_2")
        self.gate = self.add_weight(shape=gate.shape, initializer=_constant(gate), name="gate")

    def _apply(
        self, h: object, k1: object, b1: object, k2: object, b2: object, g: object
    ) -> object:
        """One block for every member: ``s h + g F(h)`` (weights of this block, member first)."""
        z = keras.ops.matmul(keras.ops.relu(h), k1) + b1[:, None, :]
        f = keras.ops.matmul(keras.ops.relu(z), k2) + b2[:, None, :]
        gate = self.gated * g + (1.0 - self.gated)  # ungated members: the constant 1
        return self.skip[:, None, None] * h + gate[:, None, None] * f

    def block(self, h: object, index: int) -> object:
        """Apply block ``index`` (0-based) to ``h`` of shape (members, batch, width).

        Args:
            h: The members' states before the block.
            index: Which block.

        Returns:
            The states after it, same shape.
        """
        weights = (self.kernel_1, self.bias_1, self.kernel_2, self.bias_2, self.gate)
        return self._apply(h, *(w[:, index] for w in weights))

    def call(self, h: keras.KerasTensor) -> keras.KerasTensor:
        """Apply every block, as one loop (``keras.ops.scan``) over the block axis."""
        weights = (self.kernel_1, self.bias_1, self.kernel_2, self.bias_2, self.gate)
        by_block = tuple(keras.ops.moveaxis(w, 1, 0) for w in weights)
        h, _ = keras.ops.scan(lambda h, w: (self._apply(h, *w), None), h, by_block)
        return h

    def get_config(self) -> dict:
        """Return the serialisable configuration."""
        return {
            **super().get_config(),
            "depth": self.depth,
            "width": self.width,
            "schemes": self.schemes,
            "seeds": self.seeds,
        }


def build_gated_resnet(
    depth: int,
    width: int,
    *,
    schemes: Sequence[str],
    seeds: Sequence[int],
    input_dim: int = 40,
    output_dim: int = 10,
    name: str = "gated_resnet",
) -> keras.Model:
    """Build one model holding several residual networks (members) that share only the input.

    Each member: a linear projection ``project`` to ``width``, the stack of ``depth`` blocks
    (:class:`GatedResidualStack`, layer ``stack``), ReLU, and a linear ``output`` layer, which
    starts at zero for Fixup members. Member ``m`` is seeded from ``seed = seeds[m]`` (the
    projection with ``layer_seed(seed, 0)``, the stack with ``layer_seed(seed, 1)``, the output
    layer with ``layer_seed(seed, depth + 1)``). It has ``2 * depth + 2`` weight layers.

    Args:
        depth: Residual blocks per member.
        width: Units per block.
        schemes: One initialisation scheme per member (keys of :data:`SCHEMES`).
        seeds: One seed per member.
        input_dim: Features per example.
        output_dim: Logits per member.
        name: The model's name.

    Returns:
        An uncompiled model mapping ``(batch, input_dim)`` to logits
        ``(batch, members, output_dim)``; train it with :func:`member_crossentropy`.

    Used in: "Very deep residual networks without normalisation, and pictures of the landscape".
    """
    seeds = [int(s) for s in seeds]
    inputs = keras.Input(shape=(check_int("input_dim", input_dim),), name="x")
    project = MemberDense(width, seeds=[layer_seed(s, 0) for s in seeds], name="project")
    stack_seeds = [layer_seed(s, 1) for s in seeds]
    h = GatedResidualStack(depth, width, schemes=schemes, seeds=stack_seeds, name="stack")(
        project(inputs)
    )
    fixup = [m for m, s in enumerate(schemes) if s == "fixup"]
    out_seeds = [layer_seed(s, depth + 1) for s in seeds]
    logits = MemberDense(output_dim, seeds=out_seeds, zero=fixup, name="output")(keras.ops.relu(h))
    return keras.Model(inputs, keras.ops.moveaxis(logits, 0, 1), name=name)


def member_crossentropy(y: object, logits: object) -> object:
    """Return, per example, the sum over members of each member's cross-entropy.

    Keras averages it over the batch: the training loss is the sum of the members' losses, so
    the gradient of each member's weights is that of its own loss.

    Args:
        y: Integer labels, shape ``(batch,)`` or ``(batch, 1)``.
        logits: Shape ``(batch, members, classes)``.

    Returns:
        Shape ``(batch,)``.

    Used in: "Very deep residual networks without normalisation, and pictures of the landscape".
    """
    labels = keras.ops.cast(keras.ops.reshape(y, (-1, 1)), "int32")
    labels = keras.ops.broadcast_to(labels, keras.ops.shape(logits)[:2])
    losses = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    return keras.ops.sum(losses, axis=1)


def member_logits(model: keras.Model, x: object) -> object:
    """Return the logits of every member, ``(members, batch, classes)``, from its own inputs.

    Unlike ``model(x)``, which feeds one batch to all members, ``x`` may also hold a batch per
    member, ``(members, batch, features)``: the gradient of member ``m``'s output then reaches
    ``x[m]`` only (the input gradients of several networks in one pass).

    Args:
        model: A model from :func:`build_gated_resnet`.
        x: Inputs ``(batch, features)`` shared by the members, or ``(members, batch,
            features)``.

    Returns:
        A tensor ``(members, batch, classes)``.

    Used in: "Very deep residual networks without normalisation, and pictures of the landscape".
    """
    h = model.get_layer("stack")(model.get_layer("project")(x))
    return model.get_layer("output")(keras.ops.relu(h))
