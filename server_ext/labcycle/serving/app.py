"""The model server: a Starlette app that ``labcycle serve`` runs under uvicorn.

Routes: ``POST /predict`` (JSON records, split orient or CSV), ``POST /feedback``,
``GET /health`` (the process is alive), ``GET /ready`` (a model version is loaded and
warmed), ``GET /schema`` (the signature), ``GET /stats`` (request rate and latency over the
last minute, :mod:`.stats`; the API key, or the supervisor's stats token, when keyed).
Every response carries ``X-Request-Id``; predictions carry one id per row (ids:
:class:`.capture.IdSource`).

Control path: a process serving a *deployment* reads its target from the metadata store
once a second (:meth:`DeploymentService.target`: the model reference and traffic split,
resolved through the registry). A version it does not have yet is loaded and warmed in
a background thread; only then does the routing table change, with one assignment, so
requests in flight finish on the version they started with and no request fails. A
version that cannot be loaded or warmed is reported (``serving`` on the deployment row)
and never takes traffic; the versions already loaded keep serving. No admin endpoint and
no shared secret is needed, every worker converges by itself, and a restart of the
Jupyter server changes nothing for the process. Without a deployment (``labcycle serve
DIR`` in a container) the model is loaded once.
"""

from __future__ import annotations

import asyncio
import bisect
import functools
import json
import logging
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from .batching import Batcher, Pending, concat_columns
from .capture import CapturedBatch, CaptureWriter, IdSource
from .spool import Spool
from .stats import Stats
from .validation import BadRequest, Schema, dumps, loads, parse_request

log = logging.getLogger("labcycle.serving")
CONFIG_ENV = "LABCYCLE_SERVE_CONFIG"


@dataclass
class ServeConfig:
    model: str | None = None  # a registry reference or a model folder (no deployment)
    deployment_id: str | None = None
    #: serving a model folder: the deployment id its prediction log is written under (an
    #: exported deployment the hub registered; the store is not opened)
    log_id: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    api_key_hash: str | None = None
    batching: bool = True
    max_batch_rows: int = 256
    max_wait_us: int = 2000
    capture: bool = True
    capture_url: str | None = None  # default: the artifact store
    #: the compactor process writes the Parquet log (:mod:`.spool`); False: this process does
    capture_process: bool = True
    spool_dir: str | None = None  # default: spool/deployment=<id> beside a local log
    flush_rows: int = 100_000
    flush_seconds: float = 5.0
    max_body_bytes: int = 16 * 1024 * 1024
    max_rows: int = 100_000
    poll_seconds: float = 1.0
    return_proba: bool = True
    #: "thread": predict in a dedicated thread while the loop parses the next requests;
    #: "inline": predict on the event loop (no thread hop, no GIL hand-off; on few cores the
    #: next batch fills up in the socket buffers meanwhile)
    predict_mode: str = "thread"
    hello_route: bool = False  # a hello-world endpoint, for the overhead baseline of benchmarks
    db_url: str | None = None
    artifact_url: str | None = None

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> ServeConfig:
        return cls(**json.loads(os.environ[CONFIG_ENV]))


def _json_array(values: np.ndarray) -> Any:
    return values.tolist() if values.dtype.kind in "OUS" else values


def _error(status: int, code: str, message: str, request_id: str, **details: Any) -> Response:
    return Response(
        dumps(
            {
                "error": {"code": code, "message": message, "details": details},
                "request_id": request_id,
            }
        ),
        status_code=status,
        media_type="application/json",
        headers={"X-Request-Id": request_id},
    )


@dataclass
class Slot:
    """One loaded model version with its schema and batcher."""

    model: Any
    schema: Schema
    batcher: Batcher | None = None
    names: list[str] = field(default_factory=list)


