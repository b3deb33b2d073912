"""Parameter spaces of sweeps: grids, seeded random draws and explicit trial lists.

Pure functions (no store), so that the CLI can show how many runs a spec makes before
anything is submitted, and the tests can check every rule without a kernel.

Grid
    ``{"lr": [0.01, 0.1], "depth": [3, 5, 8]}`` → the cartesian product (6 trials), in the
    order the keys and values are given. A scalar is a fixed value.
Random
    ``{"lr": {"distribution": "loguniform", "low": 1e-4, "high": 1e-1},
    "depth": {"choice": [3, 5, 8]}, "n": {"randint": [1, 10]}}`` with ``n_trials`` draws
    from ``random.Random(seed)``: the same seed gives the same trials on every machine.
    Distributions: ``uniform``, ``loguniform``, ``randint`` (both ends included),
    ``choice``, ``normal`` (``mu``, ``sigma``); a list is a choice and a scalar is fixed.
    Keys are drawn in sorted order, so reordering the spec does not change the draws.
Trials
    An explicit list of parameter dicts.

Grid and random together: every random draw is crossed with every grid point.
"""

from __future__ import annotations

import itertools
import keyword
import math
import random
from typing import Any

from ..errors import InvalidInput

MAX_TRIALS = 10_000
DISTRIBUTIONS = ("uniform", "loguniform", "randint", "choice", "normal")
_SCALARS = (str, int, float, bool, type(None))


def validate_param_name(name: Any, field: str) -> str:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise InvalidInput(
            f"{field}: parameter names must be Python identifiers (letters, digits, '_'), "
            f"got {name!r}.",
            field=field,
        )
    return name


def _check_scalar(value: Any, field: str) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"{field} must be a finite number.", field=field)
    if not isinstance(value, _SCALARS):
        raise InvalidInput(
            f"{field} must be a string, number, boolean or null, got {type(value).__name__}.",
            field=field,
        )
    return value


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidInput(f"{field} must be a finite number.", field=field)
    return float(value)


def _integer(value: Any, field: str) -> int:
    if isinstance(value, bool) or not (
        isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    ):
        raise InvalidInput(f"{field} must be an integer.", field=field)
    return int(value)


def expand_grid(grid: Any, field: str = "grid") -> list[dict[str, Any]]:
    """The cartesian product of a ``{name: [values]}`` grid."""
    if not isinstance(grid, dict) or not grid:
        raise InvalidInput(
            f"{field} must be a non-empty object of name → list of values.", field=field
        )
    names, choices = [], []
    for name, values in grid.items():
        validate_param_name(name, f"{field}.{name}")
        if not isinstance(values, (list, tuple)):
            values = [values]
        if not values:
            raise InvalidInput(f"{field}.{name} needs at least one value.", field=f"{field}.{name}")
        names.append(name)
        choices.append([_check_scalar(v, f"{field}.{name}[{i}]") for i, v in enumerate(values)])
    size = math.prod(len(c) for c in choices)
    if size > MAX_TRIALS:
        raise InvalidInput(
            f"{field} makes {size:,} trials; at most {MAX_TRIALS:,} per sweep.", field=field
        )
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*choices)]


def _sampler(spec: Any, field: str):  # returns a closure over one Random
    """A function ``rng -> value`` for one parameter's spec (validated here, once)."""
    if isinstance(spec, (list, tuple)):
        spec = {"choice": list(spec)}
    if not isinstance(spec, dict):
        value = _check_scalar(spec, field)
        return lambda rng: value
    spec = dict(spec)
    if "distribution" in spec:
        kind = spec.pop("distribution")
        if kind not in DISTRIBUTIONS:
            raise InvalidInput(
                f"{field}.distribution must be one of {', '.join(DISTRIBUTIONS)}, got {kind!r}.",
                field=f"{field}.distribution",
            )
        if kind == "choice":
            args: Any = spec.pop("values", spec.pop("choices", None))
        elif kind == "normal":
            args = [
                spec.pop("mu", spec.pop("mean", None)),
                spec.pop("sigma", spec.pop("std", None)),
            ]
        else:
            args = [spec.pop("low", None), spec.pop("high", None)]
    else:
        kinds = [k for k in spec if k in DISTRIBUTIONS]
        if len(kinds) != 1:
            raise InvalidInput(
                f'{field} must name one distribution: {{"distribution": "uniform", "low": 0, '
                f'"high": 1}}, or one of {", ".join(f"{{{k!r}: ...}}" for k in DISTRIBUTIONS)}.',
                field=field,
            )
        kind = kinds[0]
        args = spec.pop(kind)
    if spec:
        extra = sorted(spec)[0]
        raise InvalidInput(
            f"{field}.{extra} is not a known field of a {kind} distribution.",
            field=f"{field}.{extra}",
        )
    if kind == "choice":
        if not isinstance(args, (list, tuple)) or not args:
            raise InvalidInput(
                f"{field}.choice must be a non-empty list of values.", field=f"{field}.choice"
            )
        values = [_check_scalar(v, f"{field}.choice[{i}]") for i, v in enumerate(args)]
        return lambda rng: values[rng.randrange(len(values))]
    names = ("mu", "sigma") if kind == "normal" else ("low", "high")
    if not isinstance(args, (list, tuple)) or len(args) != 2:
        raise InvalidInput(
            f"{field}.{kind} needs two numbers [{names[0]}, {names[1]}].", field=f"{field}.{kind}"
        )
    low: float
    high: float
    if kind == "randint":
        low, high = (_integer(v, f"{field}.{n}") for v, n in zip(args, names, strict=True))
    else:
        low, high = (_number(v, f"{field}.{n}") for v, n in zip(args, names, strict=True))
    if kind == "normal":
        if high <= 0:
            raise InvalidInput(f"{field}.sigma must be positive.", field=f"{field}.sigma")
        return lambda rng: rng.gauss(low, high)
    if high < low:
        raise InvalidInput(
            f"{field}.high ({high}) must not be below low ({low}).", field=f"{field}.high"
        )
    if kind == "randint":
        return lambda rng: rng.randint(low, high)
    if kind == "uniform":
        return lambda rng: rng.uniform(low, high)
    if low <= 0:
        raise InvalidInput(
            f"{field}.low must be positive for a loguniform distribution.", field=f"{field}.low"
        )
    log_low, log_high = math.log(low), math.log(high)
    return lambda rng: math.exp(rng.uniform(log_low, log_high))


