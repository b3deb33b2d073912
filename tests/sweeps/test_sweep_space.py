"""Sweep specs: grid, seeded random and explicit trials, and their validation."""

from __future__ import annotations

import math

import pytest

from labcycle.errors import InvalidInput
from labcycle.services.sweep_space import (
    expand,
    expand_grid,
    expand_random,
    parse_cli_grid,
    parse_cli_random,
)

SPACE = {
    "lr": {"distribution": "loguniform", "low": 1e-4, "high": 1e-1},
    "depth": {"choice": [3, 5, 8]},
    "n": {"randint": [1, 10]},
    "dropout": {"uniform": [0.0, 0.5]},
}


def test_grid_is_the_cartesian_product_in_order():
    trials = expand_grid({"lr": [0.01, 0.1], "depth": [3, 5, 8]})
    assert trials == [
        {"lr": 0.01, "depth": 3},
        {"lr": 0.01, "depth": 5},
        {"lr": 0.01, "depth": 8},
        {"lr": 0.1, "depth": 3},
        {"lr": 0.1, "depth": 5},
        {"lr": 0.1, "depth": 8},
    ]
    assert expand_grid({"lr": 0.5, "model": ["rf"]}) == [{"lr": 0.5, "model": "rf"}]


def test_random_is_reproducible_with_a_seed_and_stays_in_range():
    first = expand_random(SPACE, 50, seed=1)
    assert first == expand_random(SPACE, 50, seed=1)
    # Reordering the spec does not change the draws.
    assert first == expand_random(dict(reversed(list(SPACE.items()))), 50, seed=1)
    assert first != expand_random(SPACE, 50, seed=2)
    for trial in first:
        assert 1e-4 <= trial["lr"] <= 1e-1
        assert trial["depth"] in (3, 5, 8)
        assert isinstance(trial["n"], int) and 1 <= trial["n"] <= 10
        assert 0.0 <= trial["dropout"] <= 0.5
    # loguniform covers the orders of magnitude, not just the top decade
    assert min(t["lr"] for t in first) < 1e-3
    assert {t["n"] for t in expand_random(SPACE, 300, seed=3)} == set(range(1, 11))


def test_explicit_trials_and_grid_crossed_with_random():
    assert expand(trials=[{"a": 1}, {"a": 2, "b": "x"}]) == [{"a": 1}, {"a": 2, "b": "x"}]
    trials = expand(
        grid={"model": ["rf", "gb"]}, random={"lr": {"uniform": [0, 1]}}, n_trials=3, seed=0
    )
    assert len(trials) == 6
    assert {t["model"] for t in trials} == {"rf", "gb"}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"grid": {"lr": []}}, "grid.lr"),
        ({"grid": {"1x": [1]}}, "grid.1x"),
        ({"grid": {"class": [1]}}, "grid.class"),
        ({"grid": {"lr": [float("nan")]}}, "grid.lr[0]"),
        ({"grid": {"lr": [{"a": 1}]}}, "grid.lr[0]"),
        ({"grid": []}, "grid"),
        ({}, "grid"),
        ({"random": {"lr": {"uniform": [0, 1]}}}, "n_trials"),
        ({"random": {"lr": {"uniform": [0, 1]}}, "n_trials": 0}, "n_trials"),
        ({"random": {"lr": {"uniform": [0, 1]}}, "n_trials": 2.5}, "n_trials"),
        ({"random": {"lr": {"uniform": [1, 0]}}, "n_trials": 2}, "random.lr.high"),
        ({"random": {"lr": {"loguniform": [0, 1]}}, "n_trials": 2}, "random.lr.low"),
        (
            {"random": {"lr": {"distribution": "gamma", "low": 0, "high": 1}}, "n_trials": 2},
            "random.lr.distribution",
        ),
        (
            {"random": {"lr": {"distribution": "uniform", "low": "a", "high": 1}}, "n_trials": 2},
            "random.lr.low",
        ),
        (
            {
                "random": {"lr": {"distribution": "uniform", "low": 0, "high": 1, "hgih": 2}},
                "n_trials": 2,
            },
            "random.lr.hgih",
        ),
        ({"random": {"d": {"choice": []}}, "n_trials": 2}, "random.d.choice"),
        ({"random": {"n": {"randint": [1.5, 3]}}, "n_trials": 2}, "random.n.low"),
        ({"random": {"n": {"randint": [1]}}, "n_trials": 2}, "random.n.randint"),
        ({"random": {"n": {"uniform": [0, 1], "choice": [1]}}, "n_trials": 2}, "random.n"),
        ({"random": {"x": {"uniform": [0, 1]}}, "n_trials": 2, "seed": "one"}, "seed"),
        ({"grid": {"x": [1]}, "n_trials": 3}, "n_trials"),
        ({"trials": [{"a": 1}], "grid": {"a": [1]}}, "trials"),
        ({"trials": [1]}, "trials[0]"),
        ({"trials": [{"bad name": 1}]}, "trials[0].bad name"),
        ({"grid": {"x": list(range(200))}, "random": {"y": [1]}, "n_trials": 100}, "n_trials"),
        ({"grid": {"x": [1]}, "random": {"x": [1]}, "n_trials": 1}, "random.x"),
    ],
)
def test_bad_specs_name_the_field(kwargs, field):
    with pytest.raises(InvalidInput) as info:
        expand(**kwargs)
    assert info.value.details["field"] == field, info.value.message


def test_cli_syntax():
    assert parse_cli_grid(["lr=0.01,0.1", "depth=3,5,8", "model=rf,'gb'", "flag=true"]) == {
        "lr": [0.01, 0.1],
        "depth": [3, 5, 8],
        "model": ["rf", "gb"],
        "flag": [True],
    }
    space = parse_cli_random(["lr=loguniform(1e-4,1e-1)", "depth=choice(3,5,8)", "n=randint(1,10)"])
    assert space == {
        "lr": {"loguniform": [1e-4, 0.1]},
        "depth": {"choice": [3, 5, 8]},
        "n": {"randint": [1, 10]},
    }
    trials = expand(random=space, n_trials=5, seed=1)
    assert len(trials) == 5 and all(math.isfinite(t["lr"]) for t in trials)
    with pytest.raises(InvalidInput):
        parse_cli_grid(["lr"])
    with pytest.raises(InvalidInput):
        parse_cli_random(["lr=loguniform"])
