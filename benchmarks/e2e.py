"""Benchmark 5: end to end over 127.0.0.1, real servers under the ``wrk`` load generator.

Servers, each started here as a subprocess on a free loopback port and stopped afterwards:

* ``ours@uvicorn`` / ``starlette@uvicorn``: our ASGI middleware, and Starlette's
  ``StaticFiles`` mounted in a ``Starlette`` app, under the same uvicorn command (1 worker,
  ``--no-access-log``, loop and HTTP implementation left to uvicorn's defaults);
* ``ours@gunicorn`` / ``werkzeug@gunicorn``: our WSGI middleware, and Werkzeug's
  ``SharedDataMiddleware``, under the same gunicorn command (1 sync worker; both hand the file
  to ``wsgi.file_wrapper``, which gunicorn sends with ``sendfile()``);
* ``floor@gunicorn``: not a competitor but a bound, ``benchmarks._e2e_apps.floor_wsgi``: a bare
  WSGI app (a stat and a fixed 304, or the file to ``wsgi.file_wrapper`` with fixed headers)
  under the same gunicorn command; its note gives its ratio to Werkzeug's, the most any
  middleware can reach under that server;
* ``nginx``: the same folder through ``location /__images__/ { alias STORE/; }`` with
  ``sendfile on``, 1 worker process: the ceiling.

Scenarios: ``small 200`` (the small JPEGs, every one in a shuffled list that each wrk thread
cycles through) and ``304`` (the same files with ``If-None-Match`` set to the ETag that server
itself returned).  wrk runs with 1 thread and ``--e2e-connections`` connections (2 cores: one
for wrk, one for the server), a warm-up run first (full runs), then ``--e2e-rounds``
interleaved rounds of ``--e2e-seconds`` each.  Every response's status is counted by the wrk
script and checked after each run (and the body bytes against the files' sizes); a server that
answers wrongly is reported, not timed.  Target: ours >= 1.5x the same server's competitor.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import json
import math
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks._common import (
    BENCH_DIR,
    FLOOR,
    NGINX,
    OURS,
    STARLETTE,
    WERKZEUG,
    Row,
    Settings,
    interleaved_rounds,
    judge,
    median,
    paired_ratio,
)
from benchmarks._data import URL_PREFIX, Key, ServeStore, ensure_serve_store
from benchmarks._e2e_apps import STORE_ENV

Log = Callable[[str], None]
SECTION = "e2e"
TARGET = 1.5
WRK_THREADS = 1
WRK_SCRIPT = BENCH_DIR / "_wrk.lua"
HOST = "127.0.0.1"
N_ETAGS = 500  # distinct files in the 304 scenario (each needs its ETag fetched per server)
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
INSTALL_HINT = "install them with: apt-get update && apt-get install -y wrk nginx"
# Environment variables that would change a server's options behind the harness's back.
_SERVER_ENV_DROP = ("GUNICORN_CMD_ARGS", "WEB_CONCURRENCY")


class HarnessError(RuntimeError):
    """A server answered something other than what the scenario expects, or did not run."""


@dataclass
class Server:
    name: str  # e.g. "ours@uvicorn"
    group: str  # "uvicorn", "gunicorn", "nginx"
    competitor: str  # OURS, STARLETTE, WERKZEUG, NGINX
    argv: list[str] = field(default_factory=list)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    problem: str = ""  # why it is not measured at all
    etags: dict[str, str] = field(default_factory=dict)  # url path -> its ETag
    failed: dict[str, str] = field(default_factory=dict)  # scenario -> what went wrong
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # scenario -> wrk runs
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def measurable(self) -> bool:
        return self.proc is not None and not self.problem


def missing_tools() -> list[str]:
    return [tool for tool in ("wrk", "nginx") if shutil.which(tool) is None]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _uvicorn_argv(factory: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "--factory", f"benchmarks._e2e_apps:{factory}",
        "--host", HOST, "--port", str(port), "--workers", "1",
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip


def _gunicorn_argv(factory: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "gunicorn", "--workers", "1", "--worker-class", "sync",
        "--bind", f"{HOST}:{port}", "--log-level", "warning",
        f"benchmarks._e2e_apps:{factory}()",
    ]  # fmt: skip


def nginx_conf(tmp: Path, port: int, store_root: Path) -> str:
    """A minimal nginx.conf: everything it writes stays in ``tmp``; no access log (like the
    Python servers, which run with their access logs off)."""
    user = ""
    if os.geteuid() == 0:
        # As root nginx's worker would drop to an unprivileged user, who may not be able to
        # read a store under a private temporary folder: keep this process's user.
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n"
    temp_paths = "".join(
        f"    {kind}_temp_path {tmp / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}"
        "daemon off;\n"
        "worker_processes 1;\n"
        f"pid {tmp / 'nginx.pid'};\n"
        f"error_log {tmp / 'nginx-error.log'} warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        f"    access_log off;\n"
        "    sendfile on;\n"
        "    types { image/jpeg jpe jpeg jpg; }\n"
        "    default_type application/octet-stream;\n"
        f"{temp_paths}"
        "    server {\n"
        f"        listen {HOST}:{port};\n"
        f"        location {URL_PREFIX}/ {{ alias {store_root}/; }}\n"
        "    }\n"
        "}\n"
    )


def _plan(store: ServeStore, tmp: Path) -> list[Server]:
    """The servers to start, with why any of them cannot be (then it is reported, not run)."""
    from benchmarks._asgi import OursUnavailableError
    from benchmarks._asgi import ours_middleware_class as ours_asgi_class
    from benchmarks._wsgi import unavailable as wsgi_unavailable

    def installed(module: str) -> str:
        return "" if importlib.util.find_spec(module) else f"{module} is not installed"

    ours_asgi = ""
    try:
        ours_asgi_class()
    except OursUnavailableError as exc:
        ours_asgi = str(exc)
    servers = [
        Server("ours@uvicorn", "uvicorn", OURS, problem=ours_asgi or installed("uvicorn")),
        Server(
            "starlette@uvicorn",
            "uvicorn",
            STARLETTE,
            # without ours there is no ratio to judge: not worth its minutes
            problem=installed("uvicorn")
            or installed("starlette")
            or (f"left out: ours@uvicorn cannot run ({ours_asgi})" if ours_asgi else ""),
        ),
        Server("ours@gunicorn", "gunicorn", OURS, problem=installed("gunicorn")),
        Server("werkzeug@gunicorn", "gunicorn", WERKZEUG, problem=installed("gunicorn")),
        Server(NGINX, "nginx", NGINX),
        Server("floor@gunicorn", "gunicorn", FLOOR, problem=installed("gunicorn")),
    ]
    ours_wsgi = wsgi_unavailable(OURS)
    if ours_wsgi:
        servers[2].problem = servers[2].problem or ours_wsgi
        servers[3].problem = (
            servers[3].problem or f"left out: ours@gunicorn cannot run ({ours_wsgi})"
        )
    factories = {
        "ours@uvicorn": "ours_asgi",
        "starlette@uvicorn": "starlette_asgi",
        "ours@gunicorn": "ours_wsgi",
        "werkzeug@gunicorn": "werkzeug_wsgi",
        "floor@gunicorn": "floor_wsgi",
    }
    for server in servers:
        server.port = _free_port()
        server.log_path = tmp / f"{server.name.replace('@', '-')}.log"
        if server.group == "uvicorn":
            server.argv = _uvicorn_argv(factories[server.name], server.port)
        elif server.group == "gunicorn":
            server.argv = _gunicorn_argv(factories[server.name], server.port)
        else:
            conf = tmp / "nginx.conf"
            conf.write_text(nginx_conf(tmp, server.port, store.root), encoding="utf-8")
            nginx = shutil.which("nginx") or "nginx"
            server.argv = [nginx, "-p", f"{tmp}/", "-c", str(conf), "-e", str(tmp / "nginx.err")]
    return servers


# -- processes -------------------------------------------------------------------------------


def _log_tail(server: Server, lines: int = 3) -> str:
    if server.log_path is None or not server.log_path.is_file():
        return ""
    text = server.log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return " | ".join(text[-lines:])


def _start(server: Server, env: dict[str, str]) -> None:
    assert server.log_path is not None
    with open(server.log_path, "wb") as log_file:
        server.proc = subprocess.Popen(
            server.argv,
            cwd=BENCH_DIR.parent,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: its workers go with it
        )


def _wait_ready(server: Server, probe: str, deadline: float) -> None:
    """Until ``probe`` answers 200 (or the process dies, or the deadline passes)."""
    assert server.proc is not None
    last = ""
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise HarnessError(f"exited with {server.proc.returncode}: {_log_tail(server)}")
        try:
            status, _headers, _body = _get(server.port, probe, timeout=2.0)
        except OSError as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            if status == 200:
                return
            last = f"status {status}"
        time.sleep(0.05)
    raise HarnessError(f"not ready after {START_TIMEOUT_S:g} s ({last}): {_log_tail(server)}")


def _stop(server: Server) -> None:
    proc = server.proc
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the group this harness started
        proc.wait(timeout=STOP_TIMEOUT_S)


@contextlib.contextmanager
def _running(
    servers: Sequence[Server], probe: str, env_extra: dict[str, str], log: Log
) -> Iterator[None]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _SERVER_ENV_DROP and not k.startswith("UVICORN_")
    }
    env.update(env_extra)
    try:
        for server in servers:
            if not server.problem:
                _start(server, env)
        deadline = time.monotonic() + START_TIMEOUT_S
        for server in servers:
            if server.proc is None:
                continue
            try:
                _wait_ready(server, probe, deadline)
            except HarnessError as exc:
                server.problem = f"error: did not start: {exc}"
                log(f"  {server.name}: {server.problem}")
            else:
                log(f"  {server.name}: pid {server.proc.pid}, port {server.port}")
        yield
    finally:
        for server in servers:
            _stop(server)


# -- the untimed correctness pass ------------------------------------------------------------


def _get(
    port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 10.0
) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


class _Client:
    """One keep-alive connection (reopened when the server closes it)."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection(HOST, port, timeout=10.0)

    def get(
        self, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        self.conn.request("GET", path, headers=headers or {})
        resp = self.conn.getresponse()
        body = resp.read()
        if resp.will_close:
            self.conn.close()
        return resp.status, resp.headers, body

    def close(self) -> None:
        self.conn.close()


def _verify(server: Server, store: ServeStore, etag_keys: Sequence[Key]) -> None:
    """200s with the right bytes, an ETag per file, and a 304 to it; warms the page cache."""
    client = _Client(server.port)
    try:
        for key in store.small[:16]:
            status, headers, body = client.get(key.url_path)
            if status != 200 or len(body) != store.size_of(key):
                server.problem = (
                    f"GET {key.url_path}: {status}, {len(body)} bytes "
                    f"(want 200, {store.size_of(key)})"
                )
                return
        server.info["headers_200"] = list(headers.items())
        for key in etag_keys:
            status, headers, _body = client.get(key.url_path)
            etag = headers.get("ETag")
            if status != 200 or not etag:
                server.failed["304"] = f"GET {key.url_path}: {status}, ETag {etag!r}"
                return
            server.etags[key.url_path] = etag
        key = etag_keys[0]
        status, headers, body = client.get(
            key.url_path, {"If-None-Match": server.etags[key.url_path]}
        )
        server.info["headers_304"] = list(headers.items())
        if status != 304 or body:
            server.failed["304"] = f"answers {status} ({len(body)} bytes) to its own ETag"
    finally:
        client.close()


# -- wrk -------------------------------------------------------------------------------------


def _wrk(server: Server, list_file: Path, seconds: int, connections: int) -> dict[str, Any]:
    argv = [
        shutil.which("wrk") or "wrk", "-t", str(WRK_THREADS), "-c", str(connections),
        "-d", f"{seconds}s", "--timeout", "5s", "-s", str(WRK_SCRIPT),
        f"http://{HOST}:{server.port}/", "--", str(list_file),
    ]  # fmt: skip
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=seconds + 30, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise HarnessError(f"wrk did not finish in {seconds + 30} s") from exc
    for line in proc.stdout.splitlines():
        if line.startswith("WRK-RESULT "):
            result: dict[str, Any] = json.loads(line.removeprefix("WRK-RESULT "))
            return result
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
    raise HarnessError(f"wrk exited with {proc.returncode}: {tail[0]}")


def _check(
    result: dict[str, Any], expected: int, body_range: tuple[int, int], server: Server
) -> None:
    """Every response had the expected status, and bodies are as long as the files."""
    n = int(result["requests"])
    statuses = {int(k): int(v) for k, v in result["statuses"].items()}
    if n == 0:
        raise HarnessError(f"no response in the run; {_describe_errors(result)}")
    if statuses != {expected: n}:
        raise HarnessError(f"statuses {statuses}, want {{{expected}: {n}}}")
    low, high = body_range
    body = int(result["body_bytes"])
    if not low * n <= body <= high * n:
        raise HarnessError(f"{body / n:,.0f} body bytes per response, want {low:,}..{high:,}")
    if server.proc is not None and server.proc.poll() is not None:
        raise HarnessError(f"the server exited ({server.proc.returncode}): {_log_tail(server)}")


def _describe_errors(result: dict[str, Any]) -> str:
    errors = {k: v for k, v in result["errors"].items() if v}
    return ", ".join(f"{v} {k}" for k, v in errors.items()) or "no socket errors"


def _runner(
    server: Server,
    scenario: str,
    list_file: Path,
    expected: int,
    body_range: tuple[int, int],
) -> Callable[[int, int], float]:
    """``run(connections, seconds)``: one wrk run; returns requests/s (NaN once the server has
    failed this scenario)."""

    def run(connections: int, seconds: int) -> float:
        if scenario in server.failed:
            return math.nan
        try:
            result = _wrk(server, list_file, seconds, connections)
            _check(result, expected, body_range, server)
        except (HarnessError, OSError, ValueError) as exc:
            server.failed[scenario] = f"error: {exc}"
            return math.nan
        server.runs.setdefault(scenario, []).append(result)
        return float(result["requests"]) * 1e6 / float(result["duration_us"])

    return run


# -- the section -----------------------------------------------------------------------------


def _skipped(reason: str) -> tuple[list[Row], dict[str, Any]]:
    rows = [
        Row(
            SECTION,
            scenario,
            name,
            "throughput",
            "req/s",
            target=f">= {TARGET:g}x",
            verdict="n/a",
            note=f"section skipped: {reason}",
        )
        for scenario in ("small 200", "304")
        for name in ("starlette@uvicorn", "werkzeug@gunicorn")
    ]
    return rows, {SECTION: {"skipped": reason}}


def _uvicorn_defaults() -> dict[str, str]:
    def pick(module: str, fallback: str) -> str:
        return (
            module if importlib.util.find_spec(module) else f"{fallback} ({module} not installed)"
        )

    return {"loop": pick("uvloop", "asyncio"), "http": pick("httptools", "h11")}


def run(settings: Settings, log: Log) -> tuple[list[Row], dict[str, Any]]:
    missing = missing_tools()
    if missing:
        reason = f"{' and '.join(missing)} not on PATH; {INSTALL_HINT}"
        log(f"e2e: section skipped: {reason}")
        return _skipped(reason)
    log(f"e2e: store of {settings.n_small} small + {settings.n_large} large JPEGs")
    store = ensure_serve_store(settings.data_dir, settings.n_small, settings.n_large)
    rng = random.Random(8080)
    order = list(store.small)
    rng.shuffle(order)
    etag_keys = order[:N_ETAGS]
    sizes = [store.size_of(k) for k in store.small]
    small_range = (min(sizes), max(sizes))
    env_extra = {STORE_ENV: str(store.root)}

    rows: list[Row] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="imageattach-e2e-") as tmp_name:
        tmp = Path(tmp_name)
        small_list = tmp / "small-200.txt"
        small_list.write_text("".join(f"{k.url_path}\n" for k in order), encoding="utf-8")
        servers = _plan(store, tmp)
        for server in servers:
            if server.problem:
                log(f"  {server.name}: not run: {server.problem}")
        with _running(servers, store.small[0].url_path, env_extra, log):
            for server in servers:
                if not server.measurable:
                    continue
                try:
                    _verify(server, store, etag_keys)
                except (OSError, http.client.HTTPException) as exc:
                    server.problem = f"error: {type(exc).__name__}: {exc}"
                if server.problem:
                    log(f"  {server.name}: not measured: {server.problem}")
                for scenario, why in server.failed.items():
                    log(f"  {server.name}: {scenario} skipped: {why}")
            lists: dict[str, Path] = {}
            for server in servers:
                if server.etags:
                    path = tmp / f"304-{server.name.replace('@', '-')}.txt"
                    path.write_text(
                        "".join(f"{p}\t{e}\n" for p, e in server.etags.items()),
                        encoding="utf-8",
                    )
                    lists[server.name] = path

            def small_for(server: Server) -> Path:
                return small_list

            def not_modified_for(server: Server) -> Path:
                return lists[server.name]

            scenarios: list[tuple[str, int, tuple[int, int], Callable[[Server], Path]]] = [
                ("small 200", 200, small_range, small_for),
                ("304", 304, (0, 0), not_modified_for),
            ]
            for scenario, expected, body_range, list_for in scenarios:
                active = [s for s in servers if s.measurable and scenario not in s.failed]
                if settings.e2e_warmup:
                    log(f"  {scenario}: warm-up, {len(active)} servers x 1 s")
                    for server in active:
                        warm = _runner(server, scenario, list_for(server), expected, body_range)
                        warm(settings.e2e_connections, 1)
                        server.runs.pop(scenario, None)
                    active = [s for s in active if scenario not in s.failed]
                log(
                    f"  {scenario}: {len(active)} servers x {settings.e2e_rounds} rounds "
                    f"x {settings.e2e_seconds} s (wrk -t{WRK_THREADS} "
                    f"-c{settings.e2e_connections})"
                )
                runners: dict[str, Callable[[], float]] = {
                    s.name: partial(
                        _runner(s, scenario, list_for(s), expected, body_range),
                        settings.e2e_connections,
                        settings.e2e_seconds,
                    )
                    for s in active
                }
                samples = interleaved_rounds(runners, settings.e2e_rounds)
                rows += _rows(scenario, servers, samples)
    extra = {
        SECTION: {
            "wrk": {
                "threads": WRK_THREADS,
                "connections": settings.e2e_connections,
                "seconds": settings.e2e_seconds,
                "rounds": settings.e2e_rounds,
                "warmup": settings.e2e_warmup,
            },
            "versions": _tool_versions(),
            "uvicorn_defaults": _uvicorn_defaults(),
            "elapsed_s": round(time.monotonic() - started, 1),
            "servers": {
                s.name: {
                    "argv": s.argv,
                    "problem": s.problem,
                    "failed": s.failed,
                    "runs": s.runs,
                    **s.info,
                }
                for s in servers
            },
        }
    }
    return rows, extra


