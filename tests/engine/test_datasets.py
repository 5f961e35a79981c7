"""Datasets: the course's reference sets exactly, the generated ones' shape, and the CSV loader."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.data.datasets import (
    DATASET_NAMES,
    DATASETS,
    REGRESSION_SETS,
    DataError,
    load_csv,
    make_dataset,
    train_test_split,
)

# Property tests must not vary from run to run or leave an example database behind.
DETERMINISTIC = settings(derandomize=True, database=None, deadline=None, max_examples=50)
GENERATED = ("circle", "spiral", "gaussian", "moons", "checkerboard")

# --- registry and request validation ----------------------------------------------------


def test_registry_names_are_exactly_the_documented_ones() -> None:
    expected = ("linear", "xor", "circle", "spiral", "gaussian", "moons", "checkerboard", "pie",
                "plane", "bumps")
    assert expected == DATASET_NAMES
    assert expected == tuple(DATASETS)
    assert all(callable(gen) for gen in DATASETS.values())


def test_data_error_is_a_value_error() -> None:
    assert issubclass(DataError, ValueError)


def test_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(DataError, match="unknown dataset 'spirals'") as info:
        make_dataset("spirals")
    for name in DATASET_NAMES:
        assert name in str(info.value)


@pytest.mark.parametrize("n", [1, 0, -5, 2.5, "100", True, 10**9])
def test_bad_point_counts_are_rejected(n: object) -> None:
    with pytest.raises(DataError, match="number of points"):
        make_dataset("linear", n=n)  # type: ignore[arg-type]


@pytest.mark.parametrize("noise", [-0.1, math.nan, math.inf, "0.1"])
def test_bad_noise_is_rejected(noise: object) -> None:
    with pytest.raises(DataError, match="noise"):
        make_dataset("circle", noise=noise)  # type: ignore[arg-type]


def test_numpy_integer_point_count_is_accepted() -> None:
    X, _ = make_dataset("circle", n=np.int64(10))
    assert X.shape == (10, 2)


def test_generators_never_touch_the_global_rng() -> None:
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    for name in DATASET_NAMES:
        make_dataset(name, n=50, noise=0.1, seed=4)
    assert np.array_equal(np.random.get_state()[1], before)


# --- every dataset ----------------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n in DATASET_NAMES if n not in REGRESSION_SETS])
@pytest.mark.parametrize("noise", [0.0, 0.1])
def test_shapes_dtypes_and_labels(name: str, noise: float) -> None:
    X, y = make_dataset(name, n=57, noise=noise, seed=1)
    n = 21 if name == "xor" else 57
    assert X.shape == (n, 2) and y.shape == (n, 1)
    assert X.dtype == np.float64 and y.dtype == np.float64
    assert set(np.unique(y)) == {0.0, 1.0}
    assert np.isfinite(X).all()


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_same_seed_gives_the_same_data(name: str) -> None:
    X1, y1 = make_dataset(name, n=40, noise=0.05, seed=7)
    X2, y2 = make_dataset(name, n=40, noise=0.05, seed=7)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_another_seed_gives_other_data(name: str) -> None:
    X1, _ = make_dataset(name, n=40, noise=0.05, seed=7)
    X2, _ = make_dataset(name, n=40, noise=0.05, seed=8)
    assert not np.array_equal(X1, X2)


def test_seed_none_draws_fresh_data() -> None:
    X1, _ = make_dataset("linear", n=20, seed=None)
    X2, _ = make_dataset("linear", n=20, seed=None)
    assert not np.array_equal(X1, X2)


# --- linear -----------------------------------------------------------------------------


def test_linear_is_the_course_rule_on_the_course_draw() -> None:
    X, y = make_dataset("linear", n=100, seed=3)
    assert np.array_equal(X, np.random.default_rng(3).uniform(0, 1, (100, 2)))
    expected = [0.0 if x1 > x2 else 1.0 for x1, x2 in X]
    assert y[:, 0].tolist() == expected
    assert X.min() >= 0 and X.max() < 1


def test_linear_default_is_100_points() -> None:
    X, y = make_dataset("linear")
    assert X.shape == (100, 2) and y.shape == (100, 1)


def test_linear_noise_flips_labels_and_keeps_points() -> None:
    X0, y0 = make_dataset("linear", n=10_000, seed=5)
    X1, y1 = make_dataset("linear", n=10_000, noise=0.2, seed=5)
    assert np.array_equal(X0, X1)
    flipped = np.mean(y0 != y1)
    assert 0.17 < flipped < 0.23
    assert set(np.unique(y1)) == {0.0, 1.0}


def test_linear_noise_one_flips_every_label() -> None:
    _, y0 = make_dataset("linear", n=50, seed=5)
    _, y1 = make_dataset("linear", n=50, noise=1.0, seed=5)
    assert np.array_equal(y1, 1 - y0)


def test_linear_noise_above_one_is_rejected() -> None:
    with pytest.raises(DataError, match="label-flip probability"):
        make_dataset("linear", noise=1.5)


# --- xor --------------------------------------------------------------------------------

# Written out by hand from the course: (0.1i, 0.1i) -> 0, then (0.1i, 1 - 0.1i) -> 1, no 2nd 0.5.
XOR_BY_HAND = [
    (0.0, 0.0, 0), (0.0, 1.0, 1),
    (0.1, 0.1, 0), (0.1, 0.9, 1),
    (0.2, 0.2, 0), (0.2, 0.8, 1),
    (0.3, 0.3, 0), (0.3, 0.7, 1),
    (0.4, 0.4, 0), (0.4, 0.6, 1),
    (0.5, 0.5, 0),
    (0.6, 0.6, 0), (0.6, 0.4, 1),
    (0.7, 0.7, 0), (0.7, 0.3, 1),
    (0.8, 0.8, 0), (0.8, 0.2, 1),
    (0.9, 0.9, 0), (0.9, 0.1, 1),
    (1.0, 1.0, 0), (1.0, 0.0, 1),
]  # fmt: skip


def test_xor_is_the_21_reference_points_in_order() -> None:
    X, y = make_dataset("xor")
    expected = np.array(XOR_BY_HAND, dtype=np.float64)
    assert X.shape == (21, 2)
    assert y[:, 0].tolist() == expected[:, 2].tolist()
    # the decimals above are the values 0.1 * i rounds to; allow only float representation error
    np.testing.assert_allclose(X, expected[:, :2], rtol=0, atol=1e-15)


def test_xor_matches_the_course_arithmetic_bit_for_bit() -> None:
    points = []
    for i in range(11):
        points.append((0.1 * i, 0.1 * i))
        if 0.1 * i != 0.5:
            points.append((0.1 * i, 1 - 0.1 * i))
    X, _ = make_dataset("xor")
    assert X.tolist() == [list(p) for p in points]


def test_xor_ignores_n_and_seed_without_noise() -> None:
    X, y = make_dataset("xor")
    for n, seed in [(5, 1), (1000, 2), (1, None)]:
        Xn, yn = make_dataset("xor", n=n, seed=seed)
        assert np.array_equal(X, Xn) and np.array_equal(y, yn)


def test_xor_noise_jitters_points_but_keeps_labels() -> None:
    X0, y0 = make_dataset("xor")
    X1, y1 = make_dataset("xor", noise=0.05, seed=2)
    assert np.array_equal(y0, y1)
    shift = X1 - X0
    assert np.all(shift != 0)
    assert np.abs(shift).max() < 0.05 * 6


# --- generated sets ---------------------------------------------------------------------


@pytest.mark.parametrize("name", GENERATED)
@pytest.mark.parametrize("n", [2, 3, 100, 101])
def test_generated_classes_are_balanced(name: str, n: int) -> None:
    _, y = make_dataset(name, n=n, seed=0)
    ones = int(y.sum())
    assert abs((n - ones) - ones) <= 1


@pytest.mark.parametrize("name", GENERATED)
def test_generated_classes_are_shuffled_together(name: str) -> None:
    _, y = make_dataset(name, n=100, seed=0)
    # sorted labels would make every early mini-batch single-class
    assert not np.array_equal(y[:, 0], np.sort(y[:, 0]))


@pytest.mark.parametrize("name", GENERATED)
def test_noise_is_a_seeded_gaussian_jitter_of_the_clean_set(name: str) -> None:
    X0, y0 = make_dataset(name, n=4000, noise=0.0, seed=9)
    X1, y1 = make_dataset(name, n=4000, noise=0.1, seed=9)
    assert np.array_equal(y0, y1)  # same points, same order: only positions move
    shift = X1 - X0
    assert abs(shift.std() - 0.1) < 0.01
    assert abs(shift.mean()) < 0.01


def _radius(X: np.ndarray) -> np.ndarray:
    return np.hypot(X[:, 0], X[:, 1])


def test_circle_is_a_disc_inside_a_ring() -> None:
    X, y = make_dataset("circle", n=1000, seed=0)
    r, label = _radius(X), y[:, 0]
    assert r[label == 0].max() < 0.5
    assert r[label == 1].min() >= 0.7 and r[label == 1].max() <= 1.0


def test_spiral_arms_stay_within_the_unit_disc_and_are_opposite() -> None:
    X, y = make_dataset("spiral", n=200, seed=0)
    r = _radius(X)
    assert r.min() >= 0.1 - 1e-12 and r.max() <= 1.0 + 1e-12
    # the arms are the same curve rotated by pi, so the class means mirror each other
    mean0, mean1 = X[y[:, 0] == 0].mean(axis=0), X[y[:, 0] == 1].mean(axis=0)
    np.testing.assert_allclose(mean0, -mean1, atol=1e-12)


def test_gaussian_blobs_sit_at_their_centres() -> None:
    X, y = make_dataset("gaussian", n=2000, seed=0)
    np.testing.assert_allclose(X[y[:, 0] == 0].mean(axis=0), [-0.5, -0.5], atol=0.03)
    np.testing.assert_allclose(X[y[:, 0] == 1].mean(axis=0), [0.5, 0.5], atol=0.03)


def test_moons_match_sklearn_geometry() -> None:
    X, y = make_dataset("moons", n=100, seed=0)
    outer, inner = X[y[:, 0] == 0], X[y[:, 0] == 1]
    np.testing.assert_allclose(np.hypot(outer[:, 0], outer[:, 1]), 1.0)
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1, inner[:, 1] - 0.5), 1.0)
    assert (outer[:, 1] >= -1e-12).all() and (inner[:, 1] <= 0.5 + 1e-12).all()


def test_checkerboard_labels_are_the_square_colours() -> None:
    X, y = make_dataset("checkerboard", n=1000, seed=0)
    assert X.min() >= 0 and X.max() < 1
    colour = (np.floor(4 * X[:, 0]) + np.floor(4 * X[:, 1])) % 2
    assert np.array_equal(colour, y[:, 0])


# --- CSV loader -------------------------------------------------------------------------


def _write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_csv_without_header(tmp_path: Path) -> None:
    X, y = load_csv(_write(tmp_path, "0.1,0.2,0\n0.3,0.4,1\n-1e3,5,1\n"))
    assert X.dtype == np.float64 and y.dtype == np.float64
    assert X.tolist() == [[0.1, 0.2], [0.3, 0.4], [-1000.0, 5.0]]
    assert y.tolist() == [[0.0], [1.0], [1.0]]


def test_load_csv_accepts_str_paths(tmp_path: Path) -> None:
    X, _ = load_csv(str(_write(tmp_path, "0,0,0\n1,1,1\n")))
    assert X.shape == (2, 2)


@pytest.mark.parametrize("header", ["x1,x2,label", "a, b, c", "feature one,feature two,y"])
def test_load_csv_skips_a_text_header(tmp_path: Path, header: str) -> None:
    X, y = load_csv(_write(tmp_path, f"{header}\n0.5,0.5,0\n0.25,0.75,1\n"))
    assert X.tolist() == [[0.5, 0.5], [0.25, 0.75]]
    assert y.tolist() == [[0.0], [1.0]]


def test_load_csv_accepts_float_labels_spaces_blank_lines_crlf_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    text = "\ufeffx1,x2,label\r\n\r\n 0.5 , 1 , 0.0 \r\n2,3,1.0\r\n\r\n"
    path.write_bytes(text.encode("utf-8"))
    X, y = load_csv(path)
    assert X.tolist() == [[0.5, 1.0], [2.0, 3.0]]
    assert y.tolist() == [[0.0], [1.0]]


def _error(path: Path) -> str:
    with pytest.raises(DataError) as info:
        load_csv(path)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_missing_file(tmp_path: Path) -> None:
    message = _error(tmp_path / "nope.csv")
    assert "nope.csv" in message and "not found" in message


def test_directory_instead_of_file(tmp_path: Path) -> None:
    assert "is a directory" in _error(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    assert "no data rows" in _error(_write(tmp_path, ""))


def test_blank_lines_only(tmp_path: Path) -> None:
    assert "no data rows" in _error(_write(tmp_path, "\n\n  \n"))


def test_header_only(tmp_path: Path) -> None:
    assert "no data rows" in _error(_write(tmp_path, "x1,x2,label\n"))


def test_single_row(tmp_path: Path) -> None:
    assert "only 1 data row" in _error(_write(tmp_path, "x1,x2,label\n0,0,1\n"))


def test_ragged_row_names_its_line(tmp_path: Path) -> None:
    text = "x1,x2,label\n0,0,0\n1,1,1\n0,1,1\n1,0,0\n0.5,0.5,1\n0.5,0.5\n"
    message = _error(_write(tmp_path, text))
    assert message.startswith(f"{tmp_path / 'data.csv'} line 7: ")
    assert message.endswith("line 7: expected 3 columns (x1,x2,label), got 2")


def test_too_many_columns(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "0,0,0\n1,1,1,1\n"))
    assert "line 2" in message and "got 4" in message


def test_a_header_of_the_wrong_width_is_reported(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "x,y\n0,0,0\n1,1,1\n"))
    assert "line 1: expected 3 columns" in message and "got 2" in message


def test_excel_empty_rows_are_skipped(tmp_path: Path) -> None:
    X, y = load_csv(_write(tmp_path, "x1,x2,label\n,,\n0,0,0\n , , \n1,1,1\n,,\n"))
    assert X.tolist() == [[0.0, 0.0], [1.0, 1.0]] and y.tolist() == [[0.0], [1.0]]


def test_empty_field_is_reported(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "0,0,0\n1,,1\n"))
    assert "line 2, column 2 (x2): '' is not a number" in message


def test_semicolon_file_hints_at_commas(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "0;0;0\n1;1;1\n"))
    assert (
        "line 1: expected 3 columns (x1,x2,label), got 1; separate the values with commas"
        in message
    )


def test_text_in_a_number_names_line_and_column(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "x1,x2,label\n0,0,0\n0.3,abc,1\n"))
    assert "line 3, column 2 (x2): 'abc' is not a number" in message


def test_text_in_a_label_names_the_label_column(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "0,0,0\n1,1,yes\n"))
    assert "line 2, column 3 (label): 'yes'" in message and "0 or 1" in message


def test_mixed_first_row_is_bad_data_not_a_header(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "0.5,oops,1\n0,0,0\n1,1,1\n"))
    assert "line 1, column 2 (x2): 'oops'" in message


def test_a_second_header_is_reported(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "x1,x2,label\nx1,x2,label\n0,0,0\n"))
    assert "line 2, column 1 (x1)" in message


def test_line_numbers_count_blank_lines_and_the_header(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "x1,x2,label\n\n0,0,0\n\n1,1,2\n"))
    assert "line 5, column 3 (label): labels must be 0 or 1, got 2" in message


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "1e999"])
def test_non_finite_values_name_line_and_column(tmp_path: Path, value: str) -> None:
    message = _error(_write(tmp_path, f"0,0,0\n1,1,1\n0.5,{value},1\n"))
    assert "line 3, column 2 (x2)" in message and "not a finite number" in message


def test_non_finite_label(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "0,0,0\n1,1,nan\n"))
    assert "line 2, column 3 (label)" in message and "not a finite number" in message


@pytest.mark.parametrize("label", ["2", "-1", "0.5", "1.0000001"])
def test_labels_other_than_0_and_1(tmp_path: Path, label: str) -> None:
    message = _error(_write(tmp_path, f"0,0,0\n1,1,1\n2,2,{label}\n"))
    assert f"line 3, column 3 (label): labels must be 0 or 1, got {label}" in message


def test_bad_labels_are_reported_before_a_missing_class(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "0,0,2\n1,1,2\n"))
    assert "labels must be 0 or 1" in message


@pytest.mark.parametrize("label", ["0", "1"])
def test_only_one_class(tmp_path: Path, label: str) -> None:
    message = _error(_write(tmp_path, f"0,0,{label}\n1,1,{label}.0\n2,2,{label}\n"))
    assert f"every label is {label}" in message and "both classes" in message


def test_binary_file_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x00garbage")
    assert "data.csv" in _error(path)


@settings(
    DETERMINISTIC,
    max_examples=100,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # one file, rewritten each time
)
@given(text=st.text(alphabet=st.sampled_from(list('01.,-e naxyNI\n\r"\t')), max_size=60))
def test_loader_raises_only_data_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_text(text, encoding="utf-8", newline="")
    try:
        X, y = load_csv(path)
    except DataError as err:
        assert str(err) and "\n" not in str(err)
    else:
        assert X.shape == (len(y), 2) and len(y) >= 2
        assert np.isfinite(X).all() and set(np.unique(y)) == {0.0, 1.0}


def test_a_5mb_file_loads(tmp_path: Path) -> None:
    # 1,000 distinct rows repeated: as large as a real file, without slow test-side formatting
    rng = np.random.default_rng(0)
    block = rng.uniform(-1, 1, (1000, 2))
    labels = (block[:, 0] > block[:, 1]).astype(int)
    rows = [
        f"{a:.6f},{b:.6f},{c}" for (a, b), c in zip(block.tolist(), labels.tolist(), strict=True)
    ]
    path = _write(tmp_path, "x1,x2,label\n" + "\n".join(rows * 250) + "\n", name="big.csv")
    assert path.stat().st_size >= 5_000_000
    X, y = load_csv(path)
    assert X.shape == (250_000, 2) and y.shape == (250_000, 1)
    np.testing.assert_allclose(X[-1000:], block, atol=5e-7)
    assert np.array_equal(y[:1000, 0], labels) and y.sum() == 250 * labels.sum()


# --- train/test split -------------------------------------------------------------------


def _indexed(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Points that carry their own index, with labels tied to it, to check alignment."""
    X = np.column_stack([np.arange(n, dtype=float), np.zeros(n)])
    return X, (np.arange(n) % 2).astype(float).reshape(-1, 1)


