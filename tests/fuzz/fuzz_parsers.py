"""Coverage-guided fuzzing of imageattach's parsers of hostile HTTP input, and of the engine.

Each input drives, from one ``atheris.FuzzedDataProvider``:

- ``parse_ranges(value, size)`` with a fuzzed size (SPEC 9.2-9.6);
- ``matches_strong`` / ``matches_weak`` against a fixed tag and a fuzzed one (SPEC 4.1, 4.3);
- ``parse_http_date`` and ``format_http_date`` (SPEC 4.2, 4.4);
- ``is_safe_path`` (SPEC 2.1);
- ``StaticFiles(root, "/img").decide(method, path, headers)`` over a small tree made in a
  temporary directory: a few files, symbolic links, a FIFO, a dot-file, and secrets outside
  the root (SPEC 2, 3, 4, 6.2, 9).

The invariants: nothing raises; every answer has the shape its rule gives; a decision is
``None`` exactly off the mount, and otherwise has a status in :data:`STATUSES`; no response
ever carries a byte of a file it must not serve (the secrets outside the root, the dot-file),
nor holds such a file open; the bytes of a 200 or 206 are exactly the file's bytes that its
headers name; no file descriptor outlives ``response.close()``.

Run it through hatch (``hatch run fuzz:run [SECONDS] [libFuzzer flags]``): the script runs
itself under libFuzzer for a bounded time and ends with one line, ``fuzz: N inputs in T s,
no failure``, or a failure report and a non-zero exit.  See ``tests/fuzz/README.md``.
"""

from __future__ import annotations

import collections
import inspect
import itertools
import os
import posixpath
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHILD_ENV = "IMAGEATTACH_FUZZ_CHILD"  # set by the driver for the process libFuzzer runs in
TREE_ENV = "IMAGEATTACH_FUZZ_TREE"  # the temporary directory the driver cleans up
DEFAULT_SECONDS = 60

MOUNT = "/img"
#: Every status the engine may answer under the mount: today's, and those ranges add.
STATUSES = frozenset({200, 206, 304, 400, 404, 405, 412, 416})
FIXED_TAG = '"5e0be100-3e8"'
#: Seconds one parser call may take on a fuzzed value (they are linear: milliseconds).
PARSER_BUDGET = float(os.environ.get("FUZZ_PARSER_BUDGET", "1.0"))

# --- the tree ---------------------------------------------------------------------------------

# Served files, by name below the root: (size, mtime in ns).  Contents are seeded, so a saved
# crash input replays against the very same tree and validators.
SERVED = {
    "a.png": (1000, 1_577_836_800_000_000_000),
    "b.svg": (200, 1_577_836_801_123_456_789),
    "empty.png": (0, 1_577_836_802_000_000_000),
    "sub/c.jpg": (300, 1_600_000_000_000_000_000),
    "big.bin": (70_000, 1_600_000_001_000_000_000),  # more than one 64 KiB block
    "\u00e9.png": (81, 1_600_000_002_000_000_000),
    "%2e%2e": (5, 1_600_000_003_000_000_000),  # a literal name (SPEC 2.2)
}
#: Below the root but never served (SPEC 2.1): their bytes must never appear in a response.
HIDDEN = (".hidden.png", "sub/.git/config")
#: Outside the root: likewise.
OUTSIDE = ("secret.txt", "images_secret/x.png", "images/../images_secret/y.png")