def expand_random(
    space: Any, n_trials: Any, seed: Any = None, field: str = "random"
) -> list[dict[str, Any]]:
    """``n_trials`` seeded draws from ``space``; the same seed gives the same trials."""
    if not isinstance(space, dict) or not space:
        raise InvalidInput(
            f"{field} must be a non-empty object of name → distribution.", field=field
        )
    if n_trials is None:
        raise InvalidInput(
            "n_trials is required with a random search (how many draws).", field="n_trials"
        )
    n = _integer(n_trials, "n_trials")
    if not 1 <= n <= MAX_TRIALS:
        raise InvalidInput(f"n_trials must be between 1 and {MAX_TRIALS:,}.", field="n_trials")
    if seed is not None:
        seed = _integer(seed, "seed")
    samplers = {
        name: _sampler(space[name], f"{field}.{validate_param_name(name, f'{field}.{name}')}")
        for name in sorted(space)
    }
    rng = random.Random(seed)
    return [{name: draw(rng) for name, draw in samplers.items()} for _ in range(n)]


def expand_trials(trials: Any, field: str = "trials") -> list[dict[str, Any]]:
    if not isinstance(trials, (list, tuple)) or not trials:
        raise InvalidInput(f"{field} must be a non-empty list of parameter objects.", field=field)
    if len(trials) > MAX_TRIALS:
        raise InvalidInput(f"At most {MAX_TRIALS:,} trials per sweep.", field=field)
    out = []
    for i, trial in enumerate(trials):
        if not isinstance(trial, dict):
            raise InvalidInput(
                f"{field}[{i}] must be an object of name → value.", field=f"{field}[{i}]"
            )
        out.append(
            {
                validate_param_name(k, f"{field}[{i}].{k}"): _check_scalar(v, f"{field}[{i}].{k}")
                for k, v in trial.items()
            }
        )
    return out


def expand(
    *,
    grid: Any = None,
    random: Any = None,
    trials: Any = None,
    n_trials: Any = None,
    seed: Any = None,
) -> list[dict[str, Any]]:
    """Every trial of a sweep spec (see the module docstring)."""
    if trials is not None and (grid is not None or random is not None):
        raise InvalidInput(
            "Give trials alone, or a grid and/or a random space, not both.", field="trials"
        )
    if trials is not None:
        return expand_trials(trials)
    if grid is None and random is None:
        raise InvalidInput(
            "A sweep needs a grid, a random space or a list of trials.", field="grid"
        )
    if random is None and n_trials is not None:
        raise InvalidInput(
            "n_trials applies to a random search; a grid runs every point.", field="n_trials"
        )
    points = expand_grid(grid) if grid is not None else [{}]
    draws = expand_random(random, n_trials, seed) if random is not None else [{}]
    if len(points) * len(draws) > MAX_TRIALS:
        raise InvalidInput(
            f"The sweep makes {len(points) * len(draws):,} trials; at most {MAX_TRIALS:,}.",
            field="n_trials",
        )
    both = set(points[0]) & set(draws[0])
    if both:
        name = sorted(both)[0]
        raise InvalidInput(
            f"Parameter {name!r} is in both the grid and the random space.", field=f"random.{name}"
        )
    return [{**draw, **point} for draw in draws for point in points]


def parse_cli_grid(items: tuple[str, ...] | list[str]) -> dict[str, list[Any]]:
    """``("lr=0.01,0.1", "depth=3,5,8")`` → ``{"lr": [0.01, 0.1], "depth": [3, 5, 8]}``."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"--grid takes NAME=V1,V2,..., got {item!r}.", field="grid")
        grid[name.strip()] = [literal(v) for v in values.split(",")]
    return grid


def parse_cli_random(items: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """``("lr=loguniform(1e-4,1e-1)", "depth=choice(3,5,8)")`` → a random space."""
    space: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        text = text.strip()
        kind, paren, rest = text.partition("(")
        if not sep or not name.strip() or not paren or not rest.endswith(")"):
            raise InvalidInput(
                f"--random takes NAME=DIST(ARGS) such as lr=loguniform(1e-4,1e-1), "
                f"depth=choice(3,5,8) or n=randint(1,10); got {item!r}.",
                field="random",
            )
        args = [literal(a) for a in rest[:-1].split(",") if a.strip()]
        kind = kind.strip()
        space[name.strip()] = {kind: args} if kind in DISTRIBUTIONS else {"distribution": kind}
    return space


def literal(text: str) -> Any:
    """A CLI value: int, float, true/false/none, else the string itself."""
    text = text.strip()
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text
