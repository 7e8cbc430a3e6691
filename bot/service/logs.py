"""JSON log lines, each carrying the job's delivery id, installation, repo and PR."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time

JOB_CONTEXT: contextvars.ContextVar[dict | None] = contextvars.ContextVar("ortfix_job", default=None)
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            **{k: v for k, v in vars(record).items() if k not in _STANDARD},
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def _with_job_context(factory):
    def make(*args, **kwargs) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        for key, value in (JOB_CONTEXT.get() or {}).items():
            setattr(record, key, value)  # taken when the line is logged, not when it is formatted
        return record

    return make


logging.setLogRecordFactory(_with_job_context(logging.getLogRecordFactory()))


def configure(level: str, sentry_dsn: str | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    if sentry_dsn:
        try:
            import sentry_sdk
        except ImportError:
            logging.getLogger("ortfix").warning("sentry.missing", extra={"fix": "pip install 'ortfix[sentry]'"})
            return
        sentry_sdk.init(dsn=sentry_dsn, send_default_pii=False)  # errors only: no tracing, no request bodies
