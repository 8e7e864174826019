"""The two sick patients of the course as configurations: a deep MLP and a recurrent network.

A configuration is a frozen dataclass that records everything needed to build and compile one
network: architecture, initialisation and optimiser. Its defaults are the sick baseline; a
remedy (:mod:`vgrad_course.lessons.remedies`) returns a copy with a few fields changed, so the same
``config.compile(config.build())`` trains the baseline and every cure.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras

from vgrad_course import models, training


@dataclass(frozen=True)
class MLPConfig:
    """A deep fully connected classifier and its optimiser (defaults: the sick baseline).

    The defaults are a deep sigmoid network with a naive small Gaussian initialisation, trained
    by plain SGD: the book's own small version of the kind of network Glorot & Bengio (2010)
    found hard to train (they used up to five hidden layers of 1000 units).

    Attributes:
        depth: Hidden layers.
        width: Units per hidden layer.
        activation: Hidden activation (a Keras name).
        initializer: Kernel initializer name, or the std of a normal initializer.
        batch_norm: Batch normalisation before each activation.
        residual: Identity skip connections around each hidden layer.
        optimizer: Optimizer name (see :func:`vgrad_course.training.make_optimizer`).
        lr: Learning rate.
        global_clipnorm: Clip the global gradient norm to this value (None: no clipping).
        clipvalue: Clip each gradient entry to this magnitude (None: no clipping).
    """

    depth: int = 20
    width: int = 64
    activation: str = "sigmoid"
    initializer: str | float = 0.05
    batch_norm: bool = False
    residual: bool = False
    optimizer: str = "sgd"
    lr: float = 0.1
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

        Used in: "Putting it together", "Appendix: reproductions at a glance".
        """
        return models.build_mlp(
            self.depth,
            self.width,
            input_dim=input_dim,
            output_dim=output_dim,
            activation=self.activation,
            initializer=self.initializer,
            batch_norm=self.batch_norm,
            residual=self.residual,
            seed=seed,
        )

    def compile(self, model: keras.Model) -> keras.Model:
        """Compile ``model`` for classification with this configuration's optimiser.

        Args:
            model: A model from :meth:`build`.

        Returns:
            The same model, compiled with cross-entropy on logits and an accuracy metric.

        Used in: "Putting it together", "Appendix: reproductions at a glance".
        """
        return training.compile_model(
            model,
            loss=training.classification_loss(),
            optimizer=self.optimizer,
            lr=self.lr,
            metrics=["accuracy"],
            **_clip_options(self),
        )


@dataclass(frozen=True)
class RNNConfig:
    """A one-layer recurrent regressor and its optimiser (defaults: the tanh RNN baseline).

    Attributes:
        cell: ``"simple"`` (tanh), ``"lstm"``, ``"gru"`` or ``"irnn"``.
        units: Hidden units.
        forget_bias: LSTM forget-gate bias at initialisation (None: the Keras default, 1).
        optimizer: Optimizer name.
        lr: Learning rate.
        global_clipnorm: Clip the global gradient norm to this value (None: no clipping).
        clipvalue: Clip each gradient entry to this magnitude (None: no clipping).
    """

    cell: str = "simple"
    units: int = 32
    forget_bias: float | None = None
    optimizer: str = "adam"
    lr: float = 1e-3
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

        Used in: "LSTM and GRU", "Identity-initialised ReLU RNNs (IRNN)", "Putting it together".
        """
        return models.build_rnn(
            self.cell,
            self.units,
            seq_len=seq_len,
            input_dim=input_dim,
            output_dim=output_dim,
            forget_bias=self.forget_bias if self.cell == "lstm" else None,
            seed=seed,
        )

    def compile(self, model: keras.Model, *, loss: str = "mse") -> keras.Model:
        """Compile ``model`` with this configuration's optimiser.

        Args:
            model: A model from :meth:`build`.
            loss: A Keras loss name (``"mse"`` for the adding problem).

        Returns:
            The same model, compiled.

        Used in: "LSTM and GRU", "Identity-initialised ReLU RNNs (IRNN)", "Putting it together".
        """
        return training.compile_model(
            model, loss=loss, optimizer=self.optimizer, lr=self.lr, **_clip_options(self)
        )


Config = MLPConfig | RNNConfig


def _clip_options(config: Config) -> dict[str, float]:
    """Return the clipping keyword arguments set in ``config``."""
    clip = {"global_clipnorm": config.global_clipnorm, "clipvalue": config.clipvalue}
    return {k: v for k, v in clip.items() if v is not None}
