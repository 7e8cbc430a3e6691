"""The lockfile refresh as an attacker meets it: non-registry dependencies, the sandbox, pinned package managers.

The attack (issue 17): a pull request adds a git dependency whose `prepare`
script runs when a package manager packs it. These tests serve such a
dependency from a real `git daemon` on 127.0.0.1 and as a `git+file://`
repository, and show that each package manager is refused before it runs,
and that even with that check bypassed the sandboxed run writes no marker
and fetches nothing from the daemon.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from bot.adapters import package_managers, sandbox
from bot.adapters.package_managers import (
    NO_SANDBOX,
    NON_REGISTRY,
    NOT_INSTALLED,
    TIMED_OUT,
    UNRESOLVED,
    PackageManagers,
    RefreshFailed,
    refresh,
)
from bot.adapters.store import SqliteStore
from bot.service.settings import DEFAULT_REGISTRY, DEFAULT_SANDBOX_USER, DEFAULT_TOOLS_DIR, load, write_env

MANAGERS = PackageManagers(DEFAULT_TOOLS_DIR, DEFAULT_REGISTRY, DEFAULT_SANDBOX_USER)
LOCKFILES = {  # tool → an empty lockfile of its kind
    "npm": ("package-lock.json", b'{"lockfileVersion": 3, "requires": true, "packages": {}}\n'),
    "pnpm": ("pnpm-lock.yaml", b"lockfileVersion: '9.0'\n"),
    "yarn": ("yarn.lock", b"# yarn lockfile v1\n"),
    "yarn-berry": ("yarn.lock", b"__metadata:\n  version: 8\n  cacheKey: 10c0\n"),
}


def needs(tool: str) -> None:
    """Fail, never skip, without ortfix's own package manager: scripts/test installs them, so it is a broken set-up."""
    if not MANAGERS.binary(tool).is_file():
        pytest.fail(f"{tool} is not installed in {DEFAULT_TOOLS_DIR}: run `ortfix install-tools` (scripts/test does)")


def needs_sandbox() -> None:
    try:
        sandbox.account(DEFAULT_SANDBOX_USER)
    except sandbox.Unavailable as why:
        pytest.fail(f"the sandbox is not available ({why}); scripts/test creates its user")


def manifest(**dependencies: str) -> bytes:
    return json.dumps({"name": "app", "version": "1.0.0", "dependencies": dependencies}).encode()


def never_run(*args, **kwargs):
    raise AssertionError("the package manager ran")


# --- the recorded run ------------------------------------------------------------------------------------


def test_the_run_sees_only_the_manifests_the_lockfile_and_a_bare_environment() -> None:
    """Pinned npm by path under node, `packageManager` stripped, no secrets, PATH with node alone, an empty HOME."""
    needs("npm")
    needs_sandbox()
    seen: dict = {}

    def npm(command, cwd, env, user, timeout):
        seen.update(command=command, env=env, user=user, files=sorted(p.name for p in cwd.iterdir()))
        seen["manifest"] = json.loads((cwd / "package.json").read_text())
        seen["path"] = sorted(os.listdir(env["PATH"]))
        seen["home"] = os.listdir(env["HOME"])
        (cwd / "package-lock.json").write_text('{"lockfileVersion": 3}')
        return subprocess.CompletedProcess(command, 0, "", "")

    files = {"package.json": b'{"packageManager": "npm@0.0.1-evil"}', "package-lock.json": b"{}"}
    assert refresh("package-lock.json", files, MANAGERS, run=npm) == b'{"lockfileVersion": 3}'
    assert seen["command"][1] == str(MANAGERS.binary("npm")) and seen["command"][2:4] == [
        "install",
        "--package-lock-only",
    ]
    assert "--ignore-scripts" in seen["command"] and seen["user"] == DEFAULT_SANDBOX_USER
    assert seen["files"] == ["package-lock.json", "package.json"] and "packageManager" not in seen["manifest"]
    assert seen["path"] == ["node"] and seen["home"] == []
    assert seen["env"]["npm_config_ignore_scripts"] == "true" and seen["env"]["YARN_ENABLE_SCRIPTS"] == "false"
    assert not any(k.startswith(("APP_", "PRIVATE", "WEBHOOK", "GITHUB", "REDIS", "ORTFIX")) for k in seen["env"])


