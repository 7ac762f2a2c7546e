from __future__ import annotations

import pytest

from imageattach.core import UnknownMimetypeError, guess_extension, guess_type


@pytest.mark.parametrize(
    ("mimetype", "extension"),
    [
        ("image/jpeg", ".jpe"),  # the 1.1.0 on-disk name, whatever the host says
        ("image/png", ".png"),
        ("image/gif", ".gif"),
        ("image/webp", ".webp"),
        ("image/avif", ".avif"),
        ("image/svg+xml", ".svg"),
        ("image/bmp", ".bmp"),
        ("image/tiff", ".tiff"),
        ("image/vnd.microsoft.icon", ".ico"),
        ("image/x-icon", ".ico"),
        ("image/heic", ".heic"),
        ("image/heif", ".heif"),
        ("image/jxl", ".jxl"),
        ("image/apng", ".apng"),
        ("application/pdf", ".pdf"),
        ("IMAGE/JPEG", ".jpe"),
        ("Image/Png; charset=binary", ".png"),
        ("  image/gif ; q=1", ".gif"),
    ],
)
def test_guess_extension(mimetype: str, extension: str) -> None:
    assert guess_extension(mimetype) == extension


@pytest.mark.parametrize(
    "mimetype", ["", "image", "image/", "text/html", "image/x-unknown", ";", "jpeg", 42, None]
)
def test_guess_extension_refuses_unknown(mimetype: object) -> None:
    with pytest.raises(UnknownMimetypeError, match="mimetype must be a known image type") as info:
        guess_extension(mimetype)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)
    assert repr(mimetype) in str(info.value)


def test_guess_extension_ignores_the_host_database(monkeypatch: pytest.MonkeyPatch) -> None:
    import mimetypes

    monkeypatch.setattr(mimetypes, "guess_extension", lambda *a, **k: ".bogus")
    monkeypatch.setattr(mimetypes, "guess_type", lambda *a, **k: ("text/bogus", None))
    assert guess_extension("image/png") == ".png"
    assert guess_type("a.png") == "image/png"


@pytest.mark.parametrize(
    ("filename", "media_type"),
    [
        ("1.10x10.jpe", "image/jpeg"),
        ("a.jpg", "image/jpeg"),
        ("a.JPEG", "image/jpeg"),
        ("a.jfif", "image/jpeg"),
        ("a/b.png", "image/png"),
        ("UP.PNG", "image/png"),
        ("a.svg", "image/svg+xml"),
        ("a.tif", "image/tiff"),
        ("a.ico", "image/vnd.microsoft.icon"),
        ("a.pdf", "application/pdf"),
        ("a.txt", "application/octet-stream"),
        ("noext", "application/octet-stream"),
        ("dir.png/file", "application/octet-stream"),
        ("a.png.exe", "application/octet-stream"),
    ],
)
def test_guess_type(filename: str, media_type: str) -> None:
    assert guess_type(filename) == media_type


def test_every_stored_extension_is_served_as_its_type() -> None:
    from imageattach.core._media_types import EXTENSIONS_BY_TYPE

    for mimetype, extension in EXTENSIONS_BY_TYPE.items():
        served = guess_type("x" + extension)
        assert guess_extension(served) == extension, mimetype