class ModelServer:
    def __init__(self, config: ServeConfig) -> None:
        import sys

        # The event loop and the prediction thread share the GIL; a short switch interval
        # keeps the loop from waiting 5 ms behind every predict call.
        sys.setswitchinterval(0.0005)
        self.config = config
        self.services: Any = None
        self.capture: CaptureWriter | None = None
        self.predict_pool = ThreadPoolExecutor(1, thread_name_prefix="labcycle-predict")
        self.load_pool = ThreadPoolExecutor(1, thread_name_prefix="labcycle-load")
        self.slots: dict[str, Slot] = {}
        self.routes: tuple[list[float], list[Slot]] = ([], [])
        self.states: dict[str, dict[str, Any]] = {}
        self.target_error: str | None = None
        self.parsing = 0
        self.inflight = 0  # POST /predict requests between arrival and answer
        self.started = time.time()
        self._control: asyncio.Task | None = None
        self._reported: Any = None
        self._retry_at: dict[str, float] = {}
        self.deployment_id = config.deployment_id or config.log_id or "local"
        self.ids = IdSource()  # request and prediction ids: a per-process prefix + a counter
        self.stats = Stats.for_server(self.deployment_id, config.port, config.workers)

    # -- lifecycle ---------------------------------------------------------------------------
    async def startup(self) -> None:
        cfg = self.config
        if cfg.deployment_id:
            from ..config import LabCycleConfig
            from ..services import Services

            lc = LabCycleConfig()
            self.services = Services.open(
                cfg.db_url or lc.db_url, cfg.artifact_url or lc.artifact_url, migrate=False
            )
        if cfg.capture:
            from ..config import LabCycleConfig

            url = cfg.capture_url or (
                self.services.blobs.url
                if self.services is not None
                else cfg.artifact_url or LabCycleConfig().artifact_url
            )
            self.capture = open_capture(url, self.deployment_id, cfg)
        self._control = asyncio.get_running_loop().create_task(self._control_loop())
        self.stats.start()  # with several workers: publish this one's window to the others

    async def shutdown(self) -> None:
        self.stats.stop()
        if self._control is not None:
            self._control.cancel()
        for slot in list(self.slots.values()):
            if slot.batcher is not None:
                slot.batcher.close()
        if self.capture is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.capture.close)
        self.predict_pool.shutdown(wait=True)
        self.load_pool.shutdown(wait=False, cancel_futures=True)
        if self.services is not None:
            self.services.close()

    # -- control path --------------------------------------------------------------------------
    async def _control_loop(self) -> None:
        while True:
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep serving what is loaded
                log.exception("LabCycle: refreshing the served versions failed")
            if not self.config.deployment_id and self.routes[1]:
                return  # a fixed model: nothing to poll
            await asyncio.sleep(self.config.poll_seconds)

    def _target(self) -> list[tuple[Any, float]]:
        if not self.config.deployment_id:
            return [(self.config.model, 100.0)]
        target = self.services.deployments.target(self.config.deployment_id)
        self.target_error = target["error"]
        return target["versions"]

    async def refresh(self) -> None:
        loop = asyncio.get_running_loop()
        target = await loop.run_in_executor(self.load_pool, self._target)
        keys: list[tuple[str, float]] = []
        for ref, weight in target:
            key = str(ref.get("id")) if isinstance(ref, dict) else str(ref)
            keys.append((key, weight))
            if key in self.slots:
                continue
            state = self.states.get(key, {})
            if state.get("state") == "failed" and time.time() < self._retry_at.get(key, 0):
                continue
            self.states[key] = {
                "state": "loading",
                "error": None,
                "version": ref.get("version") if isinstance(ref, dict) else None,
            }
            await self._report()
            try:
                slot = await loop.run_in_executor(self.load_pool, self._load, ref)
            except Exception as exc:  # a broken version never takes traffic
                message = f"{type(exc).__name__}: {exc}"[:2000]
                log.warning("LabCycle: version %s failed to load: %s", key, message)
                self.states[key]["state"] = "failed"
                self.states[key]["error"] = message
                self._retry_at[key] = time.time() + 30
                continue
            self.slots[key] = slot
            self.states[key] = {"state": "ready", "error": None, "version": slot.model.number}
        ready = [(self.slots[k], w) for k, w in keys if k in self.slots]
        pending = [
            k
            for k, _ in keys
            if k not in self.slots and self.states.get(k, {}).get("state") == "loading"
        ]
        if ready and not pending:
            total = sum(w for _, w in ready)
            cum, acc = [], 0.0
            for _, w in ready:
                acc += w / total
                cum.append(acc)
            new = (cum, [s for s, _ in ready])
            if [s.model.key for s in new[1]] != [
                s.model.key for s in self.routes[1]
            ] or cum != self.routes[0]:
                self.routes = new  # one assignment: the switch is atomic
            wanted = {k for k, _ in keys}
            for key in [k for k in self.slots if k not in wanted]:
                old = self.slots.pop(key)  # requests in flight keep their reference
                self.states.pop(key, None)
                asyncio.get_running_loop().call_later(
                    30, old.batcher.close
                ) if old.batcher else None
        for key in [
            k for k in self.states if k not in {k for k, _ in keys} and k not in self.slots
        ]:
            self.states.pop(key, None)
        await self._report()

    def _load(self, ref: Any) -> Slot:
        from .loader import load

        model = load(ref, self.services)
        frame = model.example_frame()
        for _ in range(2):  # warm: first calls pay for lazy imports and allocations
            model.predict(frame, self.config.return_proba)
            if model.matrix_ok:
                model.predict_matrix(frame.to_numpy(np.float64), self.config.return_proba)
        slot = Slot(model=model, schema=Schema(model.signature))
        slot.names = slot.schema.names
        cfg = self.config
        executor = None if cfg.predict_mode == "inline" else self.predict_pool
        slot.batcher = Batcher(
            functools.partial(self._run_batch, slot),
            executor,
            enabled=cfg.batching,
            max_batch_rows=cfg.max_batch_rows,
            max_wait_us=cfg.max_wait_us,
            gauge=lambda: self.parsing,
            alone=lambda: self.inflight <= 1,
        )
        return slot

    def state(self) -> dict[str, Any]:
        cum, slots = self.routes
        weights, prev = {}, 0.0
        for c, s in zip(cum, slots, strict=False):
            weights[s.model.key] = round((c - prev) * 100, 6)
            prev = c
        return {
            "versions": {k: dict(v) for k, v in self.states.items()},
            "routes": weights,
            "error": self.target_error,
        }

    async def _report(self) -> None:
        if not self.config.deployment_id:
            return
        state = self.state()
        if state == self._reported:
            return
        self._reported = state
        try:
            await asyncio.get_running_loop().run_in_executor(
                self.load_pool,
                self.services.deployments.report,
                self.config.deployment_id,
                {**state, "pid": os.getpid(), "at": int(time.time() * 1000)},
            )
        except Exception:  # reporting must not stop serving
            log.exception("LabCycle: reporting the serving state failed")
            self._reported = None

    def choose(self) -> Slot | None:
        cum, slots = self.routes
        if not slots:
            return None
        if len(slots) == 1:
            return slots[0]
        return slots[min(bisect.bisect_right(cum, random.random()), len(slots) - 1)]

    # -- the prediction path -------------------------------------------------------------------
    def _run_batch(self, slot: Slot, items: list[Pending]) -> list[Any]:
        """In the prediction thread: one DataFrame, one predict call for the whole batch."""
        cols = concat_columns(items, slot.names)
        arrays = [cols[n] for n in slot.names]
        block = None
        if arrays and all(a.dtype == np.float64 for a in arrays):
            block = np.column_stack(arrays)
        if block is not None and slot.model.matrix_ok:  # no DataFrame (loader.py)
            preds, proba = slot.model.predict_matrix(block, self.config.return_proba)
        else:
            if block is not None:
                frame = pd.DataFrame(block, columns=slot.names, copy=False)
            else:
                frame = pd.DataFrame(cols, columns=slot.names or list(cols), copy=False)
            preds, proba = slot.model.predict(frame, self.config.return_proba)
        ids = self.ids.take(len(preds))
        now = time.perf_counter()
        results, start = [], 0
        for item in items:
            end = start + item.rows
            results.append(
                (
                    preds[start:end],
                    None if proba is None else proba[start:end],
                    ids[start:end],
                    (now - item.started) * 1000,
                )
            )
            start = end
        if self.capture is not None:  # references only: the writer thread does the work
            self._capture(slot, items, results, cols, block, preds, proba, ids)
        return results

    def _capture(
        self,
        slot: Slot,
        items: list[Pending],
        results: list[Any],
        cols: dict,
        block: np.ndarray | None,
        preds: Any,
        proba: Any,
        ids: list[str],
    ) -> None:
        if not all(item.capture for item in items):  # some asked not to be logged
            keep = [i for i, item in enumerate(items) if item.capture]
            if not keep:
                return
            mask = np.repeat([item.capture for item in items], [item.rows for item in items])
            rows = np.flatnonzero(mask)
            items, results = [items[i] for i in keep], [results[i] for i in keep]
            preds, ids = np.asarray(preds)[mask], [ids[i] for i in rows]
            proba = None if proba is None else np.asarray(proba)[mask]
            block = None if block is None else block[mask]
            cols = cols if block is not None else {n: a[mask] for n, a in cols.items()}
        assert self.capture is not None  # _run_batch calls this only with a writer
        self.capture.append(
            CapturedBatch(
                # with a block, the columns are its names (in its order), not kept twice
                columns=cols if block is None else dict.fromkeys(slot.names),
                predictions=preds,
                probabilities=proba,
                prediction_ids=ids,
                request_ids=[item.request_id for item in items],
                request_rows=[item.rows for item in items],
                latency_ms=[res[3] for res in results],
                model_name=slot.model.name,
                model_version=slot.model.number,
                version_id=slot.model.key,
                ts_ms=int(time.time() * 1000),
                block=block,
            )
        )

    def authorized(self, request: Request, *, stats: bool = False) -> bool:
        stored = self.config.api_key_hash
        if not stored:
            return True
        from ..services.deployments import check_stats_token
        from .keys import check_api_key

        if stats and check_stats_token(request.headers.get("x-labcycle-stats"), stored):
            return True  # the supervisor, which knows the key's hash but not the key
        header = request.headers.get("authorization", "")
        key = (
            header[7:].strip()
            if header[:7].lower() == "bearer "
            else request.headers.get("x-api-key")
        )
        return check_api_key(key, stored)

    async def read_body(self, request: Request) -> bytes:
        limit = self.config.max_body_bytes
        length = request.headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                raise BadRequest("Content-Length is not a number.", field="Content-Length")
            if int(length) > limit:
                raise BadRequest(
                    f"The body is larger than the limit of {limit} bytes; send fewer "
                    "rows per request.",
                    field="body",
                    status=413,
                    code="too_large",
                )
        chunks, size = [], 0
        async for chunk in request.stream():  # checked while reading, not after
            size += len(chunk)
            if size > limit:
                raise BadRequest(
                    f"The body is larger than the limit of {limit} bytes; send fewer "
                    "rows per request.",
                    field="body",
                    status=413,
                    code="too_large",
                )
            chunks.append(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def predict(self, request: Request) -> Response:
        started = time.perf_counter()
        self.inflight += 1
        try:
            response = await self._predict(request, started)
        finally:
            self.inflight -= 1
        self.stats.record(started, time.perf_counter() - started, response.status_code)
        return response

    async def _predict(self, request: Request, started: float) -> Response:
        request_id = self.ids.next()
        if not self.authorized(request):
            return _error(
                401,
                "unauthorized",
                "Send the deployment's API key as 'Authorization: "
                "Bearer KEY' (or 'X-API-Key: KEY').",
                request_id,
            )
        self.parsing += 1
        try:
            raw = await self.read_body(request)
            slot = self.choose()
            if slot is None:
                return _error(
                    503, "not_ready", "No model version is loaded yet; see GET /ready.", request_id
                )
            columns, rows = parse_request(
                slot.schema, raw, request.headers.get("content-type", ""), self.config.max_rows
            )
        except BadRequest as exc:
            return Response(
                dumps({**exc.body(), "request_id": request_id}),
                status_code=exc.status,
                media_type="application/json",
                headers={"X-Request-Id": request_id},
            )
        except ClientDisconnect:
            return Response(status_code=400)
        finally:
            self.parsing -= 1
        try:
            assert slot.batcher is not None  # made when the slot was loaded
            preds, proba, ids, _ = await slot.batcher.submit(
                columns, rows, request_id, started, capture=_wants_capture(request)
            )
        except (ValueError, TypeError, KeyError) as exc:
            return _error(
                422,
                "prediction_failed",
                f"The model could not predict on this input: {str(exc)[:300]}",
                request_id,
            )
        except Exception:  # never a traceback to the client
            log.exception("LabCycle: prediction failed")
            return _error(
                500,
                "internal",
                "The model server hit an unexpected error; its log has the details.",
                request_id,
            )
        body = {
            "request_id": request_id,
            "model_name": slot.model.name,
            "model_version": slot.model.number,
            "predictions": _json_array(preds),
            "prediction_ids": ids,
        }
        if proba is not None:
            body["probabilities"] = proba
        return Response(
            dumps(body), media_type="application/json", headers={"X-Request-Id": request_id}
        )

    async def feedback(self, request: Request) -> Response:
        request_id = self.ids.next()
        if not self.authorized(request):
            return _error(401, "unauthorized", "Send the deployment's API key.", request_id)
        try:
            raw = await self.read_body(request)
            try:
                body = loads(raw)
            except ValueError as exc:
                raise BadRequest(f"The body is not valid JSON: {exc}.") from None
            items = (
                body.get("feedback") if isinstance(body, dict) and "feedback" in body else [body]
            )
            if not isinstance(items, list) or not items:
                raise BadRequest(
                    'Send {"prediction_id", "value"} or {"feedback": [...]}.', field="feedback"
                )
            from ..errors import InvalidInput
            from ..services.deployments import _feedback_items

            checked = []
            for i, item in enumerate(items):
                if not isinstance(item, dict):
                    raise BadRequest(f"feedback[{i}] must be an object.", field=f"feedback[{i}]")
                extra = set(item) - {"prediction_id", "value"}
                if extra:
                    raise BadRequest(f"Unknown field {sorted(extra)[0]!r}.", field=sorted(extra)[0])
                try:
                    checked += _feedback_items(item.get("prediction_id"), item.get("value"))
                except InvalidInput as exc:
                    raise BadRequest(exc.message, field=exc.details.get("field", "body")) from None
        except BadRequest as exc:
            return Response(
                dumps({**exc.body(), "request_id": request_id}),
                status_code=exc.status,
                media_type="application/json",
            )
        if self.capture is None:
            return _error(
                409, "capture_off", "Prediction capture is off for this deployment.", request_id
            )
        for pid, value in checked:
            self.capture.append_feedback(pid, value, "api")
        return Response(
            dumps({"logged": len(checked), "request_id": request_id}),
            status_code=202,
            media_type="application/json",
        )

    async def health(self, request: Request) -> Response:
        return Response(
            dumps(
                {
                    "status": "ok",
                    "deployment_id": self.deployment_id,
                    "pid": os.getpid(),
                    "workers": self.config.workers,
                    "uptime_s": round(time.time() - self.started, 3),
                }
            ),
            media_type="application/json",
        )

    async def ready(self, request: Request) -> Response:
        ready = bool(self.routes[1])
        return Response(
            dumps({"ready": ready, "deployment_id": self.deployment_id, **self.state()}),
            status_code=200 if ready else 503,
            media_type="application/json",
        )

    async def stats_route(self, request: Request) -> Response:
        """Request counters and latency over the last minute, of all the server's workers."""
        if not self.authorized(request, stats=True):
            return _error(401, "unauthorized", "Send the deployment's API key.", self.ids.next())
        return Response(
            dumps(
                {
                    "deployment_id": self.deployment_id,
                    "pid": os.getpid(),
                    "workers": self.config.workers,
                    **self.stats.snapshot(),
                }
            ),
            media_type="application/json",
        )

    async def schema(self, request: Request) -> Response:
        if not self.authorized(request):
            return _error(401, "unauthorized", "Send the deployment's API key.", self.ids.next())
        cum, slots = self.routes
        if not slots:
            return _error(503, "not_ready", "No model version is loaded yet.", self.ids.next())
        first = slots[0].model
        return Response(
            dumps(
                {
                    "model_name": first.name,
                    "model_version": first.number,
                    "signature": first.signature,
                    "versions": [
                        {
                            "version": s.model.number,
                            "version_id": s.model.key,
                            "signature": s.model.signature,
                        }
                        for s in slots
                    ],
                    "formats": ["application/json records", "application/json split", "text/csv"],
                }
            ),
            media_type="application/json",
        )

    async def hello(self, request: Request) -> Response:
        await request.body()
        return Response(b'{"hello":"world"}', media_type="application/json")


async def _http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    code = {404: "not_found", 405: "method_not_allowed"}.get(status, "error")
    message = {
        404: "No such route: the model server has /predict, /feedback, /health, /ready, "
        "/schema and /stats.",
        405: "This method is not allowed on this route.",
    }.get(status, "Error.")
    return Response(
        dumps({"error": {"code": code, "message": message, "details": {}}}),
        status_code=status,
        media_type="application/json",
    )


async def _internal(request: Request, exc: Exception) -> Response:
    log.exception("LabCycle model server error", exc_info=exc)
    return Response(
        dumps(
            {
                "error": {
                    "code": "internal",
                    "message": "Unexpected error; see the model server's log.",
                    "details": {},
                }
            }
        ),
        status_code=500,
        media_type="application/json",
    )


def build_app(config: ServeConfig) -> Starlette:
    server = ModelServer(config)
    routes = [
        Route("/predict", server.predict, methods=["POST"]),
        Route("/feedback", server.feedback, methods=["POST"]),
        Route("/health", server.health, methods=["GET"]),
        Route("/ready", server.ready, methods=["GET"]),
        Route("/schema", server.schema, methods=["GET"]),
        Route("/stats", server.stats_route, methods=["GET"]),
    ]
    if config.hello_route:
        routes.append(Route("/hello", server.hello, methods=["GET", "POST"]))

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: Starlette):
        await server.startup()
        try:
            yield
        finally:
            await server.shutdown()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _internal},
    )
    app.state.server = server
    return app


