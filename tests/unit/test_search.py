"""Run search: the filter language, ordering and pagination over ~60 runs.

The runs are built once per backend from ``SPECS``; every expectation is computed in
Python from the same specs, so a test states a rule rather than a list of names.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from labcycle.errors import InvalidInput
from labcycle.services import Services

from ._support import BACKENDS, sqlite_url

DAY_MS = 86_400_000
DEC_1_2025 = 1_764_547_200_000  # 2025-12-01T00:00:00Z
JAN_1_2026 = 1_767_225_600_000


@dataclass(frozen=True)
class Spec:
    i: int

    @property
    def name(self) -> str:
        return f"run-{self.i:02d}"

    @property
    def experiment(self) -> str:
        return "exp-a" if self.i < 40 else "exp-b"

    @property
    def model(self) -> str:
        return ("rf", "svm", "xgb")[self.i % 3]

    @property
    def lr(self) -> float | str:
        return "auto" if self.i % 10 == 9 else (0.001, 0.01, 0.1, 0.5)[self.i % 4]

    @property
    def flag(self) -> bool | None:
        return True if self.i % 6 == 0 else None

    @property
    def acc(self) -> float | None:
        """None: never logged; NaN for some; otherwise distinct values in [0, 1)."""
        if self.i % 7 == 0:
            return None
        if self.i % 11 == 5:
            return math.nan
        return round((self.i * 37 % 60) / 60, 4)

    @property
    def val_loss(self) -> float | None:
        return 1 - self.acc if self.i % 2 == 0 and self.finite_acc else None

    @property
    def loss(self) -> float:
        return {0: math.inf, 1: -math.inf}.get(self.i % 13, float(self.i))

    @property
    def finite_acc(self) -> bool:
        return self.acc is not None and not math.isnan(self.acc)

    @property
    def status(self) -> str:
        return "finished" if self.i % 2 == 0 else ("failed" if self.i % 4 == 1 else "running")

    @property
    def source(self) -> str:
        return "notebook" if self.i % 8 == 0 else "script"

    @property
    def start(self) -> int:
        return DEC_1_2025 + self.i * DAY_MS  # i = 31 starts exactly at 2026-01-01

    @property
    def team(self) -> str:
        return "a" if self.i < 30 else "b"

    @property
    def note(self) -> str | None:
        return f"note {self.i}" if self.i % 5 == 0 else None


SPECS = [Spec(i) for i in range(60)]


def _build(services: Services) -> None:
    for spec in SPECS:
        tags = {"team": spec.team} | ({"note": spec.note} if spec.note else {})
        run = services.tracking.create_run(
            actor="alice",
            experiment=spec.experiment,
            project="search",
            name=spec.name,
            start_time=spec.start,
            source=spec.source,
            tags=tags,
        )
        params = {"model": spec.model, "lr": spec.lr} | ({"flag": True} if spec.flag else {})
        metrics = [{"key": "loss", "value": spec.loss}]
        if spec.acc is not None:
            metrics.append({"key": "acc", "value": spec.acc})
        if spec.val_loss is not None:
            metrics.append({"key": "val loss", "value": spec.val_loss})
        services.tracking.log_batch(run["id"], actor="alice", params=params, metrics=metrics)
        if spec.status != "running":
            services.tracking.update_run(
                run["id"], actor="alice", status=spec.status, end_time=spec.start + 1000
            )


@pytest.fixture(scope="module", params=BACKENDS)
def services(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Services]:
    """Services over a database holding the SPECS runs (read-only for the tests)."""
    root = tmp_path_factory.mktemp("search")
    if request.param == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_template"), root / "labcycle.db")
        url = sqlite_url(root / "labcycle.db")
    else:
        url = request.getfixturevalue("postgres_server").create_database()
    svc = Services.open(url, str(root / "artifacts"))
    _build(svc)
    yield svc
    svc.close()


def search(services: Services, **kwargs) -> list[str]:
    page = services.tracking.search_runs(max_results=1000, **kwargs)
    assert page["next_page_token"] is None
    return [run["name"] for run in page["items"]]


def expect(pred: Callable[[Spec], bool]) -> set[str]:
    return {s.name for s in SPECS if pred(s)}


def _lt(x, bound) -> bool:
    return isinstance(x, float) and not math.isnan(x) and x < bound


FILTERS: dict[str, Callable[[Spec], bool]] = {
    "metrics.acc > 0.9 and params.model = 'rf'": lambda s: (
        s.finite_acc and s.acc > 0.9 and s.model == "rf"
    ),
    "params.model = 'rf' or params.model = 'svm' and metrics.acc < 0.2":  # and binds tighter
    lambda s: s.model == "rf" or (s.model == "svm" and _lt(s.acc, 0.2)),
    "(params.model = 'rf' or params.model = 'svm') and tags.team = 'b'": lambda s: (
        s.model in ("rf", "svm") and s.team == "b"
    ),
    "((metrics.acc < 0.1) or (metrics.acc >= 0.95))": lambda s: (
        _lt(s.acc, 0.1) or (s.finite_acc and s.acc >= 0.95)
    ),
    "params.model in ('rf', 'xgb')": lambda s: s.model in ("rf", "xgb"),
    "params.model not in ('rf', 'xgb')": lambda s: s.model not in ("rf", "xgb"),
    "tags.note not in ('note 0', 'note 5')": lambda s: s.note not in ("note 0", "note 5"),
    "tags.note in ('note 0', 'note 5', 'note 7')": lambda s: s.note in ("note 0", "note 5"),
    "name like 'run-1%'": lambda s: s.name.startswith("run-1"),
    "params.model like 'x%'": lambda s: s.model.startswith("x"),
    "params.model ilike 'R%'": lambda s: s.model == "rf",
    "metrics.acc is null": lambda s: s.acc is None,
    "metrics.acc is not null": lambda s: s.acc is not None,
    "tags.note is null": lambda s: s.note is None,
    "tags.note is not null": lambda s: s.note is not None,
    "params.flag is null": lambda s: s.flag is None,
    "params.lr < 0.05": lambda s: _lt(s.lr, 0.05),
    "params.lr >= 0.1": lambda s: isinstance(s.lr, float) and s.lr >= 0.1,
    "params.lr = 0.5": lambda s: s.lr == 0.5,
    "params.lr in (0.001, 0.5)": lambda s: s.lr in (0.001, 0.5),
    "params.lr != 0.5": lambda s: s.lr != 0.5,
    "params.lr = 'auto'": lambda s: s.lr == "auto",
    "params.flag = true": lambda s: s.flag is True,
    "params.flag = 'True'": lambda s: s.flag is True,
    "status = 'finished'": lambda s: s.status == "finished",
    "status != 'running'": lambda s: s.status != "running",
    "status in ('failed', 'running')": lambda s: s.status in ("failed", "running"),
    "source = 'notebook' and user = 'alice'": lambda s: s.source == "notebook",
    "start_time > '2026-01-01'": lambda s: s.start > JAN_1_2026,
    "start_time >= '2026-01-01T00:00:00+00:00'": lambda s: s.start >= JAN_1_2026,
    f"start_time < {DEC_1_2025 + DAY_MS}": lambda s: s.i == 0,
    "end_time is null": lambda s: s.status == "running",
    "metrics.`val loss` < 0.5": lambda s: _lt(s.val_loss, 0.5),
    "metrics.`val loss` is not null and metrics.acc > 0.5": lambda s: (
        s.val_loss is not None and s.acc > 0.5
    ),
    "metrics.acc = NaN": lambda s: s.acc is not None and math.isnan(s.acc),
    "metrics.acc != NaN": lambda s: s.finite_acc,
    "metrics.acc > NaN": lambda s: False,
    "metrics.acc <= NaN": lambda s: False,
    "metrics.acc > 0.5": lambda s: s.finite_acc and s.acc > 0.5,
    "metrics.acc != 0.5": lambda s: s.acc is not None and not (s.finite_acc and s.acc == 0.5),
    "metrics.acc in (0.5, 0.0)": lambda s: s.finite_acc and s.acc in (0.5, 0.0),
    "metrics.loss = Infinity": lambda s: s.loss == math.inf,
    "metrics.loss = -Infinity": lambda s: s.loss == -math.inf,
    "metrics.loss < -1e308": lambda s: s.loss == -math.inf,
    "metrics.loss > 1e308": lambda s: s.loss == math.inf,
    "metrics.loss < Infinity and metrics.loss > -inf": lambda s: not math.isinf(s.loss),
    'metric.acc > 0.9 AND param.model = "rf" OR Tags.team = "z"':  # aliases, case, quotes
    lambda s: s.finite_acc and s.acc > 0.9 and s.model == "rf",
    "metrics.nope > 0 or params.nope = 'x' or tags.nope = 'x'": lambda s: False,
    "": lambda s: True,
    "   ": lambda s: True,
}


@pytest.mark.parametrize("text", list(FILTERS), ids=lambda t: t or "<empty>")
def test_filter(services: Services, text: str) -> None:
    expected = expect(FILTERS[text])
    assert set(search(services, filter=text)) == expected


def test_the_corpus_exercises_every_filter() -> None:
    """Guard against vacuous tests: most filters match some runs but not all of them."""
    sizes = {text: len(expect(pred)) for text, pred in FILTERS.items()}
    partial = [t for t, n in sizes.items() if 0 < n < len(SPECS)]
    assert len(partial) >= len(FILTERS) - 8, sizes


def test_experiment_ids_narrow_the_search(services: Services) -> None:
    experiment = services.projects.find_experiment("exp-b", project="search")
    names = search(services, experiment_ids=[experiment["id"]], filter="params.model = 'rf'")
    assert set(names) == expect(lambda s: s.experiment == "exp-b" and s.model == "rf")


def test_id_attribute(services: Services) -> None:
    some = services.tracking.search_runs(max_results=3)["items"]
    ids = ", ".join(f"'{r['id']}'" for r in some)
    assert set(search(services, filter=f"id in ({ids})")) == {r["name"] for r in some}


def _split_missing_last(names: list[str], value: Callable[[Spec], float | None]):
    by_name = {s.name: s for s in SPECS}
    present = [n for n in names if value(by_name[n]) is not None]
    k = len(present)
    assert names[:k] == present, "runs without a value must come last"
    return [value(by_name[n]) for n in present], names[k:]


def _acc_or_none(s: Spec) -> float | None:
    return s.acc if s.finite_acc else None


@pytest.mark.parametrize("direction", ["desc", "asc"])
def test_order_by_metric_puts_missing_last(services: Services, direction: str) -> None:
    names = search(services, order_by=[f"metrics.acc {direction}"])
    values, missing = _split_missing_last(names, _acc_or_none)
    assert values == sorted(values, reverse=direction == "desc")
    assert len(values) == sum(s.finite_acc for s in SPECS)
    assert set(missing) == expect(lambda s: not s.finite_acc)


def test_order_by_infinite_values_and_ties(services: Services) -> None:
    names = search(services, order_by="metrics.loss asc")
    # Ties (the same ±inf) fall back to the newest start first.
    expected = [s.name for s in sorted(SPECS, key=lambda s: (s.loss, -s.start))]
    assert names == expected


def test_order_by_several_keys(services: Services) -> None:
    names = search(services, order_by=["params.model asc", "metrics.acc desc"])
    by_name = {s.name: s for s in SPECS}
    models = [by_name[n].model for n in names]
    assert models == sorted(models)
    for model in ("rf", "svm", "xgb"):
        group = [n for n in names if by_name[n].model == model]
        values, _ = _split_missing_last(group, _acc_or_none)
        assert values == sorted(values, reverse=True)
    assert search(services, order_by="params.model, metrics.acc desc") == names


def test_order_by_attributes_and_default(services: Services) -> None:
    by_start = [s.name for s in sorted(SPECS, key=lambda s: s.start)]
    assert search(services, order_by=["start_time asc"]) == by_start
    assert search(services, order_by=["start_time"]) == by_start
    assert search(services) == by_start[::-1]  # newest first by default
    assert search(services, order_by=["name desc"]) == sorted(by_start, reverse=True)


@pytest.mark.parametrize(
    ("filter_text", "order_by"),
    [
        (None, None),
        ("params.model != 'svm'", ["metrics.acc desc"]),
        ("metrics.acc is not null", ["params.model", "metrics.`val loss` asc"]),
    ],
)
def test_pagination_is_stable_and_complete(services: Services, filter_text, order_by) -> None:
    full = search(services, filter=filter_text, order_by=order_by)
    pages, token = [], None
    while True:
        page = services.tracking.search_runs(
            filter=filter_text, order_by=order_by, max_results=7, page_token=token
        )
        assert len(page["items"]) <= 7
        pages += [r["name"] for r in page["items"]]
        token = page["next_page_token"]
        if token is None:
            break
        assert len(pages) < 100
    assert pages == full
    assert len(set(pages)) == len(pages)
    assert len(full) > 7


@pytest.mark.parametrize(
    "text",
    [
        "metrics.acc >",
        "metrics.acc",
        "foo = 1",
        "metrics.acc = 'x'",
        "metrics.acc in ('a', 1)",
        "metrics.acc like '0.%'",
        "(metrics.acc > 1",
        "metrics.acc > 1)",
        "((metrics.acc > 1)",
        ")",
        "metrics.acc > 1 and",
        "and metrics.acc > 1",
        "metrics.acc > 1 or or metrics.acc < 0",
        "params.model == 'rf'",
        "params.model = 'unterminated",
        "params.model = rf",
        "params.model not like 'r%'",
        "params.model in ()",
        "params.model in 'rf'",
        "bogus.acc > 1",
        "metrics.`` > 1",
        "start_time > 'yesterday'",
        "metrics.acc > 1; DROP TABLE runs",
        "metrics.acc ~ 1",
        "is null",
        "params.model = 'x' " + "or params.model = 'y' " * 500,
    ],
    ids=lambda t: t if len(t) < 40 else f"{len(t)}-chars",
)
def test_malformed_filters_are_invalid_input(services: Services, text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        services.tracking.search_runs(filter=text)
    assert info.value.details["field"] == "filter"
    assert info.value.message


def test_filter_length_limit(services: Services) -> None:
    clause = "name = 'run-00' or "
    text = clause * ((10_000 - 19) // len(clause)) + "params.model = 'rf'"
    assert 9_900 < len(text) <= 10_000
    assert set(search(services, filter=text)) == expect(lambda s: s.model == "rf" or s.i == 0)
    too_long = text + " " * (10_001 - len(text))
    assert len(too_long) == 10_001
    with pytest.raises(InvalidInput, match="10,000"):
        services.tracking.search_runs(filter=too_long)


@pytest.mark.parametrize("order_by", [["bogus desc"], ["nope.acc"], "metrics.`` asc"])
def test_bad_order_by(services: Services, order_by) -> None:
    with pytest.raises(InvalidInput) as info:
        services.tracking.search_runs(order_by=order_by)
    assert info.value.details["field"] == "order_by"


def test_bad_page_token(services: Services) -> None:
    with pytest.raises(InvalidInput) as info:
        services.tracking.search_runs(page_token="bm90IGEgbnVtYmVy")  # "not a number"
    assert info.value.details["field"] == "page_token"


@pytest.mark.parametrize(
    ("text", "order_by"),
    [
        ("params.model = 'x'' OR 1=1 --'", None),
        ("params.model = 'rf''; DROP TABLE runs; --'", None),
        ("params.model = '\\' or params.model = '\\'", None),  # a backslash escapes nothing
        ("name like '%'' OR ''1''=''1'", None),
        ("params.`model' OR '1'='1` = 'rf'", None),
        ('tags.`team" OR "1"="1` = \'a\'', None),
        ("metrics.`acc) OR 1=1 --` > 0", None),
        ("params.model in ('x'') OR (1=1', 'y')", None),
        (None, ["params.`model; DROP TABLE runs; --` desc"]),
    ],
)
def test_sql_looking_input_is_just_data(services: Services, text, order_by) -> None:
    names = search(services, filter=text, order_by=order_by)
    assert names == ([] if text else search(services))
    assert len(search(services)) == len(SPECS)  # every table still there and whole
    assert set(search(services, filter="params.model = 'rf'")) == expect(lambda s: s.model == "rf")
