"""Schemathesis hooks of scripts/checks/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS).

cargo lambda watch, the local stand-in for API Gateway, cannot hand a function a request whose
body or a header value is not UTF-8: it answers 500 itself (text/plain) without calling the
API. API Gateway delivers such requests (a body base64-encoded), and the API answers 400 or 415
(tests/api/openapi.rs: a body that is not UTF-8, a key that is not visible ASCII). So here
such bytes are sent as UTF-8 instead: an invalid body stays invalid (its bad bytes become
U+FFFD), and a header value keeps its characters (non-ASCII: still refused by the API), which
is the request the check meant, in a form the stand-in can carry.
"""

import schemathesis


@schemathesis.hook
def before_call(context, case, kwargs):
    body = case.body
    if isinstance(body, (bytes, bytearray)):
        try:
            bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            case.body = bytes(body).decode("utf-8", errors="replace").encode("utf-8")
    headers = case.headers or {}
    for name, value in list(headers.items()):
        # The HTTP client sends a str header as Latin-1: one byte per character, not UTF-8
        # for U+0080..U+00FF. Sent as its UTF-8 bytes instead (spelt as Latin-1 for the client).
        if isinstance(value, str) and any("\x80" <= c <= "\xff" for c in value) and max(value) <= "\xff":
            headers[name] = value.encode("utf-8").decode("latin-1")