def test_failures_map_to_fixed_reasons_with_the_output_only_as_detail() -> None:
    """A 404 is `could not resolve` (its words kept as detail), a hang a timeout, a missing tool or user a plain reason."""
    needs("npm")
    needs_sandbox()
    files = {"package.json": b"{}", "package-lock.json": b"{}"}

    def fails(command, *args):
        return subprocess.CompletedProcess(command, 1, "", "npm error code E404\nnpm error 404 Not Found @evil\n")

    def hangs(command, *args):
        raise subprocess.TimeoutExpired(command, 1)

    with pytest.raises(RefreshFailed) as failed:
        refresh("package-lock.json", files, MANAGERS, run=fails)
    assert failed.value.reason == UNRESOLVED and "404 Not Found @evil" in failed.value.detail
    with pytest.raises(RefreshFailed, match=TIMED_OUT.format(seconds=MANAGERS.timeout)):
        refresh("package-lock.json", files, MANAGERS, run=hangs)
    with pytest.raises(RefreshFailed, match=NOT_INSTALLED.format(tool="npm")):
        refresh("package-lock.json", files, PackageManagers("/nonexistent", DEFAULT_REGISTRY, "x"), run=never_run)
    with pytest.raises(RefreshFailed, match=NO_SANDBOX):
        refresh("package-lock.json", files, PackageManagers(DEFAULT_TOOLS_DIR, DEFAULT_REGISTRY, "nobody-here"))


def test_a_bun_lockfile_is_not_refreshed() -> None:
    """bun is not on the registry as a working package: the reply names the command instead."""
    with pytest.raises(RefreshFailed) as failed:
        refresh("bun.lock", {"package.json": b"{}", "bun.lock": b"{}"}, MANAGERS, run=never_run)
    assert failed.value.command == "bun install --lockfile-only"


def test_a_runaway_process_group_is_killed_on_timeout(tmp_path) -> None:
    """The sandboxed command and what it started in the background die when time is up."""
    needs_sandbox()
    with sandbox.workdir(DEFAULT_SANDBOX_USER) as temp:
        sandbox.hand_over(temp, DEFAULT_SANDBOX_USER)
        command = ["/bin/sh", "-c", "(sleep 30; touch late) & sleep 30"]
        started = time.monotonic()
        with pytest.raises(subprocess.TimeoutExpired):
            sandbox.run(command, temp / "work", {}, DEFAULT_SANDBOX_USER, 1)
        assert time.monotonic() - started < 10
        deadline = time.monotonic() + 5  # SIGKILL is sent; the processes are gone once reaped
        while _sleeping() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _sleeping() == []


def _sleeping() -> list[str]:
    """The sandbox user's live `sleep` processes (zombies, killed but not yet reaped, do not count)."""
    found = subprocess.run(["ps", "-u", DEFAULT_SANDBOX_USER, "-o", "stat=,comm="], capture_output=True, text=True)
    return [line for line in found.stdout.splitlines() if line.split()[-1] == "sleep" and "Z" not in line.split()[0]]


def test_the_sandboxed_process_runs_as_the_sandbox_user_with_limits() -> None:
    """Its own uid and no groups of ours; CPU, memory, file size and process limits it cannot raise."""
    needs_sandbox()
    with sandbox.workdir(DEFAULT_SANDBOX_USER) as temp:
        sandbox.hand_over(temp, DEFAULT_SANDBOX_USER)
        shown = sandbox.run(
            ["/bin/cat", "/proc/self/status", "/proc/self/limits"], temp / "work", {}, DEFAULT_SANDBOX_USER, 10
        )
    uid = str(sandbox.account(DEFAULT_SANDBOX_USER).pw_uid)
    assert f"\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n" in shown.stdout
    limits = {line[:26].strip(): line[26:].split()[:2] for line in shown.stdout.splitlines() if line.startswith("Max ")}
    assert limits["Max cpu time"] == [str(sandbox.CPU_SECONDS)] * 2
    assert limits["Max data size"] == [str(sandbox.MEMORY_BYTES)] * 2
    assert limits["Max file size"] == [str(sandbox.FILE_BYTES)] * 2
    assert limits["Max processes"] == [str(sandbox.PROCESSES)] * 2


def test_no_sandbox_without_root_or_as_root(monkeypatch) -> None:
    """A service that is not root cannot switch users; a sandbox user that is root is no sandbox."""
    with pytest.raises(sandbox.Unavailable, match="root"):
        sandbox.account("root")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(sandbox.Unavailable, match="does not run as root"):
        sandbox.account(DEFAULT_SANDBOX_USER)


