"""Service settings: the environment (and a `.env` file) in, a frozen Settings out. The only reader of os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_WEBHOOK_PATH = "/api/github/webhooks"
DEFAULT_REGISTRY = "https://registry.npmjs.org/"
DEFAULT_TOOLS_DIR = "/opt/ortfix/tools"
DEFAULT_SANDBOX_USER = "ortfix-sandbox"
SETUP_TOKEN = "ORTFIX_SETUP_TOKEN"  # set by `ortfix serve` for its own web server, never by hand
MAX_BODY_BYTES = 25 * 1024 * 1024 + 64 * 1024  # GitHub caps payloads at 25 MB; a little room for headers' sake
SETUP_HELP = {
    "APP_ID": "the App ID shown on the GitHub App's settings page",
    "PRIVATE_KEY": "the app's private key (PEM text, or PRIVATE_KEY_PATH with the .pem file's path), "
    "generated on the app's settings page",
    "WEBHOOK_SECRET": "the webhook secret you typed when creating the app",
}


@dataclass(frozen=True)
class Settings:
    app_id: str | None
    private_key: str | None
    private_key_path: str | None  # the file PRIVATE_KEY was read from (None when PRIVATE_KEY itself is set)
    webhook_secret: str | None
    webhook_path: str
    api_url: str
    redis_url: str | None
    db_path: str
    port: int
    log_level: str
    workers: int  # consumer threads
    github_delay: float  # PyGithub's pause between requests (0 in tests)
    dry_run: bool
    audit_cron: str  # minute hour day month weekday, UTC
    app_slug: str | None  # the app's URL name, written by the setup page
    public_url: str | None  # this server's address as GitHub and the browser reach it (default: the bind address)
    host: str | None  # the address `ortfix serve` listens on (default: 127.0.0.1 in setup mode, else all)
    setup_token: str | None  # the setup page's one-time token, handed by `ortfix serve` to its web server
    metrics_token: str | None  # /metrics answers only `Authorization: Bearer METRICS_TOKEN`
    github_web_url: str  # github.com, or the Enterprise Server's web address
    env_file: str  # where the setup page writes the app's credentials
    sentry_dsn: str | None
    lease_seconds: float  # a job whose heartbeat stops this long is presumed dead (its worker killed) and redone
    npm_registry: str  # the only source a lockfile refresh may name and fetch from
    tools_dir: str  # ortfix's own pinned package managers (`ortfix install-tools`)
    sandbox_user: str  # the unprivileged account package managers run as

    @property
    def missing(self) -> list[str]:
        """The settings GitHub App credentials need that are not set."""
        wanted = {"APP_ID": self.app_id, "PRIVATE_KEY": self.private_key, "WEBHOOK_SECRET": self.webhook_secret}
        return [name for name, value in wanted.items() if not value]

    @property
    def unconfigured(self) -> bool:
        """No credential set at all: a first run, for the setup page (a partial one is an operator's mistake)."""
        return not (self.app_id or self.private_key or self.private_key_path or self.webhook_secret)


def load(environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env") -> Settings:
    """Settings from `environ` (default: os.environ) over a `.env` file when one exists."""
    values: dict[str, str | None] = {}
    if env_file and Path(env_file).is_file():
        values.update(dotenv_values(env_file))
    values.update(os.environ if environ is None else environ)

    def get(name: str, default: str | None = None) -> str | None:
        value = values.get(name)
        return value if value not in (None, "") else default

    private_key = get("PRIVATE_KEY")
    key_path = get("PRIVATE_KEY_PATH")
    if not private_key and key_path:
        try:
            private_key = Path(key_path).read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            private_key = None  # startup_checks says what is wrong with the path; Settings never raises on it
    if private_key:
        private_key = private_key.replace("\\n", "\n")  # one-line PEMs from platforms without multi-line vars
    return Settings(
        app_id=get("APP_ID"),
        private_key=private_key,
        private_key_path=None if get("PRIVATE_KEY") else key_path,  # the file the key comes from
        webhook_secret=get("WEBHOOK_SECRET"),
        webhook_path=get("WEBHOOK_PATH", DEFAULT_WEBHOOK_PATH) or DEFAULT_WEBHOOK_PATH,
        api_url=_api_url(get("GITHUB_API_URL"), get("GHE_HOST")),
        redis_url=get("REDIS_URL"),
        db_path=get("ORTFIX_DB", "ortfix.db") or "ortfix.db",
        port=int(get("PORT", "3000") or 3000),
        log_level=(get("LOG_LEVEL", "info") or "info").upper(),
        workers=int(get("ORTFIX_WORKERS", "2") or 2),
        github_delay=float(get("ORTFIX_GITHUB_DELAY", "0.1") or 0.1),
        dry_run=(get("ORTFIX_DRY_RUN", "") or "").lower() in ("1", "true", "yes"),
        audit_cron=get("ORTFIX_AUDIT_CRON", "0 6 * * 1") or "0 6 * * 1",
        lease_seconds=float(get("ORTFIX_LEASE_SECONDS", "30") or 30),
        app_slug=get("APP_SLUG"),
        public_url=(get("PUBLIC_URL") or get("ORTFIX_PUBLIC_URL") or "").rstrip("/") or None,
        host=get("HOST"),
        setup_token=get(SETUP_TOKEN),
        metrics_token=get("METRICS_TOKEN"),
        github_web_url=get("GITHUB_WEB_URL") or _web_url(_api_url(get("GITHUB_API_URL"), get("GHE_HOST"))),
        env_file=str(env_file or ".env"),
        sentry_dsn=get("SENTRY_DSN"),
        npm_registry=get("ORTFIX_NPM_REGISTRY", DEFAULT_REGISTRY) or DEFAULT_REGISTRY,
        tools_dir=get("ORTFIX_TOOLS_DIR", DEFAULT_TOOLS_DIR) or DEFAULT_TOOLS_DIR,
        sandbox_user=get("ORTFIX_SANDBOX_USER", DEFAULT_SANDBOX_USER) or DEFAULT_SANDBOX_USER,
    )


def child_environment(**values: str) -> dict[str, str]:
    """This process's environment plus `values`, for a child process."""
    return {**os.environ, **values}


def write_env(path: str | Path, values: dict[str, str]) -> None:
    """Add `values` to the .env file (created readable by its owner only: it holds the app's private key)."""
    target = Path(path)
    lines = target.read_text("utf-8").splitlines() if target.exists() else []
    kept = [line for line in lines if line.split("=", 1)[0].strip() not in values]
    for name, value in values.items():
        kept.append(f'{name}="{value.replace(chr(10), chr(92) + "n")}"')
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("\n".join(kept) + "\n")
    os.chmod(target, 0o600)


def _web_url(api_url: str) -> str:
    """github.com for api.github.com; https://HOST for an Enterprise Server's https://HOST/api/v3."""
    if api_url == DEFAULT_API_URL:
        return "https://github.com"
    return api_url.removesuffix("/api/v3")


def _api_url(api_url: str | None, ghe_host: str | None) -> str:
    if api_url:
        return api_url.rstrip("/")
    if ghe_host:
        return f"https://{ghe_host}/api/v3"  # GitHub Enterprise Server's REST root
    return DEFAULT_API_URL
