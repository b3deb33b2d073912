"""System metrics sampled in a background thread while a run is active.

Every interval (``LABCYCLE_SYSTEM_METRICS_INTERVAL`` seconds, default 10) the sampler logs
to the active run, and to runs that autologged fits started while they train:

- ``system.cpu_utilization_percentage`` (whole machine), ``system.process_cpu_percentage``;
- ``system.memory_used_megabytes``, ``system.memory_utilization_percentage``,
  ``system.process_memory_rss_megabytes``;
- per GPU ``i`` when NVIDIA's library (``pynvml``) or ``nvidia-smi`` is present:
  ``system.gpu_<i>_utilization_percentage``, ``system.gpu_<i>_memory_used_megabytes``.

Steps count samples per run (0, 1, 2...). Sampling takes a few hundred microseconds and
only appends to the logging buffer, so it never slows training measurably.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections import defaultdict
from typing import Any

_thread: threading.Thread | None = None
_stop = threading.Event()
_lock = threading.Lock()
_fits: dict[int, Any] = {}  # the runs of fits in progress (runtime.FitRun), off the stack


def start(interval: float) -> None:
    global _thread
    with _lock:
        if _thread is not None and _thread.is_alive():
            _Sampler.interval = interval
            return
        _stop.clear()
        _Sampler.interval = interval
        _thread = threading.Thread(
            target=_Sampler().loop, name="labcycle-system-metrics", daemon=True
        )
        _thread.start()


def stop() -> None:
    global _thread
    with _lock:
        _stop.set()
        thread, _thread = _thread, None
    if thread is not None:
        thread.join(timeout=5)


def running() -> bool:
    return _thread is not None and _thread.is_alive()


def track(fit_run: Any) -> None:
    """Sample into ``fit_run`` too until :func:`untrack` (a fit's own run is off the stack,
    and may not exist yet: FitRun keeps the samples until it does)."""
    with _lock:
        _fits[id(fit_run)] = fit_run


def untrack(fit_run: Any) -> None:
    with _lock:
        _fits.pop(id(fit_run), None)


def _gpu_reader() -> Any:
    """A function returning [(utilization %, memory used MB)] per GPU, or None."""
    try:
        import pynvml

        pynvml.nvmlInit()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]

        def read_nvml() -> list[tuple[float, float]]:
            return [
                (
                    float(pynvml.nvmlDeviceGetUtilizationRates(h).gpu),
                    pynvml.nvmlDeviceGetMemoryInfo(h).used / 2**20,
                )
                for h in handles
            ]

        return read_nvml if handles else None
    except Exception:  # no NVIDIA library or no GPU
        pass
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None

    def read_smi() -> list[tuple[float, ...]]:
        out = subprocess.run(
            [smi, "--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout
        return [
            tuple(float(v) for v in line.split(",")[:2])
            for line in out.splitlines()
            if line.strip()
        ]

    try:
        return read_smi if read_smi() else None
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def sample() -> dict[str, float]:
    """One sample of every system metric (also used by the tests)."""
    import psutil

    memory = psutil.virtual_memory()
    process = psutil.Process()
    values = {
        "system.cpu_utilization_percentage": psutil.cpu_percent(interval=None),
        "system.process_cpu_percentage": process.cpu_percent(interval=None),
        "system.memory_used_megabytes": (memory.total - memory.available) / 2**20,
        "system.memory_utilization_percentage": memory.percent,
        "system.process_memory_rss_megabytes": process.memory_info().rss / 2**20,
    }
    return values


class _Sampler:
    interval = 10.0

    def __init__(self) -> None:
        self.steps: dict[str, int] = defaultdict(int)
        self.gpus = _gpu_reader()
        sample()  # psutil's CPU percentages count from the previous call

    def loop(self) -> None:
        from .options import warn_once

        while not _stop.wait(self.interval):
            try:
                self.once()
            except Exception as exc:  # sampling must never end the process
                warn_once("system", f"system metrics sampling failed: {exc}")

    def once(self) -> None:
        from ..api import fluent

        with _lock:
            fits = list(_fits.values())
        stack = fluent._state.stack
        active = stack[-1].id if stack else None
        if not fits and active is None:
            return
        values = sample()
        if self.gpus is not None:
            for i, (utilization, memory) in enumerate(self.gpus()):
                values[f"system.gpu_{i}_utilization_percentage"] = utilization
                values[f"system.gpu_{i}_memory_used_megabytes"] = memory
        now = int(time.time() * 1000)
        if active is not None:
            step = self.steps[active]
            self.steps[active] += 1
            flusher = fluent._state.flusher()
            for key, value in values.items():
                flusher.add_metric(active, key, float(value), step, now)
        for fit_run in fits:
            step = self.steps[fit_run.key]
            self.steps[fit_run.key] += 1
            for key, value in values.items():
                fit_run.log_metric(key, value, step)
