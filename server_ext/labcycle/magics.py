"""``%load_ext labcycle``: the ``%lc`` magic and tracking of every cell a run executes."""

from __future__ import annotations

import argparse
import shlex
import time
from typing import Any, NoReturn

from IPython.core.magic import Magics, line_magic, magics_class

from .api import fluent as lc
from .errors import LabCycleError

USAGE = """Track notebook work as LabCycle runs.

Usage:
  %lc start [--experiment NAME] [--project NAME] [--name RUN] [--tag KEY=VALUE ...] [--nested]
      Start a run; from now on every executed cell is recorded.
  %lc end [--status finished|failed|killed]
      Flush, attach the saved notebook as a snapshot, and close the run.
  %lc log KEY=VALUE [KEY=VALUE ...] [--step N]
      Log metrics (numbers).
  %lc log --param KEY=VALUE [...]    Log params.
  %lc log --tag KEY=VALUE [...]      Set tags.
  %lc status
      Show the active run, its params and latest metrics.
  %lc autolog [--disable] [--no-models] [--no-datasets] [--no-training-metrics]
              [--no-system-metrics] [--max-tuning-runs N]
      Log scikit-learn, XGBoost and LightGBM training without logging calls (lc.autolog).

Examples:
  %lc start --experiment churn --name baseline
  %lc log --param model=rf depth=5
  %lc log acc=0.91 loss=0.23 --step 3
  %lc end
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # no SystemExit inside a kernel
        raise LabCycleError(f"{message}\n\n{USAGE}")


def _pairs(items: list[str]) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise LabCycleError(f"Expected KEY=VALUE, got {item!r}.")
        pairs[key] = value
    return pairs


def _number(text: str) -> float | int:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise LabCycleError(
                f"Metric values must be numbers, got {text!r}; use --param or --tag for text."
            ) from None


def _parsers() -> dict[str, _Parser]:
    start = _Parser(prog="%lc start", add_help=False)
    start.add_argument("--experiment", "-e")
    start.add_argument("--project", "-p")
    start.add_argument("--name", "-n")
    start.add_argument("--tag", "-t", action="append", default=[])
    start.add_argument("--nested", action="store_true")
    end = _Parser(prog="%lc end", add_help=False)
    end.add_argument("--status", default="finished", choices=["finished", "failed", "killed"])
    log = _Parser(prog="%lc log", add_help=False)
    log.add_argument("pairs", nargs="+")
    log.add_argument("--step", type=int)
    kind = log.add_mutually_exclusive_group()
    kind.add_argument("--param", action="store_true")
    kind.add_argument("--tag", action="store_true")
    autolog = _Parser(prog="%lc autolog", add_help=False)
    autolog.add_argument("--disable", action="store_true")
    for flag in ("models", "datasets", "training-metrics", "system-metrics"):
        autolog.add_argument(f"--no-{flag}", action="store_true")
    autolog.add_argument("--max-tuning-runs", type=int)
    return {"start": start, "end": end, "log": log, "autolog": autolog}


@magics_class
class LabCycleMagics(Magics):
    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self.parsers = _parsers()
        self._cell_started: float | None = None
        self._cell_started_ms = 0
        self._cell_info: Any = None

    @line_magic
    def lc(self, line: str) -> None:
        try:
            words = shlex.split(line)
        except ValueError as exc:
            print(f"LabCycle: {exc}")
            return
        if not words or words[0] in ("help", "-h", "--help"):
            print(USAGE)
            return
        command, args = words[0], words[1:]
        handler = getattr(self, f"_cmd_{command}", None)
        if handler is None:
            print(f"LabCycle: unknown command {command!r}.\n\n{USAGE}")
            return
        try:
            handler(self.parsers[command].parse_args(args) if command in self.parsers else args)
        except LabCycleError as exc:
            print(f"LabCycle: {exc.message}")

    lc.__doc__ = USAGE

    def _cmd_start(self, args: argparse.Namespace) -> None:
        run = lc.start_run(
            args.experiment,
            project=args.project,
            name=args.name,
            nested=args.nested,
            tags=_pairs(args.tag) or None,
        )
        print(
            f"LabCycle run {run.name!r} ({run.id}) started in experiment "
            f"{run.data.get('experiment_name', args.experiment)!r}; every cell is now recorded."
        )

    def _cmd_end(self, args: argparse.Namespace) -> None:
        run = lc.end_run(args.status)
        if run is None:
            print("LabCycle: no active run.")
        else:
            print(f"LabCycle run {run.name!r} ({run.id}) {run.status}.")

    def _cmd_log(self, args: argparse.Namespace) -> None:
        pairs = _pairs(args.pairs)
        if args.param:
            lc.log_params(pairs)
        elif args.tag:
            lc.set_tags(pairs)
        else:
            for key, value in pairs.items():
                lc.log_metric(key, _number(value), step=args.step)

    def _cmd_autolog(self, args: argparse.Namespace) -> None:
        from .autologging import autolog

        config = autolog(
            disable=args.disable,
            log_models=not args.no_models,
            log_datasets=not args.no_datasets,
            log_training_metrics=not args.no_training_metrics,
            system_metrics=not args.no_system_metrics,
            max_tuning_runs=args.max_tuning_runs,
        )
        if not config.enabled:
            print("LabCycle autologging is off.")
        else:
            print(
                f"LabCycle autologging is on for {', '.join(config.frameworks)}: every fit "
                "is logged (to the active run, or a run of its own)."
            )

    def _cmd_status(self, _args: list[str]) -> None:
        run = lc.active_run()
        if run is None:
            print("LabCycle: no active run. Start one with %lc start --experiment NAME.")
            return
        current = lc.get_run(run.id)
        print(
            f"Run {current.name!r} ({current.id}) {current.status}, started {current.start_time:%Y-%m-%d %H:%M:%S}"
        )
        for title, values in (
            ("params", current.params),
            ("metrics", current.metrics),
            ("tags", current.tags),
        ):
            if values:
                print(f"  {title}: " + ", ".join(f"{k}={v}" for k, v in sorted(values.items())))

    # -- cell tracking ----------------------------------------------------------------------
    def pre_run_cell(self, info: Any) -> None:
        self._cell_started = time.perf_counter()
        self._cell_started_ms = int(time.time() * 1000)
        self._cell_info = info

    def post_run_cell(self, result: Any) -> None:
        run = lc.active_run()
        info, started = self._cell_info, self._cell_started
        self._cell_info = self._cell_started = None
        if run is None or info is None or started is None:
            return
        error = result.error_before_exec or result.error_in_exec
        lc._state.flusher().add_cell(
            run.id,
            {
                "execution_count": result.execution_count,
                "cell_id": getattr(info, "cell_id", None),
                "source": info.raw_cell,
                "started_at": self._cell_started_ms,
                "duration_ms": (time.perf_counter() - started) * 1000,
                "status": "error" if error else "ok",
                "error": f"{type(error).__name__}: {error}" if error else None,
            },
        )


_magics: LabCycleMagics | None = None


def load_ipython_extension(ipython: Any) -> None:
    global _magics
    if _magics is not None:
        return
    _magics = LabCycleMagics(ipython)
    ipython.register_magics(_magics)
    ipython.events.register("pre_run_cell", _magics.pre_run_cell)
    ipython.events.register("post_run_cell", _magics.post_run_cell)


def unload_ipython_extension(ipython: Any) -> None:
    global _magics
    if _magics is None:
        return
    ipython.events.unregister("pre_run_cell", _magics.pre_run_cell)
    ipython.events.unregister("post_run_cell", _magics.post_run_cell)
    _magics = None
