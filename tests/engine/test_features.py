"""--features (issue #15): the network reads columns computed from the scaled (x1, x2),
any subset in the order given; predictions over the raw plane go through them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine import ExperimentConfig, Trainer
from engine.config.experiment import ConfigError, load_config
from engine.data.features import DEFAULT_FEATURES, FEATURE_NAMES, expand, formula
from engine.explain import explain
from engine.explain.drill import drill
from engine.io.runfile import load_run, save_run, trainer_from_saved
from engine.stack.trainer import StackTrainer
from engine.train.bundle import build_data

pytestmark = pytest.mark.filterwarnings("error")

ALL = "x1,x2,x1^2,x2^2,x1*x2,sin(x1),sin(x2)"
OLD_RUN = Path(__file__).parents[1] / "tui" / "runs" / "dlp-xor-15000.npz"  # saved before


def test_the_columns() -> None:
    X = np.array([[0.5, -2.0], [1.0, 3.0]])
    got = expand(X, tuple(ALL.split(",")))
    x1, x2 = X[:, 0], X[:, 1]
    np.testing.assert_array_equal(
        got, np.column_stack([x1, x2, x1**2, x2**2, x1 * x2, np.sin(x1), np.sin(x2)]))
    np.testing.assert_array_equal(expand(X, ("sin(x2)", "x1")), np.column_stack([np.sin(x2), x1]))
    assert expand(X, DEFAULT_FEATURES) is X  # the course's runs read the very same array
    assert expand(X.astype(np.float32), ("x1^2",)).dtype == np.float32


def test_the_setting_parses_any_subset_in_order() -> None:
    assert ExperimentConfig().features == ("x1", "x2")
    assert ExperimentConfig(features=ALL).features == FEATURE_NAMES
    assert ExperimentConfig(features=" X1^2, sin( x2 ) ").features == ("x1^2", "sin(x2)")
    assert ExperimentConfig(features=["x1*x2"]).features == ("x1*x2",)


@pytest.mark.parametrize(("value", "message"), [
    ("x3", 'features must be names from x1, x2, x1^2, x2^2, x1*x2, sin(x1), sin(x2), '
           'separated by commas, got "x3"'),
    ("", "features must be names from"),
    ("x1,,x2", "features must be names from"),
    ("x1,x2,x1", 'feature x1 is given twice in "x1,x2,x1"'),
])
def test_bad_features_are_refused_naming_the_accepted_ones(value: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        ExperimentConfig(features=value)
    assert info.value.field == "features" and info.value.message.startswith(message)


def test_the_input_width_is_the_number_of_features() -> None:
    config = ExperimentConfig(features=ALL, hidden=(4,))
    assert config.sizes == (7, 4, 1) and config.diagram() == "7 → 4 → 1"
    assert config.n_parameters == 7 * 4 + 4
    assert ExperimentConfig(features="x1^2", hidden=()).diagram() == "1 → 1"


def test_the_data_holds_the_features_of_the_scaled_points() -> None:
    config = ExperimentConfig(dataset="moons", n=50, test_split=0.2, features="x1*x2,sin(x1)",
                              scale="standard")
    data = build_data(config)
    plain = build_data(config.replace(features="x1,x2"))
    assert data.features == ("x1*x2", "sin(x1)") and data.X_train.shape == (40, 2)
    s, t = plain.X_train, plain.X_test  # the scaled points, features apart
    np.testing.assert_array_equal(data.X_train, np.column_stack([s[:, 0] * s[:, 1],
                                                                 np.sin(s[:, 0])]))
    np.testing.assert_array_equal(data.X_test, np.column_stack([t[:, 0] * t[:, 1],
                                                                np.sin(t[:, 0])]))
    np.testing.assert_array_equal(data.inputs(data.X_train_raw), data.X_train)


def test_no_hidden_layer_on_the_squares_separates_the_circle() -> None:
    config = ExperimentConfig(dataset="circle", n=200, hidden=(), features="x1^2,x2^2",
                              bias=True, loss="bce", optimizer="adam", lr=0.1, epochs=2000,
                              log_every=500, scale="standard", schedule="none", init="xavier")
    trainer = Trainer(config)
    trainer.run()
    assert trainer.network.sizes == (2, 1)
    assert trainer.last_accuracy >= 0.95 and trainer.evaluate()["accuracy"] >= 0.95
    # without the squares the same network is a straight line: it cannot
    line = Trainer(config.replace(features="x1,x2"))
    line.run()
    assert line.last_accuracy < 0.8


def test_predict_raw_goes_through_the_features() -> None:
    config = ExperimentConfig(dataset="circle", n=50, features="x1,x2^2,sin(x1)", hidden=(3,))
    trainer = Trainer(config)
    grid = np.array([[0.1, -0.3], [0.7, 0.2], [-0.5, 0.9]])
    scaled = trainer.data.scaler.transform(grid)
    expected = trainer.network.predict(expand(scaled, config.features))[:, 0]
    np.testing.assert_array_equal(trainer.predict_raw(grid), expected)
    np.testing.assert_array_equal(trainer.predict_raw(trainer.data.X_train_raw),
                                  trainer.evaluate()["predictions"])


def test_the_explainer_names_the_columns_of_x() -> None:
    trainer = Trainer(ExperimentConfig(dataset="circle", n=20, features="x1,x1^2,sin(x2)",
                                       hidden=(3,), bias=True))
    walk = explain(trainer)
    assert [s.name for s in walk.stages[:3]] == ["X_raw", "X scaled", "X"]
    x = walk["X"]
    assert "x1, x1^2, sin(x2)" in x.equation and x.columns == ("x1", "x1^2", "sin(x2)")
    np.testing.assert_array_equal(x.values, trainer.data.X_train[walk.rows])
    scaled = walk["X scaled"].values
    d = drill(walk, "X", (2, 1))
    assert d.formula == f"x1^2 = {formula('x1^2', scaled[2, 0], scaled[2, 1])} = " \
                        f"{x.values[2, 1]:.6g}"
    assert walk.agreement < 1e-12
    plain = explain(Trainer(ExperimentConfig()))
    assert [s.name for s in plain.stages[:2]] == ["X_raw", "X"]  # unchanged without features


def test_a_stack_trains_on_the_features() -> None:
    config = ExperimentConfig(dataset="circle", n=40, features="x1^2,x2^2,x1*x2", hidden=(3,),
                              epochs=200, log_every=100, lr=0.2, bias=True)
    stack = StackTrainer([config, config.replace(seed=1)])
    stack.run()
    alone = Trainer(config)
    alone.run()
    np.testing.assert_allclose(stack.members[0].history.arrays()["loss"],
                               alone.history.arrays()["loss"], rtol=1e-11)


def test_run_files_keep_the_features_and_old_ones_load_with_the_defaults(tmp_path) -> None:
    config = ExperimentConfig(dataset="circle", n=40, features="x2,x1^2", hidden=(3,),
                              epochs=50, log_every=10, l2=0.01)
    trainer = Trainer(config)
    trainer.run()
    saved = load_run(save_run(tmp_path / "run.npz", trainer))
    assert saved.config == config
    again = trainer_from_saved(saved)
    np.testing.assert_array_equal(again.predict_raw(trainer.data.X_train_raw),
                                  trainer.predict_raw(trainer.data.X_train_raw))
    old = load_run(OLD_RUN)  # written before the features and the penalties existed
    assert old.config.features == ("x1", "x2") and (old.config.l2, old.config.l1) == (0, 0)
    assert trainer_from_saved(old).network.sizes[0] == 2


def test_a_config_file_takes_the_new_settings(tmp_path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('features = ["x1^2", "x2^2"]\nl2 = 0.001\nl1 = 0.002\n')
    config = load_config(path)
    assert (config.features, config.l2, config.l1) == (("x1^2", "x2^2"), 0.001, 0.002)
    assert load_config(_written(tmp_path, config)) == config


def _written(tmp_path, config: ExperimentConfig) -> Path:
    path = tmp_path / "back.toml"
    path.write_text(config.to_toml())
    return path
