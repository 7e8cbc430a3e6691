"""The floor for bench/webhook_bench.py: the same gunicorn serving a bare WSGI app that answers 202."""


def app(environ, start_response):
    environ["wsgi.input"].read()
    start_response("202 Accepted", [("Content-Type", "application/json"), ("Content-Length", "2")])
    return [b"{}"]
