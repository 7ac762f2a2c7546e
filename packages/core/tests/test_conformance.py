"""The filesystem stores pass the imageattach-spec store suite, run the way a user runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from imageattach.core import FileSystemStore, HttpExposedFileSystemStore
from imageattach.spec import StoreSuite


class TestFileSystemStore(StoreSuite):
    @pytest.fixture
    def store(self, tmp_path: Path) -> FileSystemStore:
        return FileSystemStore(tmp_path, "https://images.example/")


class TestHttpExposedFileSystemStore(StoreSuite):
    @pytest.fixture
    def store(self, tmp_path: Path) -> HttpExposedFileSystemStore:
        return HttpExposedFileSystemStore(tmp_path, host_url_getter=lambda: "https://cdn.example")
