"""The deployed entry point, `gunicorn 'bot.web:wsgi()'` (Procfile, deploy/), kept so deployments never change."""

from bot.service.web import wsgi

__all__ = ["wsgi"]
