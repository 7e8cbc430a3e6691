"""Start-up checks for `serve`, `worker` and `audit`: each operator mistake as one line, never a traceback.

Each line names the setting, says what is wrong and how to fix it.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from bot.adapters.github import GitHubApp, GitHubError
from bot.service.settings import SETUP_HELP, Settings

API_HINT = "https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server"


def problems(settings: Settings) -> list[str]:
    """What stops ortfix from working with these settings; empty when nothing does."""
    found = [f"{name} is empty: set it to {SETUP_HELP[name]}" for name in settings.missing if name != "PRIVATE_KEY"]
    key = _key(settings)
    found += [key] if key else []
    redis = _redis(settings.redis_url) if settings.redis_url else None
    found += [redis] if redis else []
    if not found:
        github = _github(settings)
        found += [github] if github else []
    return [f"ortfix: {line}" for line in found]


def _key(settings: Settings) -> str | None:
    path = settings.private_key_path
    if path and not settings.private_key:
        if not Path(path).is_file():
            return f"PRIVATE_KEY_PATH names {path}, which does not exist: point it at the app's .pem file"
        return f"PRIVATE_KEY_PATH names {path}, which cannot be read as text: give ortfix's user read access to it"
    if not settings.private_key:
        return f"PRIVATE_KEY is empty: set it to {SETUP_HELP['PRIVATE_KEY']}"
    name = f"PRIVATE_KEY_PATH ({path})" if path else "PRIVATE_KEY"
    try:
        key = load_pem_private_key(settings.private_key.encode(), password=None)
    except (ValueError, TypeError) as error:
        reason = str(error).split(".")[0] or type(error).__name__
        return f"{name} is not a PEM RSA private key ({reason}): use the .pem file from the GitHub App's settings page"
    if not isinstance(key, rsa.RSAPrivateKey):
        return f"{name} is a PEM key but not an RSA one: use the .pem file from the GitHub App's settings page"
    return None


def _redis(url: str) -> str | None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5).ping()
    except (redis.RedisError, ValueError, OSError) as error:
        return (
            f"REDIS_URL: Redis does not answer at {_address(url)} ({type(error).__name__}): start it, "
            "correct the URL, or unset REDIS_URL to use the local SQLite file"
        )
    return None


def _github(settings: Settings) -> str | None:
    """GET /app with the app's JWT: GitHub is there, it is GitHub, and the key is APP_ID's."""
    assert settings.app_id and settings.private_key
    url = settings.api_url
    try:
        app = GitHubApp(settings.app_id, settings.private_key, url).app()
    except requests.RequestException as error:
        return f"GITHUB_API_URL: {url} is unreachable ({type(error).__name__}): correct it ({API_HINT})"
    except GitHubError as error:
        if error.status == 401:
            return (
                f"PRIVATE_KEY is not the key of app {settings.app_id}: GitHub at {url} refused its token (401): "
                "check APP_ID, and use the .pem file of that app"
            )
        return f"GITHUB_API_URL: {url} is not a GitHub API (GET /app answered {error.status}): set it to {API_HINT}"
    if not isinstance(app, dict) or "id" not in app:
        return f"GITHUB_API_URL: {url} is not a GitHub API (GET /app gave no app): set it to {API_HINT}"
    if str(app["id"]) != settings.app_id:
        return f"APP_ID is {settings.app_id}, but the private key belongs to app {app['id']}: correct APP_ID"
    return None


def _address(url: str) -> str:
    """The URL without its password."""
    parts = urlsplit(url)
    if not parts.hostname:
        return url
    return parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")).geturl()
