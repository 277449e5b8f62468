"""JSON logs, one object per line, each carrying the request id of the request it belongs to."""

from __future__ import annotations

import logging
import sys
from typing import IO

from flask import g, has_request_context
from pythonjsonlogger.json import JsonFormatter


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = (getattr(g, "request_id", "-") if has_request_context() else "-")
        return True


def make_handler(stream: IO[str]) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
    ))
    handler.addFilter(RequestIdFilter())
    return handler


def configure(level: str) -> None:
    handler = make_handler(sys.stderr)
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_tokhai", False):
            root.removeHandler(h)
    handler._tokhai = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # werkzeug's own access lines are plain text; ours are JSON (see service.create_app)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