def test_the_sandbox_user_cannot_read_the_services_secrets(private_key) -> None:
    """The .env (with the key) and the SQLite database, even in a directory everyone may enter."""
    needs_sandbox()
    home = Path(tempfile.mkdtemp(prefix="ortfix-secrets-"))
    try:
        home.chmod(0o755)
        write_env(home / ".env", {"PRIVATE_KEY": private_key})
        store = SqliteStore(str(home / "ortfix.db"))  # kept open: its last connection's close removes the -wal file
        store.put("secret", "1")
        for name in (".env", "ortfix.db", "ortfix.db-wal"):
            assert stat.S_IMODE((home / name).stat().st_mode) == 0o600, name
            with sandbox.workdir(DEFAULT_SANDBOX_USER) as temp:
                sandbox.hand_over(temp, DEFAULT_SANDBOX_USER)
                read = sandbox.run(["/bin/cat", str(home / name)], temp / "work", {}, DEFAULT_SANDBOX_USER, 10)
            assert read.returncode != 0 and "Permission denied" in read.stderr, name
    finally:
        shutil.rmtree(home)


def test_settings_name_the_registry_the_tools_and_the_sandbox_user() -> None:
    settings = load({"ORTFIX_NPM_REGISTRY": "https://npm.internal/", "ORTFIX_SANDBOX_USER": "pm"}, env_file=None)
    assert (settings.npm_registry, settings.tools_dir, settings.sandbox_user) == (
        "https://npm.internal/",
        DEFAULT_TOOLS_DIR,
        "pm",
    )


# --- the attack ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tool", list(LOCKFILES))
def test_a_git_dependency_is_refused_before_anything_runs(tool: str, evil) -> None:
    """Each package manager: the refresh stops at the spec check and names the dependency."""
    lockfile, text = LOCKFILES[tool]
    for spec in evil["specs"]:
        with pytest.raises(RefreshFailed) as failed:
            refresh(lockfile, {"package.json": manifest(evil=spec), lockfile: text}, MANAGERS, run=never_run)
        assert failed.value.reason == NON_REGISTRY and f"evil ({spec})" in failed.value.detail


@pytest.mark.parametrize("tool", list(LOCKFILES))
def test_with_the_check_bypassed_the_sandbox_still_runs_nothing_and_fetches_nothing(tool, evil, monkeypatch) -> None:
    """No git on PATH, npm's git pointed nowhere, scripts off: no marker, and the daemon serves nothing."""
    needs(tool)
    needs_sandbox()
    monkeypatch.setattr(package_managers, "outside_registry", lambda files, registry: [])
    lockfile, text = LOCKFILES[tool]
    for spec in evil["specs"]:
        with contextlib.suppress(RefreshFailed):  # failing is fine; running or fetching the dependency is not
            refresh(lockfile, {"package.json": manifest(evil=spec), lockfile: text}, MANAGERS)
    assert list(evil["markers"].iterdir()) == []
    assert evil["served"]() == 0


@pytest.mark.npm
@pytest.mark.parametrize("tool", list(LOCKFILES))
def test_each_pinned_package_manager_regenerates_its_lockfile_in_the_sandbox(tool: str) -> None:
    """Against the real registry, as the sandbox user: the raised range lands in the new lockfile."""
    needs(tool)
    needs_sandbox()
    lockfile, text = LOCKFILES[tool]
    files = {"package.json": manifest(**{"is-number": "^7.0.0"}), lockfile: text}
    assert b"is-number" in refresh(lockfile, files, MANAGERS) and b"7.0.0" in refresh(lockfile, files, MANAGERS)


def test_install_tools_pins_exact_versions_without_install_scripts(tmp_path) -> None:
    """`ortfix install-tools`: one npm install of exact versions into the tools directory, scripts off."""
    seen = []
    package_managers.install_tools(str(tmp_path / "tools"), run=lambda command, **kwargs: seen.append(command))
    (command,) = seen
    assert command[:4] == ["npm", "install", "--prefix", str(tmp_path / "tools")] and "--ignore-scripts" in command
    pinned = [c for c in command if "@" in c[1:]]
    assert all(re.fullmatch(r"@?[\w/.-]+@\d+\.\d+\.\d+", spec) for spec in pinned) and len(pinned) == 4