def create_app() -> Starlette:
    """uvicorn factory (``labcycle.serving.app:create_app``): the config comes from the env."""
    return build_app(ServeConfig.from_env())


def run(config: ServeConfig) -> None:
    """Serve until SIGTERM/SIGINT; then drain requests and write the prediction log."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    os.environ[CONFIG_ENV] = config.to_env()
    kwargs: dict[str, Any] = {
        "host": config.host,
        "port": config.port,
        "access_log": False,
        "log_level": "warning",
        "timeout_graceful_shutdown": 20,
    }
    try:
        import uvloop  # noqa: F401

        kwargs["loop"] = "uvloop"
    except ImportError:
        pass
    try:
        import httptools  # noqa: F401

        kwargs["http"] = "httptools"
    except ImportError:
        pass
    if config.workers > 1:
        uvicorn.run(
            "labcycle.serving.app:create_app", factory=True, workers=config.workers, **kwargs
        )
    else:
        uvicorn.run(build_app(config), **kwargs)


def open_capture(url: str, deployment_id: str, cfg: ServeConfig) -> CaptureWriter:
    """A started capture writer for the prediction log at ``url``, with its spool."""
    spool = Spool(
        cfg.spool_dir,
        url,
        deployment_id,
        compact_seconds=cfg.flush_seconds,
        process=cfg.capture_process,
    )
    return CaptureWriter(
        spool.log.fs,
        spool.log.root,
        deployment_id,
        flush_rows=cfg.flush_rows,
        flush_seconds=cfg.flush_seconds,
        spool=spool,
    ).start()


def _wants_capture(request: Request) -> bool:
    """``X-LabCycle-Capture: off`` keeps a request out of the prediction log (the what-if
    app's exploratory calls would otherwise look like real traffic to the monitors)."""
    return request.headers.get("x-labcycle-capture", "").strip().lower() not in (
        "off",
        "0",
        "false",
        "no",
    )
