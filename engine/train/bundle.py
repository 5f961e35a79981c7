"""The data a run trains on: generated or loaded, split, and scaled."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.config.experiment import ConfigError, ExperimentConfig
from engine.data.datasets import load_csv, make_dataset, train_test_split
from engine.data.features import DEFAULT_FEATURES, expand
from engine.data.scaling import Scaler, fit_scaler


@dataclass(frozen=True)
class DataBundle:
    """Raw points for plotting, the network's inputs (the features of the scaled points),
    and the scaler and features between them (``inputs``)."""

    X_train_raw: np.ndarray  # (n_train, 2) as generated or loaded
    # the network's targets: (n_train, 1) labels 0/1 or real values, or one-hot rows
    # (n_train, K) under ce (``labels`` gives the class numbers back)
    y_train: np.ndarray
    X_test_raw: np.ndarray  # (n_test, 2), empty without a split
    y_test: np.ndarray
    scaler: Scaler
    X_train: np.ndarray  # the network's input: scaled, then the features (n, n_features)
    X_test: np.ndarray
    features: tuple[str, ...] = DEFAULT_FEATURES
    classes: int = 2  # 0 for a regression's real targets

    @property
    def regression(self) -> bool:
        return self.classes == 0

    def labels(self, split: str = "train") -> np.ndarray:
        """(n,) per point: the class number 0..K-1, or a regression's target."""
        y = self.y_train if split == "train" else self.y_test
        if y.ndim == 2 and y.shape[1] > 1:
            return y.argmax(axis=1).astype(np.float64)
        return y.reshape(-1)

    def inputs(self, X_raw: np.ndarray) -> np.ndarray:
        """The network's input for points in the dataset's own coordinates: scaled, then
        the features (what ``X_train`` holds for the training points)."""
        return expand(self.scaler.transform(X_raw), self.features)

    @property
    def has_test(self) -> bool:
        return len(self.X_test) > 0

    @property
    def n_train(self) -> int:
        return len(self.X_train)

    def all_raw(self) -> tuple[np.ndarray, np.ndarray]:
        return (
            np.concatenate([self.X_train_raw, self.X_test_raw]),
            np.concatenate([self.y_train, self.y_test]),
        )

    def all_labels(self) -> np.ndarray:
        """``labels`` of the training points, then the test points'."""
        return np.concatenate([self.labels("train"), self.labels("test")])


def build_data(config: ExperimentConfig) -> DataBundle:
    """Generate or load the dataset, split it, fit the scaler on the training part, and
    compute the config's features from the scaled points."""
    classes = 0 if config.regression else config.classes
    if config.data_path:
        X, y = load_csv(config.data_path, classes or None)
    else:
        X, y = make_dataset(config.dataset, config.n, config.noise, config.data_seed,
                            config.classes)
    if config.loss == "ce":  # one output per class: one-hot targets
        y = one_hot(y, config.classes)
    X_tr, y_tr, X_te, y_te = train_test_split(X, y, config.test_split, config.data_seed)
    if config.batch_size > len(X_tr):
        raise ConfigError(
            "batch_size",
            f"batch size must be at most the {len(X_tr)} training points (0 = full batch), "
            f"got {config.batch_size}",
        )
    scaler = fit_scaler(X_tr, config.scale)
    features = config.features
    return DataBundle(
        X_tr, y_tr, X_te, y_te, scaler, expand(scaler.transform(X_tr), features),
        expand(scaler.transform(X_te), features), features, classes,
    )


def one_hot(labels: np.ndarray, classes: int) -> np.ndarray:
    """(n, K) rows of 0.0 with a 1.0 in each label's column."""
    return np.eye(classes)[labels.reshape(-1).astype(np.int64)]
