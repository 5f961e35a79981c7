"""Learning-rate schedules, table-driven on hand-made loss sequences."""

from __future__ import annotations

import math

import pytest

from engine.optim.schedules import (
    SCHEDULE_NAMES,
    ConstantSchedule,
    HalvingSchedule,
    PlateauSchedule,
    RateChange,
)

pytestmark = pytest.mark.filterwarnings("error")

NAN, INF = math.nan, math.inf


def _drive(schedule, losses: dict[int, float], last_epoch: int, lr: float):
    """Step epochs 1..last_epoch as the trainer does: observe only at ``next_check``.

    ``losses`` gives the loss of the epochs the schedule should look at; it must not
    ask about any other epoch. Returns the final rate, the changes and the epochs seen.
    """
    changes, seen = [], []
    for epoch in range(1, last_epoch + 1):
        if epoch >= schedule.next_check:
            assert epoch in losses, f"the schedule looked at epoch {epoch}"
            seen.append(epoch)
            change = schedule.observe(epoch, losses[epoch], lr)
            if change is not None:
                assert change.old_lr == lr
                lr = change.new_lr
                changes.append(change)
    return lr, changes, seen


def test_schedule_names() -> None:
    assert SCHEDULE_NAMES == ("halving", "plateau", "none")
    assert (HalvingSchedule.name, PlateauSchedule.name, ConstantSchedule.name) == SCHEDULE_NAMES


def test_constant_schedule_never_changes_the_rate() -> None:
    s = ConstantSchedule()
    assert s.next_check == math.inf
    assert all(s.observe(e, loss, 0.1) is None for e, loss in enumerate([1.0, 1.0, NAN, 0.0], 1))


# --- halving -----------------------------------------------------------------------------
def test_halving_worked_example_from_the_docstring() -> None:
    losses = {1: 0.250, 5000: 0.240, 10000: 0.060, 15000: 0.059}
    rates = []
    s = HalvingSchedule()
    lr = 0.5
    for epoch in range(1, 15001):
        if epoch >= s.next_check:
            change = s.observe(epoch, losses[epoch], lr)
            lr = change.new_lr if change else lr
            rates.append((epoch, lr, change.ratio if change else None))
    assert [(e, r) for e, r, _ in rates] == [(1, 0.5), (5000, 0.25), (10000, 0.25), (15000, 0.125)]
    assert rates[1][2] == pytest.approx(0.96)
    assert rates[3][2] == pytest.approx(0.059 / 0.060)


def test_halving_checks_at_one_then_every_period() -> None:
    s = HalvingSchedule(period=5000)
    assert s.next_check == 1
    s.observe(1, 1.0, 0.5)
    assert s.next_check == 5000
    s.observe(5000, 0.5, 0.5)
    assert s.next_check == 10000
    assert s.observe(7000, 1.0, 0.5) is None  # before next_check: ignored
    assert s.next_check == 10000 and s.reference == 0.5


def test_the_band_edges_are_exact_in_binary() -> None:
    # the ratio is computed as new / old; these quotients are exactly the band's literals
    assert 0.9 / 1.0 == 0.9 and 1.1 / 1.0 == 1.1
    assert 0.45 / 0.5 == 0.9 and 0.55 / 0.5 == 1.1


HALVING_TABLE = [
    # (loss at epoch 1, loss at epoch `period`, halved?)
    (1.0, 0.9, False),  # ratio exactly low: kept
    (1.0, 1.1, False),  # ratio exactly high: kept
    (0.5, 0.45, False),
    (0.5, 0.55, False),
    (1.0, math.nextafter(0.9, 1.0), True),  # just inside the band
    (1.0, math.nextafter(1.1, 0.0), True),
    (1.0, 1.0, True),  # a flat loss has stalled
    (1.0, 0.95, True),
    (1.0, 1.05, True),  # slightly rising also counts as stalled
    (1.0, 0.5, False),  # falling fast
    (1.0, 2.0, False),  # rising fast
    (0.0, 0.0, False),  # 0/0: no meaning, no halving
    (0.0, 1e-9, False),  # x/0 = inf
    (1e-9, 0.0, False),  # ratio 0
    (1.0, NAN, False),
    (NAN, 1.0, False),
    (NAN, NAN, False),
    (1.0, INF, False),
    (INF, INF, False),
    (1e-300, 1e-300, True),  # tiny but finite losses still compare
]


