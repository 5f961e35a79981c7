"""The bounded history: a million epochs in a fixed budget, the first epoch always kept."""

from __future__ import annotations

import numpy as np
import pytest

from engine.train.history import COLUMNS, History

pytestmark = pytest.mark.filterwarnings("error")


def _simulate(history: History, last_epoch: int) -> list[int]:
    """Record as the trainer does (only at ``next_epoch``); returns each stride taken."""
    strides = [history.stride]
    epoch = history.next_epoch
    while epoch <= last_epoch:
        history.record(epoch, 1.0 / epoch, 0.5, 0.1)
        assert len(history) <= history.capacity
        if history.stride != strides[-1]:
            strides.append(history.stride)
        assert history.next_epoch > epoch
        epoch = history.next_epoch
    return strides


def test_a_million_epochs_stay_within_capacity() -> None:
    h = History()
    strides = _simulate(h, 1_000_000)
    epochs = h.arrays()["epoch"]
    assert len(h) <= h.capacity == 32768
    assert epochs[0] == 1  # the curve still starts where training started
    assert (np.diff(epochs) > 0).all()
    # the stride doubles at every thinning and every later row sits on it
    assert strides == [2**k for k in range(len(strides))]
    assert h.stride == strides[-1] == 32
    assert (epochs[1:] % h.stride == 0).all()
    assert set(np.diff(epochs[1:])) == {h.stride}
    assert epochs[-1] > 1_000_000 - h.stride
    assert h.nbytes <= len(COLUMNS) * 8 * h.capacity < 2_000_000
    assert h.next_epoch == (int(epochs[-1]) // h.stride + 1) * h.stride


@pytest.mark.parametrize("capacity", [4, 5, 8, 100])
def test_small_capacities(capacity: int) -> None:
    h = History(capacity)
    strides = _simulate(h, 200_000)
    epochs = h.arrays()["epoch"]
    assert 2 <= len(h) <= capacity
    assert epochs[0] == 1
    assert strides == [2**k for k in range(len(strides))]
    assert (epochs[1:] % h.stride == 0).all()


def test_a_million_direct_records_stay_bounded() -> None:
    """Even a caller that ignores ``next_epoch`` and records every one of a million epochs
    cannot make it grow: the size stays capped and the stride only ever doubles."""
    h = History()
    record, strides = h.record, [1]
    for epoch in range(1, 1_000_001):
        record(epoch, 1.0, 1.0, 0.1)
        if h.stride != strides[-1]:
            strides.append(h.stride)
            assert len(h) <= h.capacity
    assert len(h) <= h.capacity
    assert h.arrays()["epoch"][0] == 1 and h.arrays()["epoch"][-1] == 1_000_000
    assert strides == [2**k for k in range(len(strides))]
    assert h.nbytes <= len(COLUMNS) * 8 * h.capacity < 2_000_000


def test_values_are_kept_with_their_epoch() -> None:
    h = History(16)
    _simulate(h, 1000)
    cols = h.arrays()
    np.testing.assert_allclose(cols["loss"], 1.0 / cols["epoch"])
    assert np.isnan(cols["test_loss"]).all() and np.isnan(cols["test_accuracy"]).all()
    x, y = h.loss_curve()
    np.testing.assert_array_equal(x, cols["epoch"])
    np.testing.assert_array_equal(y, cols["loss"])


def test_arrays_are_copies() -> None:
    h = History()
    h.record(1, 0.5, 1.0, 0.1, 0.25, 0.75)
    cols = h.arrays()
    assert set(cols) == set(COLUMNS)
    assert cols["test_loss"][0] == 0.25 and cols["test_accuracy"][0] == 0.75
    cols["loss"][0] = 99.0
    assert h.arrays()["loss"][0] == 0.5


def test_from_arrays_round_trip() -> None:
    h = History(32)
    _simulate(h, 5000)
    back = History.from_arrays(h.arrays(), h.stride, h.capacity)
    assert (back.stride, back.capacity, back.next_epoch, len(back)) == (
        h.stride, h.capacity, h.next_epoch, len(h))
    for name in COLUMNS:
        np.testing.assert_array_equal(back.arrays()[name], h.arrays()[name])
    empty = History.from_arrays({name: np.empty(0) for name in COLUMNS}, 1, 16)
    assert len(empty) == 0 and empty.next_epoch == 1


def test_a_new_history_is_empty() -> None:
    h = History()
    assert len(h) == 0 and h.next_epoch == 1 and h.stride == 1 and h.nbytes == 0


def test_capacity_below_four_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 4"):
        History(3)
