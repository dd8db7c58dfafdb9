"""The baseline of bench/http.py: a raw ASGI hello world, served by uvicorn exactly as
``socialcredit serve`` serves the platform (one worker, the same log level, one access log line
per request).

    python bench/asgi_hello.py --port 8001
"""

# ruff: noqa: E402 (the path is set before the imports)
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# bench/http.py must not hide the standard library's http package, which uvicorn imports
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]

import argparse
from typing import Any

import uvicorn

BODY = b'{"hello":"world"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]
# the arguments of the uvicorn.run call of `socialcredit serve` (socialcredit/cli_api.py), but the app
SERVE_SETTINGS: dict[str, Any] = {"workers": 1, "log_level": "info", "access_log": True}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer every HTTP request with a small JSON body; accept the lifespan protocol."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port, **SERVE_SETTINGS)


if __name__ == "__main__":
    main()
