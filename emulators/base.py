"""What every emulator shares: a threaded HTTP server on loopback, a request journal you can read
back, per-key rate limiting, and fault injection (429 bursts, 5xx, slow answers, a request that
breaks mid-run).

Control endpoints live under `/_emulator/` and are not part of any real API:
  GET  /_emulator/requests          the journal (method, path, query without secrets, status)
  POST /_emulator/faults            JSON knobs, see `Faults`; also settable from the command line
  POST /_emulator/reset             clear the journal and the faults
  GET  /_emulator/health            liveness for start-up waits
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

import orjson

SECRET_PARAMS = {"apiKey", "api_key", "apikey", "auth", "access_token", "passwd"}


@dataclass
class Faults:
    """Fault knobs. Counters count down as requests arrive; API requests only, never control ones."""

    rate_limit_next: int = 0  # answer the next N requests as rate-limited (each emulator's own way)
    error_5xx_next: int = 0  # answer the next N requests with 503
    fail_request_number: int = 0  # let N-1 requests through, then break the Nth with a 500
    slow_ms: int = 0  # delay every answer by this much
    slow_next: int = 0  # ... or only the next N answers (0 = all while slow_ms is set)
    garbage_next: int = 0  # answer the next N requests with 200 and a body that is not JSON
    retry_after: int = 1  # seconds, sent with rate-limited answers


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, Any]
    form: dict[str, Any]
    headers: dict[str, str]
    body: bytes = b""

    def param(self, name: str, default: Any = None) -> Any:
        if name in self.form:
            return self.form[name]
        return self.query.get(name, default)


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, **headers: str) -> "Response":
        return cls(status, dumps(payload), headers=headers)


def dumps(payload: Any) -> bytes:
    """Compact UTF-8 JSON. orjson is several times faster than `json.dumps` on the large pages a
    full extract asks for; whatever it refuses (a type it does not know) goes through `json`."""
    try:
        return orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def parse_pairs(raw: str) -> dict[str, Any]:
    """Flat dict of a query/form string; keys that repeat (`filter[ids][]`) collect into lists."""
    out: dict[str, Any] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        if key.endswith("[]"):
            out.setdefault(key, []).append(value)
        elif key in out:
            prev = out[key]
            out[key] = prev + [value] if isinstance(prev, list) else [prev, value]
        else:
            out[key] = value
    return out


class RateLimiter:
    """Sliding-window limit per key: at most `limit` calls in any `window` seconds."""

    def __init__(self, limit: int, window: float):
        self.limit, self.window = limit, window
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            calls = self._calls.setdefault(key, deque())
            while calls and now - calls[0] > self.window:
                calls.popleft()
            if len(calls) >= self.limit:
                return False
            calls.append(now)
            return True


class Emulator:
    """Subclasses implement `route()` and the two service-specific fault answers."""

    name = "emulator"

    def __init__(self) -> None:
        self.faults = Faults()
        self.journal: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._api_requests = 0

    # --- to implement -------------------------------------------------------------------------
    def route(self, req: Request) -> Response:
        raise NotImplementedError

    def rate_limited(self, req: Request) -> Response:
        return Response.json(429, {"error": "rate limited"}, **{"Retry-After": str(self.faults.retry_after)})

    def server_error(self, status: int) -> Response:
        body = f"<html><head><title>{status}</title></head><body><center><h1>{status}</h1></center><hr><center>nginx</center></body></html>"
        return Response(status, body.encode(), "text/html")

    def control(self, req: Request) -> Response | None:
        """Extra `/_emulator/...` endpoints of a subclass (e.g. what a destination received)."""
        return None

    # --- machinery ----------------------------------------------------------------------------
    def _injected(self, req: Request) -> Response | None:
        with self._lock:
            f = self.faults
            self._api_requests += 1
            if f.fail_request_number:
                f.fail_request_number -= 1
                if f.fail_request_number == 0:
                    return self.server_error(500)
            if f.rate_limit_next > 0:
                f.rate_limit_next -= 1
                return self.rate_limited(req)
            if f.error_5xx_next > 0:
                f.error_5xx_next -= 1
                return self.server_error(503)
            if f.garbage_next > 0:
                f.garbage_next -= 1
                return Response(200, b'{"success": true, "customers": [ {"id": 1,', "application/json")
        return None

    def _delay(self) -> None:
        with self._lock:
            f = self.faults
            delay = f.slow_ms
            if delay and f.slow_next:
                f.slow_next -= 1
                if f.slow_next == 0:
                    f.slow_ms = 0
        if delay:
            time.sleep(delay / 1000)

    def handle(self, req: Request) -> Response:
        if req.path.startswith("/_emulator/"):
            return self._control(req)
        self._delay()
        resp = self._injected(req) or self.route(req)
        self._record(req, resp)
        return resp

    def _record(self, req: Request, resp: Response) -> None:
        entry = {
            "at": time.time(),
            "method": req.method,
            "path": req.path,
            "query": {k: v for k, v in req.query.items() if k not in SECRET_PARAMS},
            "form_keys": sorted({k.split("[")[0] for k in req.form if k not in SECRET_PARAMS}),
            "status": resp.status,
        }
        with self._lock:
            self.journal.append(entry)

    def _control(self, req: Request) -> Response:
        path = req.path
        if path == "/_emulator/health":
            return Response.json(200, {"ok": True, "emulator": self.name})
        if path == "/_emulator/requests":
            with self._lock:
                return Response.json(200, list(self.journal))
        if path == "/_emulator/faults":
            if req.method == "POST":
                knobs = json.loads(req.body or b"{}")
                with self._lock:
                    for k, v in knobs.items():
                        if not hasattr(self.faults, k):
                            return Response.json(400, {"error": f"unknown fault knob {k!r}"})
                        setattr(self.faults, k, int(v))
            return Response.json(200, asdict(self.faults))
        if path == "/_emulator/reset":
            with self._lock:
                self.journal.clear()
                self.faults = Faults()
            return Response.json(200, {"ok": True})
        extra = self.control(req)
        return extra or Response.json(404, {"error": f"no control endpoint {path}"})

    # --- serving ------------------------------------------------------------------------------
    def make_server(self, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as two writes; with Nagle on, the body waits for the client's
            # delayed ACK (~40 ms a call), which makes per-record APIs look 50x slower than they are.
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                ctype = self.headers.get("Content-Type", "")
                form = parse_pairs(body.decode("utf-8", "replace")) if "form-urlencoded" in ctype else {}
                req = Request(self.command, parts.path, parse_pairs(parts.query), form,
                              {k.lower(): v for k, v in self.headers.items()}, body)
                try:
                    resp = emulator.handle(req)
                except Exception as exc:  # an emulator bug must look like a server error, not hang
                    resp = Response.json(500, {"error": f"emulator failure: {type(exc).__name__}: {exc}"})
                self.send_response(resp.status)
                self.send_header("Content-Type", resp.content_type)
                self.send_header("Content-Length", str(len(resp.body)))
                for k, v in resp.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(resp.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # the journal is the log; stderr lines would carry query strings with PII

        server = ThreadingHTTPServer((host, port), Handler)
        server.daemon_threads = True
        return server

    def lift_rate_limit(self, limit: int) -> None:
        """`--rate-limit`: the service's request limit raised to `limit` per its window, so that the
        benchmark times our side rather than the real service's throttle (tests keep the limits).
        An emulator whose limit is not one `limiter` lifts its own as well."""
        if isinstance(getattr(self, "limiter", None), RateLimiter):
            self.limiter = RateLimiter(limit, self.limiter.window)

    def serve_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadingHTTPServer, str]:
        server = self.make_server(host, port)
        threading.Thread(target=server.serve_forever, daemon=True, name=f"{self.name}-emulator").start()
        return server, f"http://{host}:{server.server_address[1]}"


def cli(build: Callable[[argparse.Namespace], Emulator], description: str, default_port: int) -> None:
    """Shared command line: `python -m emulators.<system> --data DIR --port N [--fault-... ]`."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--data", default="data/demo", help="folder written by `python -m demo.generate`")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=default_port)
    ap.add_argument("--api-key", default="demo-key")
    ap.add_argument("--rate-limit", type=int, default=None,
                    help="override the service's requests-per-second limit (the benchmark lifts it to time our side)")
    for knob in Faults.__dataclass_fields__:
        ap.add_argument(f"--fault-{knob.replace('_', '-')}", type=int, default=None, dest=f"fault_{knob}")
    args = ap.parse_args()
    emulator = build(args)
    if args.rate_limit is not None:
        emulator.lift_rate_limit(args.rate_limit)
    for knob in Faults.__dataclass_fields__:
        value = getattr(args, f"fault_{knob}")
        if value is not None:
            setattr(emulator.faults, knob, value)
    server = emulator.make_server(args.host, args.port)
    print(f"{emulator.name} emulator on http://{args.host}:{server.server_address[1]} (data: {args.data})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
