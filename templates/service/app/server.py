"""Run the service: ``python -m app.server [--host H] [--port P] [--workers N]`` from the service
directory (the image's command; ``mlops-nb serve`` runs it too).

uvicorn runs ``app.main:create_app`` with :class:`app.connections.HeaderDeadlineProtocol` as its
HTTP protocol (a deadline for request headers), idle keep-alive connections closed after
``KEEP_ALIVE_TIMEOUT`` seconds (5), no access log of its own (``ACCESS_LOG=1`` is the app's), no
``server`` header and no proxy-header rewriting. ``PORT`` (8080), ``HOST`` (127.0.0.1) and
``WORKERS`` (1) are the defaults.
"""

from __future__ import annotations

import argparse
import gc
import os

# Start-up makes many objects that live as long as the process (modules, the app, the model):
# collecting garbage while they are being made only slows it (~0.1 s of ~0.5 s in the image). The
# app collects once, freezes them and turns collection back on when the model and the drift
# reference are loaded (``_settle_memory`` in app/main.py).
gc.disable()
# One BLAS thread per worker process (a user's own setting is kept): a worker scores on one core,
# and OpenBLAS starting a thread per core costs start-up time and competes with the event loop.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import uvicorn  # noqa: E402  (after gc.disable)

from app.connections import HeaderDeadlineProtocol  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.server", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("HOST") or "127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8080))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS") or 1))
    args = parser.parse_args(argv)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        http=HeaderDeadlineProtocol,
        timeout_keep_alive=int(os.environ.get("KEEP_ALIVE_TIMEOUT") or 5),
        access_log=False,
        server_header=False,
        # nothing in the service reads the client's address (the access log has none), so
        # X-Forwarded-* headers are not rewritten into the scope on every request
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
