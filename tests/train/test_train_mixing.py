from collections import Counter

import numpy as np

from simedit.train.data.mixing import Mixture, Stage, StagePlan, sample_rng


class Fake:
    def __init__(self, name, n):
        self.name, self.n = name, n

    def __len__(self):
        return self.n


def test_factors_give_expected_proportions():
    # AURORA-style: a small set upsampled x15 against bigger sets x1.
    srcs = [Fake("mb", 10), Fake("ag", 20), Fake("ss", 300), Fake("kub", 0)]
    mix = Mixture(srcs, [15, 15, 1, 1])
    draws = [mix.draw(sample_rng(0, 0, n)) for n in range(30000)]
    counts = np.bincount([k for k, _ in draws], minlength=4) / len(draws)
    expected = np.array([150, 300, 300, 0]) / 750
    assert np.allclose(counts, expected, atol=0.01)
    assert all(0 <= i < srcs[k].n for k, i in draws)
    assert [mix.draw(sample_rng(0, 0, n)) for n in range(100)] == draws[:100]  # deterministic
    assert [mix.draw(sample_rng(1, 0, n)) for n in range(100)] != draws[:100]  # seed matters


def test_stages_switch_mixes_at_step_boundaries():
    a, b = Mixture([Fake("a", 5)], [1]), Mixture([Fake("b", 5)], [1])
    plan = StagePlan([Stage(a, 3), Stage(b, None)])
    assert [plan.locate(s) for s in range(6)] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]


def test_an_epoch_equivalent_sees_every_pair_as_often_as_its_factor():
    """Without replacement: drawing with replacement would leave about 1/e of a source unseen."""
    a, b = Fake("a", 40), Fake("b", 30)
    mix = Mixture([a, b], [2, 1])
    assert mix.epoch_size == 110 and np.allclose(mix.probabilities, [80 / 110, 30 / 110])
    draws = Counter(mix.item(5, 0, n) for n in range(mix.epoch_size))
    assert all(draws[(0, i)] == 2 for i in range(40)) and all(draws[(1, i)] == 1 for i in range(30))
    second = [mix.item(5, 0, n) for n in range(110, 220)]
    assert second != [mix.item(5, 0, n) for n in range(110)]  # each epoch its own order
    assert Counter(second) == draws
    plan = StagePlan([Stage(mix, 3), Stage(mix, None, restart=True)])
    assert plan.starts() == [0, 3] and plan.restarts() == (3,)