@pytest.mark.parametrize(("old", "new", "halved"), HALVING_TABLE)
def test_halving_rule(old: float, new: float, halved: bool) -> None:
    lr, changes, seen = _drive(HalvingSchedule(period=100), {1: old, 100: new}, 100, 0.5)
    assert seen == [1, 100]
    assert lr == (0.25 if halved else 0.5)
    assert len(changes) == int(halved)
    if halved:
        (c,) = changes
        assert (c.epoch, c.old_lr, c.new_lr, c.reason) == (100, 0.5, 0.25, "halving")
        assert c.ratio == new / old
        assert c.event == "lr_halved"


def test_first_check_compares_with_the_first_epoch_not_the_second() -> None:
    """Epochs 2..period-1 are not looked at (``_drive`` would fail if they were)."""
    lr, changes, _ = _drive(HalvingSchedule(period=50), {1: 2.0, 50: 1.9}, 60, 1.0)
    assert lr == 0.5 and changes[0].ratio == pytest.approx(0.95)


def test_each_check_compares_with_the_previous_check() -> None:
    losses = {1: 1.0, 10: 0.95, 20: 0.5, 30: 0.49, 40: 0.1, 50: 0.1}
    lr, changes, seen = _drive(HalvingSchedule(period=10), losses, 55, 1.0)
    assert seen == [1, 10, 20, 30, 40, 50]
    assert [c.epoch for c in changes] == [10, 30, 50]
    assert [c.new_lr for c in changes] == [0.5, 0.25, 0.125]
    assert lr == 0.125


def test_a_nan_loss_blocks_only_the_checks_it_takes_part_in() -> None:
    losses = {1: 1.0, 10: NAN, 20: 0.99, 30: 0.98}
    _, changes, _ = _drive(HalvingSchedule(period=10), losses, 30, 1.0)
    assert [c.epoch for c in changes] == [30]


def test_custom_period_band_and_factor() -> None:
    s = HalvingSchedule(period=3, band=(0.5, 2.0), factor=0.1)
    losses = {1: 1.0, 3: 0.6, 6: 0.2, 9: 0.39, 12: 0.8, 15: 1.7}
    lr, changes, seen = _drive(s, losses, 15, 1.0)
    assert seen == [1, 3, 6, 9, 12, 15]
    # ratios: 0.6 in, 1/3 out, 1.95 in, 2.05 out, 2.125 out
    assert [c.epoch for c in changes] == [3, 9]
    assert lr == pytest.approx(0.01)
    assert changes[1].new_lr == pytest.approx(0.01)


def test_period_one_compares_consecutive_epochs() -> None:
    losses = {1: 1.0, 2: 1.0, 3: 0.1, 4: 0.1}
    lr, changes, seen = _drive(HalvingSchedule(period=1), losses, 4, 1.0)
    assert seen == [1, 2, 3, 4]
    assert [c.epoch for c in changes] == [2, 4]
    assert lr == 0.25


@pytest.mark.parametrize(
    ("lr", "min_lr", "expected"),
    [
        (1e-8, 1e-8, 1e-8),  # at the floor: no change, no event
        (1.5e-8, 1e-8, 1e-8),  # halving would undershoot: clamped to the floor
        (4e-8, 1e-8, 2e-8),
        (0.5, 0.3, 0.3),
        (0.2, 0.3, 0.2),  # below the floor already: left alone
    ],
)
def test_halving_never_goes_below_min_lr(lr: float, min_lr: float, expected: float) -> None:
    new_lr, changes, _ = _drive(HalvingSchedule(period=2, min_lr=min_lr), {1: 1.0, 2: 1.0}, 2, lr)
    assert new_lr == expected
    assert len(changes) == (expected != lr)


def test_halving_stops_at_the_floor() -> None:
    losses = {e: 1.0 for e in range(1, 101)}
    lr, changes, _ = _drive(HalvingSchedule(period=10, min_lr=0.1), losses, 100, 1.0)
    assert [c.new_lr for c in changes] == [0.5, 0.25, 0.125, 0.1]
    assert lr == 0.1