class Tree:
    """The files the engine serves, and the ones it must never give a byte of."""

    def __init__(self, base: Path) -> None:
        rng = random.Random(20_240_601)
        self.base = base
        self.root = base / "images"
        self.contents: dict[str, bytes] = {}  # real path -> bytes, for served files
        self.forbidden: list[bytes] = []
        self.forbidden_ids: set[tuple[int, int]] = set()
        self.served_ids: dict[tuple[int, int], bytes] = {}
        (self.root / "sub" / ".git").mkdir(parents=True)
        (base / "images_secret").mkdir()
        for name, (size, mtime_ns) in SERVED.items():
            path = self.root / name
            data = rng.randbytes(size)
            path.write_bytes(data)
            os.utime(path, ns=(mtime_ns, mtime_ns))
            self.contents[os.path.realpath(path)] = data
            st = path.stat()
            self.served_ids[(st.st_dev, st.st_ino)] = data
        for name in HIDDEN + OUTSIDE:
            path = Path(os.path.normpath(self.root / name if name in HIDDEN else base / name))
            data = b"SECRET " + name.encode() + b" " + rng.randbytes(48).hex().encode()
            path.write_bytes(data)
            self.forbidden.append(data)
            st = path.stat()
            self.forbidden_ids.add((st.st_dev, st.st_ino))
        links = {
            "in.png": "a.png",  # inside: served (it is a.png)
            "out.png": "../secret.txt",  # SPEC 2.3: outside, so 404
            "outdir": "../images_secret",
            "sub/up.png": "../../secret.txt",
            "abs.png": str(base / "secret.txt"),
            "loop.png": "loop.png",
            "dangling.png": "nothing-here.png",
        }
        for name, target in links.items():
            (self.root / name).symlink_to(target)
        if hasattr(os, "mkfifo"):
            os.mkfifo(self.root / "pipe.png")  # SPEC 2.4: never blocks
        self.names = [
            *SERVED,
            *HIDDEN,
            *links,
            "pipe.png",
            "sub",
            "missing.png",
            "../secret.txt",
            "../images_secret/x.png",
            "sub/../a.png",
            "./a.png",
            "a.png/",
            "A.PNG",
            "a.png.",
            "a.png::$DATA",
            "..%2fsecret.txt",
            "\udcff.png",
        ]


# --- text from fuzzed bytes ---------------------------------------------------------------

TOKENS = [
    "bytes=", "BYTES=", "bytes", "=", ",", ", ", " ,", " ", "\t", "-", "0", "1", "5", "9", "79",
    "80", "81", "999", "1000", "69999", "70000", "00000000000000000000", "9999999999999999999",
    "W/", '"', '""', '"x"', "*", FIXED_TAG, "GMT", " GMT", "Sun, 06 Nov 1994 08:49:37 GMT",
    "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "Mon", "Monday", "Jan",
    "Feb", "29", "31", "60", ":", "/", ".", "..", "\\", "\x00", "\x7f", "\r\n", "\n", "CON",
    "com1", "lpt\u00b9", "nul.png", "a.png", "sub", "\u00e9", "\udcff", "\u00b2", "\u0663",
    "\U0001f600", "%2e%2e", "::$DATA", "\u00a0", "\u017f", "_ts=", "20200101000000000000",
]  # fmt: skip


