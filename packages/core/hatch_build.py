"""Build hook: compile the optional C module ``imageattach.core._speedups``.

Where it builds (Linux, with a C compiler and the Python headers), the wheel
carries it and is tagged for the interpreter and platform; where it does not,
the wheel is the pure-Python one, and the engine checks files with
:func:`os.stat` instead (the same answers, about 1 us slower per 304).

- ``IMAGEATTACH_NO_EXTENSIONS=1`` builds the pure-Python wheel on purpose.
- ``IMAGEATTACH_REQUIRE_EXTENSIONS=1`` makes a failed compile fail the build
  (CI sets it, so that a broken module cannot pass unnoticed as a fallback).

setuptools drives the compiler: it knows each platform's flags for a Python
extension, which this hook would otherwise repeat by hand.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

MODULE = "imageattach.core._speedups"
SOURCE = "src/imageattach/core/_speedups.c"
PACKAGE_DIR = "src/imageattach/core"


class SpeedupsBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        editable = version == "editable"
        if editable:
            # A module left by an earlier editable build would shadow this build's
            # choice: the source tree holds it only if this build makes it.
            for stale in Path(self.root, PACKAGE_DIR).glob("_speedups.*.so"):
                stale.unlink()
        if os.environ.get("IMAGEATTACH_NO_EXTENSIONS"):
            self.app.display_info("imageattach-core: IMAGEATTACH_NO_EXTENSIONS set, pure Python")
            return
        required = bool(os.environ.get("IMAGEATTACH_REQUIRE_EXTENSIONS"))
        if not sys.platform.startswith("linux"):
            # Written for Linux's struct stat and tested there only.
            if required:
                raise RuntimeError(f"imageattach-core: no C module on {sys.platform}")
            return
        self._workdir = tempfile.mkdtemp(prefix="imageattach-build-")
        try:
            built = self._compile(Path(self._workdir))
        except Exception as exc:
            if required:
                raise
            self.app.display_warning(
                f"imageattach-core: the optional C module was not built ({exc}); "
                "the wheel is pure Python"
            )
            return
        if editable:
            shutil.copy2(built, Path(self.root, PACKAGE_DIR, built.name))
        else:
            build_data["force_include"][str(built)] = f"imageattach/core/{built.name}"
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        workdir = getattr(self, "_workdir", None)
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)

    def _compile(self, workdir: Path) -> Path:
        from setuptools import Distribution, Extension  # noqa: PLC0415 - only when building
        from setuptools.command.build_ext import build_ext  # noqa: PLC0415

        flags = ["-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"]
        extension = Extension(MODULE, [SOURCE], extra_compile_args=flags)
        command = build_ext(Distribution({"name": "imageattach-core", "ext_modules": [extension]}))
        command.build_lib = str(workdir / "lib")
        command.build_temp = str(workdir / "temp")
        # The source path is relative to the project (contextlib.chdir is 3.11+).
        previous = os.getcwd()
        os.chdir(self.root)
        try:
            command.ensure_finalized()
            command.run()
            return Path(command.get_ext_fullpath(MODULE)).resolve()
        finally:
            os.chdir(previous)
