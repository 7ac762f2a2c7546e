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
SPEC_VERSION: Final = 1

RULES: Final = MappingProxyType(
    {
        "1.1": "a request outside the mount reaches the wrapped application unchanged",
        "1.2": "any method but GET and HEAD under the mount is 405 with Allow: GET, HEAD",
        "1.3": "HEAD has the status and headers of GET, an empty body, and reads no file",
        "1.4": "the query string plays no part in choosing the file",
        "2.1": "unsafe paths are 404 before any filesystem call",
        "2.2": "the path is percent-decoded once only",
        "2.3": "a symbolic link is followed only to a file inside the root",
        "2.4": "only regular files are served, and checking never blocks",
        "2.5": "a file that cannot be opened is 404, never 500",
        "2.6": "a 404 or 405 has a short fixed text/plain body",
        "3.1": "Content-Type comes from the built-in table",
        "3.2": "Content-Length, headers and body come from one open file",
        "3.3": 'ETag is "<mtime_ns hex>-<size hex>"',
        "3.4": "Last-Modified is an IMF-fixdate, never in the future",
        "3.5": "every response carries X-Content-Type-Options: nosniff",
        "3.6": "an SVG carries the sandboxing Content-Security-Policy",
        "3.7": "no header carries a filesystem path or the request's Host",
        "4": "preconditions apply to existing regular files, in RFC 9110 order",
        "4.1": "If-Match uses strong comparison; a mismatch is 412",
        "4.2": "If-Unmodified-Since, without If-Match, can give 412",
        "4.3": "If-None-Match uses weak comparison; a match is 304",
        "4.4": "If-Modified-Since, without If-None-Match, can give 304",
        "4.5": "a 304 carries ETag and no body; a 412 carries a short text body",
        "4.6": "any header value is handled in linear time, never 500",
        "5.1": "with CORS off, no Access-Control-* header",
        "5.2": "with CORS on, file responses allow any origin, never credentials",
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
    }
)


def rule_title(rule: str) -> str:
    """Return the one-line title of ``rule``, or ``''`` for a number SPEC.md lacks."""
    return RULES.get(rule, "")
