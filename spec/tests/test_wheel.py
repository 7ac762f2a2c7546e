"""The plugin from its built wheel, in a fresh virtual environment.

Installed from a wheel, a plugin inside a PEP 420 namespace package gets no
assertion rewriting unless it asks for it; an editable install hides that.  So
this test builds the wheels of imageattach-core, imageattach-wsgi and
imageattach-spec (``python -m build --wheel``, in a build venv holding hatchling
and setuptools: one build environment instead of three), installs them and their dependencies
from the index into a new venv, and runs the suites there: a failing suite
assertion must show the values it compared.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("packages/core", "packages/wsgi", "spec")

SUITE_MODULE = """
import pytest

import imageattach.spec
from imageattach.spec import ServingSuite, StoreSuite
from imageattach.core import FileSystemStore
from imageattach.wsgi import StaticServerMiddleware


def test_installed_from_the_wheel():
    assert "site-packages" in imageattach.spec.__file__


def test_the_compiled_check_is_used():
    import sys
    from imageattach.core import _confined

    if sys.platform.startswith("linux"):
        import imageattach.core._speedups as speedups

        assert "site-packages" in speedups.__file__
        assert _confined._SAME_FILE is speedups.same_file


class TestReal(ServingSuite):
    @pytest.fixture
    def make_server(self):
        return StaticServerMiddleware


class TestStore(StoreSuite):
    @pytest.fixture
    def store(self, tmp_path):
        return FileSystemStore(tmp_path, "https://images.example/")


class TestNoETag(ServingSuite):
    @pytest.fixture
    def make_server(self):
        def factory(app, url_path, dir_path, **kwargs):
            real = StaticServerMiddleware(app, url_path, dir_path, **kwargs)

            def wrapped(environ, start_response):
                def start(status, headers, exc_info=None):
                    kept = [(k, v) for k, v in headers if k != "ETag"]
                    return start_response(status, kept, exc_info)

                return real(environ, start)

            return wrapped

        return factory
"""


def _run(*args: str | Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _venv(path: Path, env: dict[str, str], *requirements: str | Path) -> Path:
    created = _run(sys.executable, "-m", "venv", path, cwd=path.parent, env=env)
    assert created.returncode == 0, created.stderr
    python = path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    installed = _run(
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        *requirements,
        cwd=path.parent,
        env=env,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return python


def test_suite_from_built_wheels(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "PYTEST", "VIRTUAL_ENV", "COV_CORE"))
    }
    builder = _venv(
        tmp_path / "build-venv", env, "build>=1.2", "hatchling>=1.27", "setuptools>=70"
    )
    dist = tmp_path / "dist"
    for package in PACKAGES:
        built = _run(
            builder,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            dist,
            REPO / package,
            cwd=tmp_path,
            env=env,
        )
        assert built.returncode == 0, built.stdout + built.stderr
    wheels = sorted(dist.glob("*.whl"))
    assert len(wheels) == 3
    for wheel in wheels:
        names = zipfile.ZipFile(wheel).namelist()
        assert "imageattach/__init__.py" not in names, f"{wheel.name} breaks the namespace"
        assert not any(name.endswith(".c") for name in names), wheel.name
    core = next(wheel for wheel in wheels if wheel.name.startswith("imageattach_core-"))
    compiled = [n for n in zipfile.ZipFile(core).namelist() if "/_speedups." in n]
    if sys.platform.startswith("linux"):  # built where the hook builds it, and tagged so
        assert "imageattach/core/_speedups.pyi" in compiled, compiled
        assert any(name.endswith(".so") for name in compiled), compiled
        assert "-py3-none-any" not in core.name, core.name

    python = _venv(tmp_path / "venv", env, *wheels)

    work = tmp_path / "work"
    work.mkdir()
    (work / "test_installed.py").write_text(SUITE_MODULE, encoding="utf-8")
    ran = _run(
        python,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--strict-markers",
        "-W",
        "error",
        "-rf",
        "-vv",
        cwd=work,
        env=env,
    )
    out = ran.stdout
    assert "imageattach-spec: SPEC.md version 2" in out, out
    assert "SPEC rules failed: 2.3, 3.3, 4.5, 9.5, 9.6, 10.1, 10.3" in out, out
    # The failing assertion inside imageattach/spec/_serving.py was rewritten:
    assert "assert [] == ['\"" in out, out
    assert "[SPEC 3.3]" in out, out
    summary = out.strip().splitlines()[-1]
    assert " 70 failed, " in summary, summary
    assert " passed" in summary, summary
    assert " error" not in summary, summary
