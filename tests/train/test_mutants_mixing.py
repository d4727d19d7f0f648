"""Mixing at its edges: a mix with nothing in it is refused with the sources named, a source of
a single pair still counts, the stand-in draw for an unreadable pair reaches every source and
every pair (also when the cumulative shares round just below one), and a restart stage that
begins at step 1 is a restart."""
from __future__ import annotations

import numpy as np
import pytest

from simedit.train.data.mixing import Mixture, Stage, StagePlan, sample_rng
from simedit.train.errors import TrainError


class Fake:
    def __init__(self, name: str, n: int):
        self.name, self.n = name, n

    def __len__(self) -> int:
        return self.n


class Fixed:
    """A generator whose `random(2)` returns fixed values."""

    def __init__(self, u: float, v: float):
        self.values = np.array([u, v])

    def random(self, n: int) -> np.ndarray:
        assert n == 2
        return self.values


def test_an_empty_mix_is_refused_and_names_its_sources():
    for sources, factors in (([Fake("ag", 0), Fake("kubric", 0)], [1, 1]), ([Fake("ag", 5), Fake("kubric", 3)], [0, 0])):
        with pytest.raises(TrainError, match="ag, kubric") as e:
            Mixture(sources, factors)
        assert e.value.field == "mix"


def test_a_source_of_one_pair_is_a_mix():
    mix = Mixture([Fake("one", 1)], [1])
    assert mix.epoch_size == 1
    assert [mix.item(0, 0, n) for n in range(3)] == [(0, 0)] * 3
    assert mix.draw(sample_rng(0, 1)) == (0, 0)


def test_the_stand_in_draw_reaches_every_source_and_every_pair():
    mix = Mixture([Fake("a", 6), Fake("b", 4)], [1, 1])
    draws = [mix.draw(sample_rng(3, n)) for n in range(400)]
    assert {k for k, _ in draws} == {0, 1}
    assert {i for k, i in draws if k == 0} == set(range(6))
    assert {i for k, i in draws if k == 1} == set(range(4))


def test_the_draw_stays_in_the_mix_when_the_shares_sum_below_one():
    mix = Mixture([Fake(f"s{k}", 1) for k in range(6)], [1] * 6)  # six shares of 1/6 sum to 1 - 2**-53
    top = np.nextafter(1.0, 0.0)
    assert mix.draw(Fixed(top, top)) == (5, 0)  # the last source, its last pair
    assert mix.draw(Fixed(0.0, 0.0)) == (0, 0)


def test_a_restart_stage_may_begin_at_step_one():
    a, b = Mixture([Fake("a", 5)], [1]), Mixture([Fake("b", 5)], [1])
    plan = StagePlan([Stage(a, 1), Stage(b, None, restart=True)])
    assert plan.starts() == [0, 1] and plan.restarts() == (1,)
    assert [plan.locate(s) for s in range(3)] == [(0, 0), (1, 0), (1, 1)]
    assert StagePlan([Stage(a, 4, restart=True), Stage(b, None)]).restarts() == ()  # never step 0
