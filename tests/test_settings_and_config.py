"""Service settings from the environment and .env; the repo config and what a broken one says."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core import repo_config
from bot.service.settings import DEFAULT_API_URL, load


def test_defaults_follow_github_app_tooling() -> None:
    """Nothing set: the documented defaults, and the three credentials reported missing."""
    settings = load({}, env_file=None)
    assert settings.webhook_path == "/api/github/webhooks"
    assert settings.api_url == DEFAULT_API_URL and settings.port == 3000 and settings.redis_url is None
    assert settings.missing == ["APP_ID", "PRIVATE_KEY", "WEBHOOK_SECRET"]


def test_ghe_host_and_api_url() -> None:
    """GHE_HOST gives the Enterprise Server REST root; GITHUB_API_URL wins when both are set."""
    assert load({"GHE_HOST": "ghe.example.com"}, env_file=None).api_url == "https://ghe.example.com/api/v3"
    both = {"GHE_HOST": "ghe.example.com", "GITHUB_API_URL": "https://api.example.com/"}
    assert load(both, env_file=None).api_url == "https://api.example.com"


def test_private_key_path_and_one_line_keys(tmp_path: Path) -> None:
    """PRIVATE_KEY_PATH is read; a PEM with literal \\n (one-line platform variables) is unfolded."""
    key = tmp_path / "app.pem"
    key.write_text("-----BEGIN KEY-----\nabc\n-----END KEY-----\n")
    assert load({"PRIVATE_KEY_PATH": str(key)}, env_file=None).private_key == key.read_text()
    one_line = load({"PRIVATE_KEY": "-----BEGIN KEY-----\\nabc\\n-----END KEY-----"}, env_file=None)
    assert one_line.private_key == "-----BEGIN KEY-----\nabc\n-----END KEY-----"


def test_a_dotenv_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("APP_ID=7\nWEBHOOK_SECRET=from-file\nPORT=4000\n")
    settings = load({"WEBHOOK_SECRET": "from-env"}, env_file=env)
    assert (settings.app_id, settings.webhook_secret, settings.port) == ("7", "from-env", 4000)


def test_a_full_config() -> None:
    config = repo_config.parse(
        "review: false\ncheck: neutral\nfix_prs: true\naudit: off\nignore: [vendor/, '*.min.js']\nmin_version: 1.30.0\ndry_run: true\n"
    )
    assert config == repo_config.RepoConfig(False, "neutral", True, False, ("vendor/", "*.min.js"), "1.30.0", True)
    assert config.errors == ()


@pytest.mark.parametrize("text", ["check: off\n", "check: 'off'\n", "check: Off\n"])
def test_check_off_is_off_however_yaml_reads_it(text: str) -> None:
    """YAML 1.1 reads a bare `off` as false: the README's `check: off` must still turn the check off."""
    config = repo_config.parse(text)
    assert config.check == "off" and config.errors == ()


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("check: [unclosed\n", "is not valid YAML"),
        ("check: maybe\n", "check: 'maybe' is not one of"),
        ("ignore: vendor\n", "ignore: 'vendor' is not of type 'array'"),
        ("colour: blue\n", "Additional properties are not allowed"),
        ("min_version: latest\n", "min_version: 'latest' does not match"),
        ("!!python/object/apply:os.system ['true']\n", "is not valid YAML"),
        ("a: &x [1, 2]\nb: *x\n", "uses YAML aliases"),
        ("- just\n- a list\n", "is not of type 'object'"),
        ("x: " + "y" * 70_000 + "\n", "larger than 64 KB"),
    ],
)
def test_a_broken_config_gives_defaults_and_says_why(text: str, error: str) -> None:
    """Bad YAML, unknown keys, wrong types, YAML tags, aliases, huge files: defaults, and the reason."""
    config = repo_config.parse(text)
    assert dataclass_defaults(config)
    assert any(error in e for e in config.errors), config.errors


def dataclass_defaults(config: repo_config.RepoConfig) -> bool:
    return config == repo_config.RepoConfig()


def test_an_empty_config_is_the_defaults() -> None:
    assert (
        repo_config.parse("") == repo_config.parse(None) == repo_config.parse("# nothing\n") == repo_config.RepoConfig()
    )


def test_a_missing_key_file_does_not_raise() -> None:
    """PRIVATE_KEY_PATH naming no file: Settings loads (bot.service.startup_checks reports it), and it is not a first run."""
    settings = load({"PRIVATE_KEY_PATH": "/nowhere/app.pem"}, env_file=None)
    assert settings.private_key is None and settings.private_key_path == "/nowhere/app.pem"
    assert not settings.unconfigured


def test_public_url_and_its_old_name() -> None:
    """PUBLIC_URL, else ORTFIX_PUBLIC_URL; without its trailing slash."""
    assert load({"PUBLIC_URL": "https://a.example/"}, env_file=None).public_url == "https://a.example"
    assert load({"ORTFIX_PUBLIC_URL": "https://b.example"}, env_file=None).public_url == "https://b.example"
    both = {"PUBLIC_URL": "https://a.example", "ORTFIX_PUBLIC_URL": "https://b.example"}
    assert load(both, env_file=None).public_url == "https://a.example"
