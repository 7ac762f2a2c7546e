"""The README's entity walkthrough runs as written, against a real SQLite file and folder."""

from __future__ import annotations

import io
import re
import sys
import types
from pathlib import Path

import pytest
from PIL import Image as PILImage

README = Path(__file__).resolve().parent.parent / "README.md"


def walkthrough() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Attaching images to entities", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_the_walkthrough_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, color in (("ann.jpg", (200, 40, 40)), ("ann-2026.jpg", (40, 200, 40))):
        buffer = io.BytesIO()
        PILImage.new("RGB", (400, 300), color).save(buffer, "JPEG")
        (tmp_path / name).write_bytes(buffer.getvalue())
    blocks = walkthrough()
    assert len(blocks) >= 7
    module = types.ModuleType("readme_walkthrough")  # SQLAlchemy resolves annotations in it
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace = module.__dict__
    try:
        for block in blocks:
            # dont_inherit: the blocks run as a user's module would, without this file's
            # ``from __future__ import annotations``
            code = compile(block, "README.md", "exec", dont_inherit=True)
            exec(code, namespace)
    finally:
        engine = namespace.get("engine")
        if engine is not None:
            engine.dispose()  # type: ignore[attr-defined]
    printed = capsys.readouterr().out.splitlines()
    assert re.fullmatch(
        r"https://images\.example\.com/user-picture/1/0/1\.100x75\.jpe\?_ts=\d{20}", printed[0]
    )
    assert re.fullmatch(
        r"\['https://images\.example\.com/product-picture/101/0/101\.400x300\.jpe\?_ts=\d{20}'\]",
        printed[1],
    )
    # ann was deleted with her files; the product's original and thumbnail remain
    assert sorted(p.name for p in (tmp_path / "images").rglob("*.jpe")) == [
        "101.100x75.jpe",
        "101.400x300.jpe",
    ]
