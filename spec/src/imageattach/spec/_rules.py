"""The rules of ``spec/SPEC.md``, by number, as the suite names them.

A test says which rule it checks with ``@pytest.mark.spec_rule("2.3")``; the plugin
prints ``SPEC 2.3: <title>`` beside a failure.  A section number alone (``"4"``)
names the rules written in the section's preamble.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

__all__ = ["RULES", "SPEC_VERSION", "rule_title"]

#: The version of SPEC.md this suite checks.
SPEC_VERSION: Final = 2

RULES: Final = MappingProxyType(
    {
        "1.1": "a request outside the mount reaches the wrapped application unchanged",
        "1.2": "any other method under the mount (OPTIONS too with CORS off) is 405 with Allow",
        "1.3": "HEAD has the status and headers of GET without Range, no body, and reads no file",
        "1.4": "the query string plays no part in choosing the file",
        "2.1": "unsafe paths are 404 before any filesystem call",
        "2.2": "the path is percent-decoded once only",
        "2.3": "a symbolic link is followed only to a file inside the root",
        "2.4": "only regular files are served, and checking never blocks",
        "2.5": "a file that cannot be opened is 404, never 500",
        "2.6": "a 404 or 405 has a short fixed text/plain body and Cache-Control: no-store",
        "2.7": "with follow_symlinks=False, a path through any symbolic link is 404",
        "3.1": "Content-Type comes from the built-in table",
        "3.2": "Content-Length, headers and body come from one open file",
        "3.3": 'ETag is "<mtime_ns hex>-<size hex>"',
        "3.4": "Last-Modified is an IMF-fixdate, never in the future",
        "3.5": "every response carries X-Content-Type-Options: nosniff",
        "3.6": "an SVG carries the sandboxing Content-Security-Policy",
        "3.7": "no header carries a filesystem path or the request's Host",
        "3.8": "file responses carry the Cache-Control policy; a _ts URL is immutable",
        "3.9": "no response carries Vary",
        "3.10": "every full 200 and every 206 carries Accept-Ranges: bytes",
        "3.11": "with svg_as_attachment=True, an SVG carries Content-Disposition: attachment",
        "4": "preconditions apply to existing regular files, in RFC 9110 order",
        "4.1": "If-Match uses strong comparison; a mismatch is 412",
        "4.2": "If-Unmodified-Since, without If-Match, can give 412",
        "4.3": "If-None-Match uses weak comparison; a match is 304",
        "4.4": "If-Modified-Since, without If-None-Match, can give 304",
        "4.5": "a 304 has ETag, Cache-Control, CORS and nosniff, and no body; a 412 a text body",
        "4.6": "any header value is handled in linear time, never 500",
        "5.1": "with CORS off, no Access-Control-* header",
        "5.2": "with CORS on, file responses and 416 allow any origin and expose headers",
        "5.3": "with CORS on, a preflight under the mount is 204 with fixed lists",
        "5.4": "with CORS on, another OPTIONS is 204 with Allow; with CORS off it is 405",
        "6.1": "the body is sent in blocks of at most the block size, or by the file wrapper",
        "6.2": "the open file is closed however the response ends",
        "7.1": "URLs built during a request use its scheme, host and script name",
        "7.2": "the host URL belongs to one request only",
        "7.3": "a host_url_getter wins over the request's Host",
        "7.4": "an untrusted Host records no host URL",
        "8.1": "put_file then get_file gives back the same bytes",
        "8.2": "get_file of a missing key raises FileNotFoundError",
        "8.3": "delete_file removes the file; deleting a missing key is silent",
        "8.4": "get_url is a pure function of the key",
        "8.5": "locate() is get_url() plus _ts=<created_at>",
        "8.6": "a bad key raises ValueError before any file is touched",
        "8.7": "put_file replaces a file as a whole",
        "9.1": "Range is considered only for a GET whose preconditions left a 200",
        "9.2": "a Range out of the grammar or of another unit is ignored, never 400 or 500",
        "9.3": "Range parsing is linear; a huge number is huge; over 16 ranges are ignored",
        "9.4": "no satisfiable range is 416 with Content-Range: bytes */N",
        "9.5": "one range is a 206 of exactly its bytes, with the 200's headers",
        "9.6": "ranges are coalesced; several are multipart, never larger than the file",
        "9.7": "If-Range honours Range only on a strong ETag match or the exact Last-Modified",
        "9.8": "a range is read at its offset, never by reading the bytes before it",
        "10.1": "a path that gave 404 is served as soon as a file appears there",
        "10.2": "a file deleted after it was served is 404, never 500",
        "10.3": "a file replaced after it was served is answered from the new file",
        "10.4": "what the server keeps is bounded; missing paths leave memory flat",
        "10.5": "a replaced root is served from within a second; nothing only in the old one",
    }
)


def rule_title(rule: str) -> str:
    """Return the one-line title of ``rule``, or ``''`` for a number SPEC.md lacks."""
    return RULES.get(rule, "")
