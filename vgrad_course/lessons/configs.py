"""The two sick patients of the course as configurations: a deep MLP and a recurrent network.

A configuration is a frozen dataclass that records everything needed to build and compile one
network: architecture, initialisation and optimiser. A chapter's variants are configurations
(a remedy of :mod:`vgrad_course.lessons.remedies` or ``dataclasses.replace`` returns a copy with
a few fields changed), so one function, :func:`vgrad_course.lessons.comparison.train_configs`,
trains the baseline and every variant the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np

from vgrad_course import models, training


@dataclass(frozen=True, kw_only=True)
class MLPConfig:
    """A deep fully connected classifier and its optimiser (defaults: the sick baseline).

    The defaults are a deep sigmoid network with a naive small Gaussian initialisation, trained
    by plain SGD: the book's own small version of the kind of network Glorot & Bengio (2010)
    found hard to train (they used up to five hidden layers of 1000 units).

    Attributes:
        depth: Hidden layers (or residual blocks).
        width: Units per hidden layer.
        activation: Hidden activation (a Keras name).
        initializer: Kernel initializer name, the std of a normal initializer, or None for
            the architecture's default (see :func:`vgrad_course.models.build_mlp`).
        bias_init: Initial value of every hidden bias.
        batch_norm: Batch normalisation before each activation.
        residual: Pre-activation residual blocks around each hidden layer.
        optimizer: Optimizer name (see :func:`vgrad_course.training.make_optimizer`).
        lr: Learning rate.
        clipnorm: Clip each variable's gradient to this norm (None: no clipping).
        global_clipnorm: Clip the global gradient norm to this value (None: no clipping).
        clipvalue: Clip each gradient entry to this magnitude (None: no clipping).
    """

    depth: int = 20
    width: int = 64
    activation: str = "sigmoid"
    initializer: str | float | None = 0.05
    bias_init: float = 0.0
    batch_norm: bool = False
    residual: bool = False
    optimizer: str = "sgd"
    lr: float = 0.1
    clipnorm: float | None = None
    global_clipnorm: float | None = None
    clipvalue: float | None = None

    def build(self, *, input_dim: int = 40, output_dim: int = 10, seed: int = 0) -> keras.Model:
        """Build the (uncompiled) network this configuration describes.

        Args:
            input_dim: Features per example.
            output_dim: Number of classes (the model outputs logits).
            seed: Seed of every initializer.

        Returns:
            A model from :func:`vgrad_course.models.build_mlp`.

        Used in: "Weight initialisation", "Activation functions", "Batch normalization",
        "Residual connections", "Putting it together", "Appendix: reproductions at a glance".
        """
        return models.build_mlp(
            self.depth,
            self.width,
            input_dim=input_dim,
            output_dim=output_dim,
            activation=self.activation,
            initializer=self.initializer,
            bias_init=self.bias_init,
            batch_norm=self.batch_norm,
            residual=self.residual,
            seed=seed,
        )

    def compile(self, model: keras.Model, *, metrics: Sequence[str] = ("accuracy",)) -> keras.Model:
        """Compile ``model`` for classification with this configuration's optimiser.

        Args:
            model: A model from :meth:`build`.
            metrics: Keras metrics to record besides the loss.

        Returns:
            The same model, compiled with cross-entropy on logits.

        Used in: "Activation functions", "Putting it together",
        "Appendix: reproductions at a glance".
        """
        return training.compile_model(
            model,
            loss=training.classification_loss(),
            optimizer=self.optimizer,
            lr=self.lr,
            metrics=metrics,
            **clip_options(self),
        )

    def model_for(self, x: np.ndarray, *, seed: int = 0) -> keras.Model:
        """Build and compile the network for inputs shaped like ``x`` (``(n, features)``).

        Args:
            x: Example inputs.
            seed: Seed of every initializer.

        Returns:
            A compiled model.

        Used in: "Weight initialisation", "Activation functions", "Batch normalization",
        "Residual connections", "Putting it together".
        """
        return self.compile(self.build(input_dim=np.shape(x)[-1], seed=seed))


@dataclass(frozen=True, kw_only=True)
class RNNConfig:
    """A one-layer recurrent regressor and its optimiser (defaults: the tanh RNN baseline).

    Attributes:
        cell: ``"simple"`` (tanh), ``"lstm"``, ``"gru"`` or ``"irnn"``.
        units: Hidden units.
        forget_bias: LSTM forget-gate bias at initialisation (None: the Keras default, 1).
        recurrent_scale: For ``simple`` and ``irnn``: gain of the recurrent initializer.
        optimizer: Optimizer name.
        lr: Learning rate.
        clipnorm: Clip each variable's gradient to this norm (None: no clipping).
        global_clipnorm: Clip the global gradient norm to this value (None: no clipping).
        clipvalue: Clip each gradient entry to this magnitude (None: no clipping).
    """

    cell: str = "simple"
    units: int = 32
    forget_bias: float | None = None
    recurrent_scale: float = 1.0
    optimizer: str = "adam"
    lr: float = 1e-3
    clipnorm: float | None = None
    global_clipnorm: float | None = None
    clipvalue: float | None = None

    def build(
        self, *, seq_len: int | None = None, input_dim: int = 2, output_dim: int = 1, seed: int = 0
    ) -> keras.Model:
        """Build the (uncompiled) recurrent model this configuration describes.

        Args:
            seq_len: Sequence length (None accepts any).
            input_dim: Features per time step (2 for the adding problem).
            output_dim: Outputs of the linear head.
            seed: Seed of every initializer.

        Returns:
            A model from :func:`vgrad_course.models.build_rnn`.

        Used in: "Gradient clipping", "LSTM and GRU", "Identity-initialised ReLU RNNs (IRNN)".
        """
        return models.build_rnn(
            self.cell,
            self.units,
            seq_len=seq_len,
            input_dim=input_dim,
            output_dim=output_dim,
            forget_bias=self.forget_bias if self.cell == "lstm" else None,
            recurrent_scale=self.recurrent_scale,
            seed=seed,
        )

    def compile(self, model: keras.Model, *, loss: str = "mse") -> keras.Model:
        """Compile ``model`` with this configuration's optimiser.

        Args:
            model: A model from :meth:`build`.
            loss: A Keras loss name (``"mse"`` for the adding problem).

        Returns:
            The same model, compiled.

        Used in: "Gradient clipping", "LSTM and GRU", "Identity-initialised ReLU RNNs (IRNN)".
        """
        return training.compile_model(
            model, loss=loss, optimizer=self.optimizer, lr=self.lr, **clip_options(self)
        )

    def model_for(self, x: np.ndarray, *, seed: int = 0) -> keras.Model:
        """Build and compile the model for sequences shaped like ``x`` (``(n, steps, features)``).

        Args:
            x: Example inputs.
            seed: Seed of every initializer.

        Returns:
            A compiled model (mean squared error).

        Used in: "Gradient clipping".
        """
        _, seq_len, input_dim = np.shape(x)
        return self.compile(self.build(seq_len=seq_len, input_dim=input_dim, seed=seed))


Config = MLPConfig | RNNConfig


def clip_options(config: Config) -> dict[str, float]:
    """Return the clipping options a configuration sets, as Keras optimizer keyword arguments.

    Args:
        config: An :class:`MLPConfig` or :class:`RNNConfig`.

    Returns:
        ``{"clipnorm" / "global_clipnorm" / "clipvalue": threshold}`` for those that are set
        (empty: no clipping).

    Used in: "Gradient clipping".
    """
    clip = {
        "clipnorm": config.clipnorm,
        "global_clipnorm": config.global_clipnorm,
        "clipvalue": config.clipvalue,
    }
    return {k: v for k, v in clip.items() if v is not None}
