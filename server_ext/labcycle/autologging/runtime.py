"""The machinery under autologging: patches, the outermost-fit guard, the fit's run, and
the background thread that does the costly logging after ``fit`` returns."""

from __future__ import annotations

import atexit
import contextlib
import functools
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from .options import warn_once


# -- patches ------------------------------------------------------------------------------
class Patches:
    """Attributes replaced on classes and modules, to put back on ``restore``.

    Idempotent: patching an attribute that is already patched keeps the first original,
    so calling ``lc.autolog()`` twice never wraps a wrapper.
    """

    MARK = "__labcycle_autolog_original__"

    def __init__(self) -> None:
        self._originals: dict[tuple[int, str], tuple[Any, Any, bool]] = {}

    def patch(self, owner: Any, name: str, make: Callable[[Any], Any]) -> bool:
        key = (id(owner), name)
        if key in self._originals:
            return False
        had_own = name in vars(owner)
        current = vars(owner)[name] if had_own else getattr(owner, name)
        if getattr(current, self.MARK, None) is not None:
            return False
        wrapper = make(current)
        setattr(wrapper, self.MARK, current)
        setattr(owner, name, wrapper)
        self._originals[key] = (owner, current, had_own)
        return True

    def restore(self) -> None:
        for (_, name), (owner, original, had_own) in list(self._originals.items()):
            if had_own:
                setattr(owner, name, original)
            else:
                with contextlib.suppress(AttributeError):
                    delattr(owner, name)
        self._originals.clear()

    def __len__(self) -> int:
        return len(self._originals)


# -- the outermost fit --------------------------------------------------------------------
_depth = 0
_depth_lock = threading.Lock()


_thread_state = threading.local()


def inside_fit() -> bool:
    """True while an autologged fit runs in any thread (a forest's trees fit in threads),
    and always in autologging's own thread (its metrics fit label encoders)."""
    return _depth > 0 or getattr(_thread_state, "logging", False)


class _Outermost:
    def __enter__(self) -> None:
        global _depth
        with _depth_lock:
            _depth += 1

    def __exit__(self, *exc: Any) -> None:
        global _depth
        with _depth_lock:
            _depth -= 1


outermost = _Outermost()


# -- the background thread ----------------------------------------------------------------
class Background:
    """One daemon thread running logging jobs in order; waits per run and per object."""

    def __init__(self) -> None:
        self._queue: queue.Queue = queue.Queue()
        self._cond = threading.Condition()
        self._runs: dict[str | None, int] = defaultdict(int)
        self._objects: dict[int, int] = defaultdict(int)
        self._thread: threading.Thread | None = None

    def submit(
        self, run_id: str, job: Callable[[], None], obj: Any = None, what: str = "logging"
    ) -> None:
        with self._cond:
            self._runs[run_id] += 1
            self._runs[None] += 1
            if obj is not None:
                self._objects[id(obj)] += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._work, name="labcycle-autolog", daemon=True
                )
                self._thread.start()
        self._queue.put((run_id, job, None if obj is None else id(obj), what))

    def _work(self) -> None:
        _thread_state.logging = True
        while True:
            run_id, job, obj, what = self._queue.get()
            try:
                job()
            except Exception as exc:  # logging must never take the process down
                warn_once(f"job-{what}", f"{what} failed: {type(exc).__name__}: {exc}")
            finally:
                with self._cond:
                    self._runs[run_id] -= 1
                    self._runs[None] -= 1
                    if obj is not None:
                        self._objects[obj] -= 1
                        if not self._objects[obj]:
                            del self._objects[obj]
                    self._cond.notify_all()

    def wait(self, run_id: str | None = None, timeout: float | None = None) -> bool:
        if threading.current_thread() is self._thread:
            return True  # a job that ends a run must not wait for itself
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._runs.get(run_id, 0) > 0:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def wait_object(self, obj: Any) -> None:
        """Before refitting ``obj``: its previous fit's logging must read the old state."""
        with self._cond:
            while self._objects.get(id(obj), 0) > 0:
                self._cond.wait()


BACKGROUND = Background()


@atexit.register
def _drain_at_exit() -> None:
    if not BACKGROUND.wait(timeout=300):
        print("LabCycle autolog: background logging did not finish within 300 s at exit.")