def test_split_sizes_are_disjoint_and_cover_everything() -> None:
    X, y = _indexed(100)
    X_tr, y_tr, X_te, y_te = train_test_split(X, y, 0.2, seed=0)
    assert X_tr.shape == (80, 2) and y_tr.shape == (80, 1)
    assert X_te.shape == (20, 2) and y_te.shape == (20, 1)
    train, test = set(X_tr[:, 0]), set(X_te[:, 0])
    assert not train & test and train | test == set(range(100))


def test_split_keeps_labels_with_their_points() -> None:
    X, y = _indexed(50)
    X_tr, y_tr, X_te, y_te = train_test_split(X, y, 0.3, seed=4)
    for Xs, ys in [(X_tr, y_tr), (X_te, y_te)]:
        assert np.array_equal(ys[:, 0], Xs[:, 0] % 2)


def test_split_is_seeded() -> None:
    X, y = _indexed(100)
    first = train_test_split(X, y, 0.25, seed=3)
    same = train_test_split(X, y, 0.25, seed=3)
    other = train_test_split(X, y, 0.25, seed=4)
    assert all(np.array_equal(a, b) for a, b in zip(first, same, strict=True))
    assert not np.array_equal(first[2], other[2])


def test_split_ratio_zero_keeps_order_and_returns_empty_test() -> None:
    X, y = make_dataset("xor")
    X_tr, y_tr, X_te, y_te = train_test_split(X, y, 0.0)
    assert np.array_equal(X_tr, X) and np.array_equal(y_tr, y)
    assert X_tr is not X
    assert X_te.shape == (0, 2) and y_te.shape == (0, 1)