class Text:
    """Strings of every kind a server may hand the engine, from a FuzzedDataProvider."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens

    def __call__(self, fdp: Any, limit: int = 300, *, long: bool = True) -> str:
        mode = fdp.ConsumeIntInRange(0, 5 if long else 4)
        if mode == 0:  # a WSGI header value: bytes as Latin-1
            return str(fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, limit)).decode("latin-1"))
        if mode == 1:  # a path decoded as UTF-8, bad bytes as lone surrogates
            raw = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, limit))
            return str(raw.decode("utf-8", "surrogateescape"))
        if mode == 2:  # any code points at all
            return str(fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, limit)))
        if mode == 5:  # something long: a short text repeated, to 256 Ki characters
            unit = self(fdp, 16, long=False) or ","
            repeat: int = fdp.ConsumeIntInRange(1, 20_000)
            return unit * min(repeat, (1 << 18) // len(unit))
        count = fdp.ConsumeIntInRange(0, 24)
        return "".join(fdp.PickValueInList(self.tokens) for _ in range(count))


def timed(function: Callable[..., Any], *args: Any) -> Any:
    started = time.perf_counter()
    result = function(*args)
    elapsed = time.perf_counter() - started
    assert elapsed < PARSER_BUDGET, f"{function.__name__} took {elapsed:.3f} s"
    return result


# --- the target ---------------------------------------------------------------------------


class Target:
    """One fuzz input: every parser and one engine decision, with their invariants."""

    def __init__(self, base: Path) -> None:
        from imageattach.core import (
            StaticFiles,
            _ranges,
            format_http_date,
            is_safe_path,
            parse_http_date,
        )
        from imageattach.core._etags import matches_strong, matches_weak

        self.tree = Tree(base)
        self.ranges = _ranges
        self.matches_strong = matches_strong
        self.matches_weak = matches_weak
        self.parse_http_date = parse_http_date
        self.format_http_date = format_http_date
        self.is_safe_path = is_safe_path
        self.engines = [
            StaticFiles(self.tree.root, MOUNT),
            StaticFiles(self.tree.root, MOUNT, cors=True),
        ]
        parameters = inspect.signature(self.engines[0].decide).parameters
        self.takes_query = "query" in parameters
        # Validators the fuzzer could never guess: the real ETags and dates, as tokens.
        validators: list[str] = []
        for name in SERVED:
            for engine in self.engines:  # also opens what an engine keeps open (its root)
                response = engine.decide("HEAD", f"{MOUNT}/{name}", {})
                assert response is not None
                assert response.status == 200, (name, response.status)
                fields = dict(response.headers)
                response.close()
            validators += [fields["ETag"], "W/" + fields["ETag"], fields["Last-Modified"]]
        self.validators = validators
        self.text = Text(TOKENS + validators)
        self.fd_dir = "/proc/self/fd" if os.path.isdir("/proc/self/fd") else None
        self.real_root = os.path.realpath(self.tree.root)

    def __call__(self, data: bytes) -> None:
        import atheris

        fdp = atheris.FuzzedDataProvider(data)
        engine_first = fdp.ConsumeBool()  # so that either gets the input's bytes first
        if engine_first:
            self.check_engine(fdp)
        self.check_ranges(fdp)
        self.check_etags(fdp)
        self.check_dates(fdp)
        self.check_path(fdp)
        if not engine_first:
            self.check_engine(fdp)

    # --- the parsers ----------------------------------------------------------------------

    def check_ranges(self, fdp: Any) -> None:
        r = self.ranges
        if fdp.ConsumeBool():
            size = fdp.PickValueInList([0, 1, 2, 79, 80, 81, 161, 1000, 65536, 10**18 - 1])
        else:
            size = fdp.ConsumeIntInRange(0, 10**18 - 1)
        value = self.text(fdp)
        plan = timed(r.parse_ranges, value, size)
        if plan is None or plan is r.UNSATISFIABLE:
            return
        assert type(plan) is tuple, repr(plan)
        assert 1 <= len(plan) <= r.MAX_RANGES, plan
        for part in plan:
            assert type(part) is r.ByteRange, plan
            assert 0 <= part.start <= part.end < size, (plan, size)
        for previous, current in itertools.pairwise(plan):  # sorted, coalesced (SPEC 9.6)
            assert current.start - previous.end - 1 >= r.COALESCE_GAP, plan
        assert sum(part.length for part in plan) <= size
        again = r.parse_ranges("bytes=" + ",".join(f"{p.start}-{p.end}" for p in plan), size)
        assert again == plan, (value, plan, again)

    def check_etags(self, fdp: Any) -> None:
        header = self.text(fdp)
        if fdp.ConsumeBool():
            tag = '"' + self.text(fdp, 20).replace('"', "") + '"'
        else:
            tag = self.text(fdp, 40)
        for etag in (FIXED_TAG, tag):
            strong = timed(self.matches_strong, header, etag)
            weak = timed(self.matches_weak, header, etag)
            assert type(strong) is bool
            assert type(weak) is bool
            assert weak or not strong, (header, etag)  # strong comparison is the stricter
        if header.strip(" \t") == "*":
            assert self.matches_strong(header, FIXED_TAG)
            assert self.matches_weak(header, FIXED_TAG)

    def check_dates(self, fdp: Any) -> None:
        value = self.text(fdp, 80)
        parsed = timed(self.parse_http_date, value)
        assert parsed is None or type(parsed) is int, repr(parsed)
        if parsed is not None and 0 <= parsed <= 253_402_300_799:
            assert self.parse_http_date(self.format_http_date(parsed)) == parsed, value
        moment = fdp.ConsumeIntInRange(0, 253_402_300_799)  # to 9999-12-31 23:59:59
        formatted = self.format_http_date(moment)
        assert len(formatted) == 29, formatted
        assert formatted.endswith(" GMT"), formatted
        assert self.parse_http_date(formatted) == moment, formatted

    def check_path(self, fdp: Any) -> None:
        path = self.text(fdp)
        safe = timed(self.is_safe_path, path)
        assert type(safe) is bool
        assert safe is spec_safe_path(path), (path, safe)
        if safe:
            joined = posixpath.normpath(posixpath.join("/root", path))
            assert joined.startswith("/root/"), path

    # --- the engine -----------------------------------------------------------------------

    def check_engine(self, fdp: Any) -> None:
        files = self.engines[fdp.ConsumeIntInRange(0, 1)]
        choice = fdp.ConsumeIntInRange(0, 9)
        if choice < 7:
            method = ["GET", "GET", "GET", "HEAD", "HEAD", "POST", "OPTIONS"][choice]
        else:
            method = self.text(fdp, 12)
        kind = fdp.ConsumeIntInRange(0, 4)
        if kind <= 1:
            path = f"{MOUNT}/" + fdp.PickValueInList(self.tree.names)
        elif kind == 2:
            path = f"{MOUNT}/" + self.text(fdp)
        elif kind == 3:
            path = fdp.PickValueInList(self.tree.names) + self.text(fdp, 20)
        else:
            path = self.text(fdp)
        headers: dict[str, str] = {}
        if fdp.ConsumeIntInRange(0, 2) > 0:
            structured = fdp.ConsumeBool()
            headers["range"] = self.range_value(fdp) if structured else self.header_value(fdp)
        for name in (
            "if-range", "if-match", "if-none-match", "if-modified-since",
            "if-unmodified-since", "origin", "access-control-request-method",
        ):  # fmt: skip
            if fdp.ConsumeIntInRange(0, 3) == 3:  # 0, what an exhausted input gives: absent
                headers[name] = self.header_value(fdp)
        query = self.text(fdp, 40) if self.takes_query and fdp.ConsumeBool() else None
        before = self.open_fds()
        if query is None:
            response = files.decide(method, path, headers)
        else:
            response = files.decide(method, path, headers, query)
        if not path.startswith(MOUNT + "/"):
            assert response is None, (method, path)  # SPEC 1.1
            return
        assert response is not None, (method, path)
        try:
            self.check_response(files.cors, method, path, headers, response)
        finally:
            response.close()
        left = {fd: self.fd_target(fd) for fd in self.open_fds() - before}
        # an engine may keep a descriptor of the root itself (openat2's dirfd), never a file
        left = {fd: target for fd, target in left.items() if target != self.real_root}
        assert not left, f"descriptors left open: {left}"

    def header_value(self, fdp: Any) -> str:
        kind = fdp.ConsumeIntInRange(0, 3)
        if kind == 0:
            return str(fdp.PickValueInList(self.validators))
        if kind == 1:  # a real validator in a list, with fuzzed neighbours
            validator: str = fdp.PickValueInList(self.validators)
            return self.text(fdp, 40) + validator + self.text(fdp, 40)
        if kind == 2:
            return self.range_value(fdp)
        return self.text(fdp)

    def range_value(self, fdp: Any) -> str:
        """A well-formed Range, mostly: one to twenty specs near the sizes of the files."""
        specs = []
        for _ in range(fdp.ConsumeIntInRange(1, 20)):
            first = fdp.ConsumeIntInRange(0, fdp.PickValueInList([1200, 71_000]))
            last = first + fdp.ConsumeIntInRange(0, 300)
            specs.append(fdp.PickValueInList([f"{first}-{last}", f"{first}-", f"-{last}"]))
        tail = self.text(fdp, 20) if fdp.ConsumeIntInRange(0, 3) == 0 else ""
        return "bytes=" + ",".join(specs) + tail

    def check_response(
        self, cors: bool, method: str, path: str, headers: dict[str, str], response: Any
    ) -> None:
        status = response.status
        allowed = STATUSES | ({204} if cors and method == "OPTIONS" else set())
        assert status in allowed, (method, path, headers, status)
        assert isinstance(response.status_line, str)
        fields: dict[str, str] = {}
        for name, value in response.headers:
            assert type(name) is str, name
            assert type(value) is str, (name, value)
            # a value from the request echoed raw would split the response (SPEC 3.7)
            assert not any(c in value for c in "\r\n\x00"), (name, value)
            assert value.isprintable() or not value, (name, value)
            fields[name.lower()] = value
        body = response.body
        file_body = not isinstance(body, bytes | bytearray | memoryview)
        if file_body:
            st = os.fstat(body.file.fileno())
            identity = (st.st_dev, st.st_ino)
            assert identity not in self.tree.forbidden_ids, (path, "holds a forbidden file open")
            assert identity in self.tree.served_ids, (path, "holds an unknown file open")
            content = self.tree.served_ids[identity]
            sent = self.read_body(body)
        else:
            content = None
            sent = bytes(body)
        for secret in self.tree.forbidden:
            assert secret not in sent, (method, path, headers, "sent a secret")
            assert secret[:24] not in sent, (method, path, headers, "sent part of a secret")
        if method == "HEAD" or status in (204, 304, 404, 405, 412, 416):
            # SPEC 1.3, 6.2: no file bytes are read, and no file is left open
            assert not file_body, (method, path, status)
        if method == "HEAD":
            assert sent == b"", (path, status)
            return
        if status == 304:
            assert sent == b"", path  # SPEC 4.5
            assert "content-length" not in fields, path
        elif "content-length" in fields:
            assert int(fields["content-length"]) == len(sent), (path, status)  # SPEC 3.2
        if status == 200 and file_body:
            assert sent == content, (path, "200 is not the whole file")
        if status == 206:
            assert content is not None, (path, "206 without the file")
            assert len(sent) <= len(content), (path, "206 larger than the file")  # SPEC 9.6
            assert method == "GET", (path, headers)  # SPEC 9.1
            assert "range" in headers, (path, headers)
            match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", fields.get("content-range", ""))
            if match is not None:  # SPEC 9.5: exactly those bytes
                first, last, size = (int(g) for g in match.groups())
                assert size == len(content), fields["content-range"]
                assert first <= last < size, fields["content-range"]
                assert sent == content[first : last + 1], (path, fields["content-range"])
            else:  # SPEC 9.6: multipart/byteranges, strictly smaller than the file
                assert fields.get("content-type", "").startswith("multipart/byteranges; ")
                assert len(sent) < len(content)
        if status == 416:
            assert re.fullmatch(r"bytes \*/\d+", fields.get("content-range", "")), fields

    @staticmethod
    def read_body(body: Any) -> bytes:
        if hasattr(body, "blocks"):
            return b"".join(body.blocks())
        return os.pread(body.file.fileno(), body.length, body.offset)

    def open_fds(self) -> set[str]:
        return set(os.listdir(self.fd_dir)) if self.fd_dir else set()

    def fd_target(self, fd: str) -> str:
        try:
            return os.readlink(os.path.join(self.fd_dir or "", fd))
        except OSError:
            return "?"


# --- SPEC 2.1 as written, to compare is_safe_path with ------------------------------------

_DEVICES = {"con", "prn", "aux", "nul"} | {
    f"{port}{digit}" for port in ("com", "lpt") for digit in "0123456789\u00b9\u00b2\u00b3"
}
#: is_safe_path refuses the console devices too: stricter than SPEC 2.1.6, and allowed.
_EXTRA_DEVICES = {"conin$", "conout$"}


def spec_safe_path(rest: str) -> bool:
    """SPEC 2.1, rule by rule."""
    segments = rest.split("/")
    try:
        encoded = rest.encode("utf-8")
    except UnicodeEncodeError:
        return False  # 7: not valid UTF-8 (a lone surrogate)
    if not rest or "" in segments:
        return False  # 1
    if any(segment.startswith(".") for segment in segments):
        return False  # 2
    if any(c == "\\" or ord(c) < 0x20 or c == "\x7f" for c in rest):
        return False  # 3
    if any(":" in segment for segment in segments):
        return False  # 4
    if any(segment.endswith((".", " ")) for segment in segments):
        return False  # 5
    if any(s.partition(".")[0].lower() in _DEVICES | _EXTRA_DEVICES for s in segments):
        return False  # 6
    return len(encoded) <= 1024 and all(len(s.encode()) <= 255 for s in segments)  # 8


# --- running: the driver and the libFuzzer process ----------------------------------------


def fuzz_child() -> None:
    """The process libFuzzer runs in: instrument imageattach, build the tree, fuzz."""
    import atheris

    with atheris.instrument_imports(include=["imageattach"]):
        import imageattach.core  # noqa: F401  (instrumented for coverage)

    base = os.environ.get(TREE_ENV) or tempfile.mkdtemp(prefix="imageattach-fuzz-tree-")
    target = Target(Path(base))
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


def _dictionary(path: Path) -> None:
    """TOKENS as a libFuzzer dictionary (-dict=), so mutations insert them whole."""

    def escape(token: str) -> str:
        raw = token.encode("utf-8", "surrogateescape")
        return "".join(chr(b) if 0x20 <= b < 0x7F and b not in b'"\\' else f"\\x{b:02x}"
                       for b in raw)  # fmt: skip

    path.write_text("".join(f'"{escape(token)}"\n' for token in TOKENS))


_MILESTONE = re.compile(r"(INFO: Seed|#\d+\s+(INITED|DONE|pulse)|Done |stat::)")


def drive(argv: list[str]) -> int:
    """Run the target under libFuzzer for a bounded time; print what it did."""
    seconds = int(os.environ.get("FUZZ_SECONDS") or DEFAULT_SECONDS)
    flags: list[str] = []
    inputs: list[str] = []
    for arg in argv:
        if arg.isdigit():
            seconds = int(arg)
        elif arg.startswith("-"):
            flags.append(arg)
        else:
            inputs.append(arg)  # corpus directories, or crash files to replay
    work = Path(tempfile.mkdtemp(prefix="imageattach-fuzz-"))
    try:
        corpus = Path(os.environ.get("FUZZ_CORPUS") or work / "corpus")
        corpus.mkdir(parents=True, exist_ok=True)
        default_artifacts = Path(tempfile.gettempdir()) / "imageattach-fuzz-artifacts"
        artifacts = Path(os.environ.get("FUZZ_ARTIFACTS") or default_artifacts)
        artifacts.mkdir(parents=True, exist_ok=True)
        tree = work / "tree"
        tree.mkdir()
        _dictionary(work / "tokens.dict")
        replay = any(Path(arg).is_file() for arg in inputs)
        command = [
            sys.executable, __file__,
            f"-dict={work / 'tokens.dict'}",
            f"-artifact_prefix={artifacts}{os.sep}",
            "-timeout=20",
            "-rss_limit_mb=2048",
            "-print_final_stats=1",
            *([] if replay else [f"-max_total_time={seconds}"]),
            *flags,
            *(inputs or [str(corpus)]),
        ]  # fmt: skip
        env = dict(os.environ, **{CHILD_ENV: "1", TREE_ENV: str(tree)})
        print(f"fuzz: {'replaying' if replay else f'fuzzing for {seconds} s'}: {command[1:]}")
        sys.stdout.flush()
        started = time.monotonic()
        lines: collections.deque[str] = collections.deque(maxlen=400)  # the end: stats, errors
        with subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            text=True,
            errors="replace",
        ) as process:
            assert process.stdout is not None
            for raw in process.stdout:  # echo the milestones as they come, not every NEW
                line = raw.rstrip("\n")
                lines.append(line)
                if _MILESTONE.match(line):
                    print(line, flush=True)
        output = "\n".join(lines)
        elapsed = time.monotonic() - started
        executed = re.search(r"stat::number_of_executed_units:\s*(\d+)", output)
        done = re.search(r"Done (\d+) runs in (\d+) second", output)
        count = int(executed[1]) if executed else int(done[1]) if done else 0
        took = int(done[2]) if done else round(elapsed)
        if process.returncode != 0 or count == 0:
            print("\n".join(list(lines)[-80:]))
            print(
                f"fuzz: FAILED (exit code {process.returncode}) after {count} inputs in "
                f"{round(elapsed)} s; the failing input is saved under {artifacts}{os.sep}; "
                f"replay it with: hatch run fuzz:run <that file>"
            )
            return 1
        print(f"fuzz: {count} inputs in {took} s, no failure")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if os.environ.get(CHILD_ENV) == "1":
        fuzz_child()
    else:
        sys.exit(drive(sys.argv[1:]))