# -- the fit's run ------------------------------------------------------------------------
class FitRun:
    """The run a fit logs to: the active run, or one of its own (``owned``).

    An owned run is created by the background thread, so the fit waits for no database
    write and no ``git`` call: until then, what the fit logs (params, tags, curves, system
    samples) is kept in memory, and sent once the run exists. It gets the fit's start and
    end times.
    """

    def __init__(self, name: str) -> None:
        from ..api import fluent

        active = fluent.active_run()
        self.owned = active is None
        self.key = f"fit-{id(self)}-{time.monotonic_ns()}"  # waits before the id exists
        self._lock = threading.Lock()
        self._pending: list[tuple] = []
        self._params: dict[str, str] = {}
        self.name = name[:250]
        if self.owned:
            self.id: str | None = None
            self.experiment_id: str | None = None
            started = int(time.time() * 1000)
            BACKGROUND.submit(self.key, lambda: self._create(started), what="starting the run")
            from . import system

            system.track(self)
        else:
            assert active is not None  # not owned: there is an active run
            self.id = active.id
            self.key = active.id
            self.experiment_id = active.data["experiment_id"]
            self.name = active.name

    def _create(self, started: int) -> None:
        from ..api import fluent

        data = fluent.create_run_record(
            fluent.current_transport(),
            name=self.name,
            tags={"labcycle.autolog": "true"},
            start_time=started,
        )
        flusher = fluent._state.flusher()
        with self._lock:
            self.id, self.experiment_id, self.name = data["id"], data["experiment_id"], data["name"]
            pending, self._pending = self._pending, []
        fluent._state.params[self.id].update(self._params)
        for kind, *item in pending:
            if kind == "params":
                flusher.add_params(self.id, item[0])
            elif kind == "tags":
                flusher.add_tags(self.id, item[0])
            else:
                flusher.add_metric(self.id, *item)

    def _send(self, kind: str, *item: Any) -> None:
        """To the flusher once the run exists; kept for :meth:`_create` until then."""
        from ..api import fluent

        with self._lock:
            if self.id is None:
                self._pending.append((kind, *item))
                return
            run_id = self.id
        flusher = fluent._state.flusher()
        if kind == "params":
            flusher.add_params(run_id, item[0])
        elif kind == "tags":
            flusher.add_tags(run_id, item[0])
        else:
            flusher.add_metric(run_id, *item)

    def log_params(self, params: dict[str, Any]) -> None:
        from ..api import fluent
        from ..services.common import param_value, validate_key

        logged = fluent._state.params[self.id] if self.id is not None else self._params
        clean = {}
        for key, value in params.items():
            try:
                key = validate_key(str(key), "param")
                text = param_value(value, key) if _plain(value) else str(value)[:1000]
            except Exception:  # an odd param is left out, not fatal
                continue
            if key in logged and logged[key] != text:
                warn_once(
                    f"param-{key}",
                    f"param {key!r} was logged with another value in "
                    "this run already; kept the first (params are immutable)",
                )
                continue
            clean[key] = text
        logged.update(clean)
        if clean:
            self._send("params", clean)

    def log_metric(self, key: str, value: Any, step: int = 0) -> None:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return
        self._send("metric", key, number, int(step), int(time.time() * 1000))

    def log_series(self, key: str, values: Any) -> None:
        for step, value in enumerate(values):
            self.log_metric(key, value, step)

    def set_tags(self, tags: dict[str, Any]) -> None:
        self._send("tags", {k: str(v)[:5000] for k, v in tags.items()})

    def finish(self, status: str = "finished") -> None:
        """End an owned run (with the fit's end time) once its queued logging is done."""
        if not self.owned:
            return
        from ..api import fluent
        from . import system

        system.untrack(self)
        ended = int(time.time() * 1000)

        def end() -> None:
            if self.id is None:  # the run could not be created: nothing to end
                return
            fluent._state.flusher().flush(self.id)
            fluent.current_transport().update_run(self.id, status=status, end_time=ended)
            fluent._state.steps.pop(self.id, None)
            fluent._state.params.pop(self.id, None)

        BACKGROUND.submit(self.key, end, what="ending the run")

    def later(self, job: Callable[[], None], obj: Any = None, what: str = "logging") -> None:
        BACKGROUND.submit(self.key, job, obj, what)


def _plain(value: Any) -> bool:
    return (
        value is None
        or isinstance(value, (str, int, float, bool))
        or type(value).__module__ == "numpy"
        and getattr(value, "ndim", 1) == 0
    )


def autologged(original: Callable, describe: Callable[..., Any]) -> Callable:
    """Wrap a fit/train function: ``describe(fit_run, args, kwargs)`` returns a callable
    ``after(result)`` to run once the original returned (or None to log nothing more)."""
    from .options import config

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not config.enabled or inside_fit():
            return original(*args, **kwargs)
        if args:
            BACKGROUND.wait_object(args[0])
        with outermost:
            fit_run = after = None
            try:
                fit_run, after = describe(args, kwargs)
            except Exception as exc:  # never break the user's fit
                warn_once("before", f"could not start logging this fit: {exc}")
            try:
                result = original(*args, **kwargs)
            except BaseException:
                if fit_run is not None:
                    fit_run.finish("failed")
                raise
            try:
                if after is not None:
                    after(result)
            except Exception as exc:
                warn_once("after", f"could not log this fit's results: {exc}")
            if fit_run is not None:
                fit_run.finish("finished")
            return result

    return wrapper


def _register_flush_hook() -> None:
    """``lc.end_run``/``lc.flush`` wait for this run's (or all) background logging."""
    from ..api import fluent

    if _wait_hook not in fluent._before_flush:
        fluent._before_flush.append(_wait_hook)


def _wait_hook(run_id: str | None) -> None:
    BACKGROUND.wait(run_id)


_register_flush_hook()