def _rows(scenario: str, servers: Sequence[Server], samples: dict[str, list[float]]) -> list[Row]:
    good = {
        name: values
        for name, values in samples.items()
        if values and not any(math.isnan(v) for v in values)
    }
    ours_of = {s.group: s.name for s in servers if s.competitor == OURS}
    rows = []
    for server in servers:
        row = Row(SECTION, scenario, server.name, "throughput", "req/s")
        is_rival = server.competitor not in (OURS, NGINX, FLOOR)
        if is_rival:
            row.target = f">= {TARGET:g}x"
        values = good.get(server.name)
        if values is None:
            row.note = server.failed.get(scenario) or server.problem or "not measured"
            if row.target:
                row.verdict = "n/a"
            rows.append(row)
            continue
        row.samples = values
        row.value = median(values)
        notes = []
        ours = good.get(ours_of.get(server.group, ""))
        if (is_rival or server.competitor == FLOOR) and ours is not None:
            row.set_ratio(ours)
            if is_rival:
                row.verdict = judge(row.ratio, TARGET)
        elif is_rival:
            row.verdict = "n/a"
        nginx = good.get(NGINX)
        if server.competitor == NGINX:
            notes.append("the ceiling")
        elif nginx is not None:
            share = paired_ratio(values, nginx)
            if share is not None:
                notes.append(f"{share:.2f}x nginx")
        if server.competitor == FLOOR:
            notes.append(_floor_note(server, servers, values, good))
        errors = [_describe_errors(r) for r in server.runs.get(scenario, [])]
        socket_errors = [e for e in errors if e != "no socket errors"]
        if socket_errors:
            notes.append(f"socket errors: {'; '.join(socket_errors)}")
        row.note = ", ".join(notes)
        rows.append(row)
    return rows


def _floor_note(
    floor: Server, servers: Sequence[Server], values: list[float], good: dict[str, list[float]]
) -> str:
    """What the floor row means, and its ratio to the same server's competitor."""
    note = "a bare app: the most any middleware can be under this server"
    rival = next(
        (
            s
            for s in servers
            if s.group == floor.group and s.competitor not in (OURS, NGINX, FLOOR)
        ),
        None,
    )
    theirs = good.get(rival.name) if rival is not None else None
    if rival is None or theirs is None:
        return note
    bound = paired_ratio(values, theirs)
    return note if bound is None else f"{note}; {bound:.2f}x {rival.name}"


def _tool_versions() -> dict[str, str]:
    out = {}
    for tool, args in (("wrk", ["-v"]), ("nginx", ["-v"])):
        path = shutil.which(tool)
        if path is None:
            continue
        try:
            proc = subprocess.run(
                [path, *args], capture_output=True, text=True, timeout=5, check=False
            )
        except (OSError, subprocess.SubprocessError):
            continue
        text = (proc.stdout + proc.stderr).strip().splitlines()
        out[tool] = text[0] if text else ""
    return out
