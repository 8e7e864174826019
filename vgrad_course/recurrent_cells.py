"""A recurrent cell with layer normalization inside the recurrence (Ba, Kiros & Hinton 2016).

The plain tanh cell of Keras (``keras.layers.SimpleRNNCell``) computes
``h_t = tanh(x_t W + h_{t-1} U + b)``. The layer-normalised cell normalises the summed
pre-activation of every step over the units of each example before the non-linearity:

    a_t = x_t W + h_{t-1} U
    h_t = tanh(gamma * (a_t - mu_t) / sigma_t + beta)

with ``mu_t`` and ``sigma_t = sqrt(var_t + epsilon)`` the mean and standard deviation of the
``units`` entries of ``a_t`` (one example, one step). The shift ``beta`` takes the place of the
bias ``b``. The cell is used like Keras' own: ``keras.layers.RNN(LayerNormSimpleRNNCell(32))``.
"""

from __future__ import annotations

import keras
from keras import ops

from vgrad_course.layers import InitSpec, seeded_initializer
from vgrad_course.validation import check_int, check_positive


@keras.saving.register_keras_serializable(package="vgrad_course")
class LayerNormSimpleRNNCell(keras.layers.Layer):
    """A tanh recurrent cell whose pre-activation is layer-normalised at every time step.

    Weights (Keras names and shapes): ``kernel`` W ``(input_dim, units)``, ``recurrent_kernel``
    U ``(units, units)``, ``gamma`` ``(units,)`` (ones) and ``beta`` ``(units,)`` (zeros). A
    step computes ``a = x_t W + h_{t-1} U``, normalises ``a`` over its ``units`` entries,
    scales by ``gamma``, shifts by ``beta`` and applies ``activation``. The kernel initializer
    is seeded with ``seed`` and the recurrent one with ``seed + 1``, as
    :func:`vgrad_course.models.build_rnn` seeds its SimpleRNN, so both cells built from one
    seed start from the same W and U.

    Args:
        units: Hidden units (at least 2: the statistics are taken over them).
        activation: The non-linearity, any Keras name; None for none (linear).
        kernel_initializer: Initializer of W: a name, an Initializer (used as it is), or the
            std of a Gaussian (see :func:`vgrad_course.layers.seeded_initializer`).
        recurrent_initializer: Initializer of U, in the same forms.
        epsilon: Added to the variance before the square root (Keras' LayerNormalization
            default).
        seed: Seed of the named or Gaussian initializers.
        **kwargs: Passed to ``keras.layers.Layer`` (e.g. ``name``).

    Used in: "Batch normalization".
    """

    def __init__(
        self,
        units: int,
        *,
        activation: str | None = "tanh",
        kernel_initializer: InitSpec | dict = "glorot_uniform",
        recurrent_initializer: InitSpec | dict = "orthogonal",
        epsilon: float = 1e-3,
        seed: int = 0,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)
        self.units = check_int("units", units, minimum=2)
        self.activation_name = activation
        self.activation = keras.activations.get(activation)
        self.kernel_spec = kernel_initializer
        self.recurrent_spec = recurrent_initializer
        self.epsilon = check_positive("epsilon", epsilon)
        self.seed = seed
        self.kernel_initializer = seeded_initializer(kernel_initializer, seed)
        self.recurrent_initializer = seeded_initializer(recurrent_initializer, seed + 1)
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        """Create W, U, gamma and beta for inputs with ``input_shape[-1]`` features."""
        if input_shape[-1] is None:
            raise ValueError("the cell needs a known number of input features per step")
        units = self.units
        self.kernel = self.add_weight(
            shape=(input_shape[-1], units), initializer=self.kernel_initializer, name="kernel"
        )
        self.recurrent_kernel = self.add_weight(
            shape=(units, units), initializer=self.recurrent_initializer, name="recurrent_kernel"
        )
        self.gamma = self.add_weight(shape=(units,), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(units,), initializer="zeros", name="beta")

    def call(
        self, sequence: keras.KerasTensor, states: object, training: bool | None = None
    ) -> tuple[keras.KerasTensor, object]:
        """Run one step: return ``(h_t, new states)`` for inputs ``x_t`` and ``h_{t-1}``.

        Args:
            sequence: The step's inputs ``x_t``, shape ``(batch, input_dim)``.
            states: ``h_{t-1}``, shape ``(batch, units)``, or a one-element list of it.
            training: Unused (the cell behaves the same in training and inference).

        Returns:
            ``h_t`` and the new state, in the form ``states`` came in.
        """
        h_prev = states[0] if isinstance(states, list | tuple) else states
        a = ops.matmul(sequence, self.kernel) + ops.matmul(h_prev, self.recurrent_kernel)
        mean = ops.mean(a, axis=-1, keepdims=True)
        centred = a - mean
        var = ops.mean(ops.square(centred), axis=-1, keepdims=True)
        z = self.gamma * centred * ops.rsqrt(var + self.epsilon) + self.beta
        h = self.activation(z)
        return h, ([h] if isinstance(states, list | tuple) else h)

    def get_initial_state(self, batch_size: int | None = None) -> list[keras.KerasTensor]:
        """Return the zero state ``h_0 = 0`` for ``batch_size`` sequences."""
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self) -> dict:
        """Return the serialisable configuration."""
        specs = {}
        for key, spec in (
            ("kernel_initializer", self.kernel_spec),
            ("recurrent_initializer", self.recurrent_spec),
        ):
            is_object = isinstance(spec, keras.initializers.Initializer)
            specs[key] = keras.initializers.serialize(spec) if is_object else spec
        return {
            **super().get_config(),
            "units": self.units,
            "activation": self.activation_name,
            **specs,
            "epsilon": self.epsilon,
            "seed": self.seed,
        }
