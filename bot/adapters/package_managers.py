"""Lockfiles brought back in line after a range change, the way Renovate does its artifact updates.

Before anything runs, every dependency in the manifests and the lockfile must
come from the configured npm registry (bot.core.dependency_sources). Then ortfix's
own pinned package manager (installed by `ortfix install-tools`, never the
repository's `packageManager`, corepack or npx) runs in the sandbox
(bot.adapters.sandbox) on a copy of the manifests and the lockfile only: no scripts,
no `.npmrc` or `.yarnrc.yml`, no git, no tokens. When that cannot be done the
caller leaves the range alone and says what to run, with one of a fixed set
of reasons: package-manager output is never posted as it is.
"""

from __future__ import annotations

import json
import posixpath
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.adapters import sandbox
from bot.core.dependency_sources import outside_registry

TIMEOUT = 180
TOOLS = {"npm": "10.9.4", "pnpm": "9.15.9", "yarn": "1.22.22", "@yarnpkg/cli-dist": "4.12.0"}
BINARIES = {  # tool → its entry script under node_modules
    "npm": "npm/bin/npm-cli.js",
    "pnpm": "pnpm/bin/pnpm.cjs",
    "yarn": "yarn/bin/yarn.js",
    "yarn-berry": "@yarnpkg/cli-dist/bin/yarn.js",
}
ARGUMENTS = {
    "npm": ["install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund"],
    "pnpm": ["install", "--lockfile-only", "--ignore-scripts"],
    "yarn": ["install", "--ignore-scripts", "--non-interactive", "--no-progress"],
    "yarn-berry": ["install", "--mode=update-lockfile"],
}
TOOL_FOR = {"package-lock.json": "npm", "npm-shrinkwrap.json": "npm", "pnpm-lock.yaml": "pnpm", "yarn.lock": "yarn"}
SHOWN = {  # what the user runs instead
    "npm": "npm install --package-lock-only",
    "pnpm": "pnpm install --lockfile-only",
    "yarn": "yarn install",
    "yarn-berry": "yarn install --mode=update-lockfile",
    "bun": "bun install --lockfile-only",
}
STRIPPED = ("packageManager",)  # a manifest field that would choose the package manager's version
DETAIL_LINES = 5
SYSTEM_CAS = "/etc/ssl/certs/ca-certificates.crt"

# the fixed reasons a refresh fails; nothing else from the package manager reaches a reply
TIMED_OUT = "the package manager took longer than {seconds:.0f} s"
NOT_INSTALLED = "ortfix has no {tool} of its own on the server"
NO_SANDBOX = "the package-manager sandbox is not available on the server"
NOT_RUN = "ortfix does not run package managers for changes it cannot push"
NON_REGISTRY = "some dependencies do not come from the npm registry, so ortfix ran nothing"
UNRESOLVED = "the package manager could not resolve the dependencies"
FAILED = "the package manager failed"
_UNRESOLVED_MARKS = ("ETARGET", "E404", "ERR_PNPM_NO_MATCHING_VERSION", "No matching version", "YN0082", "YN0035")


class RefreshFailed(Exception):
    """The lockfile could not be regenerated: `command` to run instead, a fixed `reason`, optional `detail`."""

    def __init__(self, command: str, reason: str, detail: str = "") -> None:
        super().__init__(f"{command}: {reason}")
        self.command = command
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class PackageManagers:
    """Where ortfix's pinned package managers live, the registry they use, and the account they run as."""

    tools_dir: str
    registry: str
    user: str
    timeout: float = TIMEOUT

    def binary(self, tool: str) -> Path:
        return Path(self.tools_dir) / "node_modules" / BINARIES[tool]

    def environment(self, bin_dir: Path, home: Path) -> dict[str, str]:
        """All the package manager sees: only node on PATH (no git, no shell), the registry, no scripts, empty HOME."""
        return {
            "PATH": str(bin_dir),
            "HOME": str(home),
            "TMPDIR": str(home),
            "CI": "1",
            "NODE_EXTRA_CA_CERTS": SYSTEM_CAS,  # the host's trust store (a TLS-inspecting proxy's CA included)
            "npm_config_registry": self.registry,
            "npm_config_ignore_scripts": "true",
            "npm_config_git": "/nonexistent/git",  # npm spawns this for git dependencies
            "npm_config_globalconfig": str(home / "npmrc"),  # none: not the host's /usr/etc/npmrc
            "npm_config_audit": "false",
            "npm_config_fund": "false",
            "npm_config_update_notifier": "false",
            "YARN_NPM_REGISTRY_SERVER": self.registry.rstrip("/"),
            "YARN_ENABLE_SCRIPTS": "false",
            "YARN_ENABLE_TELEMETRY": "false",
            "YARN_ENABLE_GLOBAL_CACHE": "false",
            "YARN_ENABLE_IMMUTABLE_INSTALLS": "false",
        }


