"""Logging: readable text for people, or one JSON object per line (with the request id) for a log
collector. Either way no secret is logged: the code never passes one to a logger."""

from __future__ import annotations

import contextlib
import json
import logging

from flask import g, has_request_context

from .config import Settings


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context() and "request_id" in g:
            entry["request_id"] = g.request_id
        if record.name == "idp.audit":
            # Audit lines are JSON already: nest them instead of quoting them.
            with contextlib.suppress(ValueError):
                entry["audit"] = json.loads(entry["message"])
                del entry["message"]
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_idp", False):
            root.removeHandler(existing)
    handler._idp = True
    root.addHandler(handler)
    root.setLevel(settings.log_level)