@pytest.mark.parametrize(("n", "ratio", "n_test"), [(2, 0.01, 1), (10, 0.99, 9), (21, 0.2, 4)])
def test_split_keeps_a_point_on_each_side(n: int, ratio: float, n_test: int) -> None:
    X, y = _indexed(n)
    _, _, X_te, _ = train_test_split(X, y, ratio)
    assert len(X_te) == n_test


@pytest.mark.parametrize("ratio", [1.0, 1.5, -0.1, math.nan, "0.2"])
def test_split_rejects_bad_ratios(ratio: object) -> None:
    X, y = _indexed(10)
    with pytest.raises(DataError, match="test ratio"):
        train_test_split(X, y, ratio)  # type: ignore[arg-type]


def test_split_rejects_too_few_points() -> None:
    X, y = _indexed(1)
    with pytest.raises(DataError, match="need at least 2"):
        train_test_split(X, y, 0.5)
    assert len(train_test_split(X, y, 0.0)[0]) == 1
    with pytest.raises(DataError, match="need at least 1"):
        train_test_split(X[:0], y[:0], 0.0)


def test_split_rejects_mismatched_lengths() -> None:
    X, y = _indexed(10)
    with pytest.raises(DataError, match="one row per label"):
        train_test_split(X, y[:5], 0.2)


@DETERMINISTIC
@given(n=st.integers(2, 300), ratio=st.floats(0, 1, exclude_max=True), seed=st.integers(0, 99))
def test_split_sizes_property(n: int, ratio: float, seed: int) -> None:
    X, y = _indexed(n)
    X_tr, _, X_te, _ = train_test_split(X, y, ratio, seed=seed)
    assert len(X_tr) + len(X_te) == n and len(X_tr) >= 1
    assert len(X_te) >= (1 if ratio > 0 else 0)
    assert sorted(np.concatenate([X_tr[:, 0], X_te[:, 0]])) == list(range(n))