def tool_for(lockfile: str, text: bytes) -> str:
    """npm, pnpm, yarn (classic) or yarn-berry; bun lockfiles are not refreshed (bun is not on the registry)."""
    name = posixpath.basename(lockfile)
    if name == "yarn.lock" and b"__metadata:" in text:
        return "yarn-berry"
    return TOOL_FOR.get(name, "bun")


def shown_command(lockfile: str, text: bytes) -> str:
    root = posixpath.dirname(lockfile)
    return SHOWN[tool_for(lockfile, text)] + (f" (in {root}/)" if root else "")


Runner = Callable[..., subprocess.CompletedProcess]


def refresh(lockfile: str, files: dict[str, bytes], managers: PackageManagers, run: Runner = sandbox.run) -> bytes:
    """The new lockfile for `files` (the lockfile and the package.json files it covers, paths relative to the repo)."""
    tool = tool_for(lockfile, files[lockfile])
    shown = shown_command(lockfile, files[lockfile])
    outside = outside_registry(files, managers.registry)
    if outside:
        raise RefreshFailed(shown, NON_REGISTRY, "\n".join(outside))
    node = shutil.which("node")
    if tool == "bun" or node is None or not managers.binary(tool).is_file():
        raise RefreshFailed(shown, NOT_INSTALLED.format(tool=tool if node else "node"))
    root = posixpath.dirname(lockfile)
    try:
        with sandbox.workdir(managers.user) as temp:
            work = temp / "work"
            for path, data in files.items():
                target = work / posixpath.relpath(path, root or ".")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(_without_package_manager(data) if target.name == "package.json" else data)
            (temp / "bin").mkdir()
            (temp / "bin" / "node").symlink_to(node)
            sandbox.hand_over(temp, managers.user)
            command = [node, str(managers.binary(tool)), *ARGUMENTS[tool]]
            env = managers.environment(temp / "bin", temp / "home")
            try:
                result = run(command, work, env, managers.user, managers.timeout)
            except subprocess.TimeoutExpired:
                raise RefreshFailed(shown, TIMED_OUT.format(seconds=managers.timeout)) from None
            if result.returncode != 0:
                output = f"{result.stdout or ''}\n{result.stderr or ''}"
                reason = UNRESOLVED if any(mark in output for mark in _UNRESOLVED_MARKS) else FAILED
                detail = "\n".join(line for line in output.strip().splitlines()[-DETAIL_LINES:])
                raise RefreshFailed(shown, reason, detail[-1000:])
            return (work / posixpath.basename(lockfile)).read_bytes()
    except sandbox.Unavailable:
        raise RefreshFailed(shown, NO_SANDBOX) from None


def _without_package_manager(data: bytes) -> bytes:
    """The manifest without `packageManager`: the repository does not choose the package manager's version."""
    try:
        manifest = json.loads(data)
    except ValueError:
        return data
    if not isinstance(manifest, dict) or not any(field in manifest for field in STRIPPED):
        return data
    return json.dumps({k: v for k, v in manifest.items() if k not in STRIPPED}, indent=2).encode() + b"\n"


def install_tools(directory: str, run: Runner = subprocess.run) -> subprocess.CompletedProcess:
    """ortfix's pinned package managers into `directory` (exact versions, no install scripts), readable by all."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    Path(directory).chmod(0o755)
    packages = [f"{name}@{version}" for name, version in TOOLS.items()]
    command = ["npm", "install", "--prefix", directory, "--ignore-scripts", "--no-audit", "--no-fund", *packages]
    return run(command, check=True, timeout=600)