# --- plateau -----------------------------------------------------------------------------
PLATEAU_WORKED_EXAMPLE = [
    # epoch, loss, best, bad epochs, cooldown, lr  (patience 2, factor 0.5, threshold 0,
    # cooldown 1, lr 1.0) -- the table in the module docstring
    (1, 1.0, 1.0, 0, 0, 1.0),
    (2, 1.0, 1.0, 1, 0, 1.0),
    (3, 1.0, 1.0, 2, 0, 1.0),
    (4, 1.0, 1.0, 0, 1, 0.5),
    (5, 1.0, 1.0, 0, 0, 0.5),
    (6, 0.9, 0.9, 0, 0, 0.5),
]


def test_plateau_worked_example_from_the_docstring() -> None:
    s = PlateauSchedule(patience=2, factor=0.5, threshold=0.0, cooldown=1)
    lr = 1.0
    for epoch, loss, best, bad, cooldown, expected_lr in PLATEAU_WORKED_EXAMPLE:
        assert s.next_check == epoch
        change = s.observe(epoch, loss, lr)
        if change is not None:
            assert (change.epoch, change.old_lr, change.reason) == (epoch, lr, "plateau")
            assert change.event == "lr_changed" and change.ratio == loss / best
            lr = change.new_lr
        assert (s.best, s.bad_epochs, s.cooldown_left, lr) == (best, bad, cooldown, expected_lr)


def _plateau_changes(losses: list[float], lr: float = 1.0, **kwargs) -> list[RateChange]:
    s = PlateauSchedule(**kwargs)
    out = []
    for epoch, loss in enumerate(losses, start=1):
        change = s.observe(epoch, loss, lr)
        if change is not None:
            lr = change.new_lr
            out.append(change)
    return out


@pytest.mark.parametrize(
    ("cooldown", "epochs"),
    [
        (0, [3, 5, 7, 9, 11, 13, 15]),  # patience 1: every second bad epoch
        (1, [3, 6, 9, 12, 15]),
        (3, [3, 8, 13]),  # 3 epochs not counted after each reduction
    ],
)
def test_plateau_cooldown(cooldown: int, epochs: list[int]) -> None:
    changes = _plateau_changes([1.0] * 15, patience=1, threshold=0.0, cooldown=cooldown)
    assert [c.epoch for c in changes] == epochs


def test_plateau_threshold_is_relative() -> None:
    # 10% needed: 0.95 after 1.0 is not an improvement, 0.89 is
    losses = [1.0, 0.95, 0.95, 0.89, 0.85, 0.84]
    changes = _plateau_changes(losses, patience=1, threshold=0.1, factor=0.5)
    assert [c.epoch for c in changes] == [3, 6]
    assert changes[0].ratio == pytest.approx(0.95)


def test_improvement_resets_the_count() -> None:
    losses = [1.0, 1.0, 0.5, 0.5, 0.4, 0.4, 0.4, 0.4]
    changes = _plateau_changes(losses, patience=2, threshold=0.0)
    assert [c.epoch for c in changes] == [8]


def test_plateau_counts_nan_as_no_improvement() -> None:
    changes = _plateau_changes([1.0, NAN, NAN, NAN], patience=2, threshold=0.0)
    assert [c.epoch for c in changes] == [4]
    assert math.isnan(changes[0].ratio)


def test_plateau_min_lr_floor() -> None:
    changes = _plateau_changes([1.0] * 20, lr=1.0, patience=1, threshold=0.0, factor=0.1,
                               min_lr=0.005)
    assert [c.new_lr for c in changes] == pytest.approx([0.1, 0.01, 0.005])
    assert changes[-1].new_lr == 0.005


def test_plateau_checks_every_epoch() -> None:
    s = PlateauSchedule()
    for epoch in range(1, 5):
        assert s.next_check == epoch
        s.observe(epoch, 1.0, 0.1)


# --- the event itself -------------------------------------------------------------------
def test_rate_change_to_dict() -> None:
    c = RateChange(10, 0.5, 0.25, 0.96, "halving")
    assert c.to_dict() == {"event": "lr_halved", "epoch": 10, "old_lr": 0.5, "new_lr": 0.25,
                           "ratio": 0.96, "reason": "halving"}
    assert RateChange(3, 1.0, 2.0, NAN, "manual").event == "lr_changed"
