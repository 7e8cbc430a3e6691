"""Lockfiles: the onnxruntime-web version a package really installs.

npm (package-lock.json v1–v3, npm-shrinkwrap.json), yarn (classic and berry),
pnpm (v5–v9) and bun (text bun.lock). Each reader takes the lockfile's text
and the package's directory relative to the lockfile, and answers a version
or None; a lockfile it cannot read answers None, never an exception.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable

from bot.core.versions import PACKAGE, in_range

# npm gives a shrinkwrap precedence over a package-lock; the rest are one per project
LOCKFILE_NAMES = ("npm-shrinkwrap.json", "package-lock.json", "pnpm-lock.yaml", "yarn.lock", "bun.lock")

# what refreshes each lockfile after its package.json changed
INSTALL_COMMANDS = {
    "npm-shrinkwrap.json": "npm install",
    "package-lock.json": "npm install",
    "pnpm-lock.yaml": "pnpm install",
    "yarn.lock": "yarn",
    "bun.lock": "bun install",
}

_VERSION = re.compile(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?")
_SEMVER = re.compile(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?")


def resolved_version(
    lockfile: str, text: str, package_dir: str, declared: str | None, package: str = PACKAGE
) -> str | None:
    """The version of `package` that the lockfile named `lockfile` installs for the project at `package_dir`.

    `package_dir` is relative to the lockfile's directory ('' for its own).
    """
    reader = _READERS[lockfile]
    try:
        version = reader(text, package_dir, declared, package)
    except (ValueError, TypeError, AttributeError, KeyError):
        return None
    # a lockfile is repository text: a version that is not semver says nothing (and must not crash a scan)
    return version if isinstance(version, str) and _SEMVER.fullmatch(version) else None


def covers(lockfile: str, text: str, package_dir: str) -> bool:
    """Whether the lockfile records the project at `package_dir` (relative to it) as one of its workspaces."""
    if lockfile == "yarn.lock":
        return f'@workspace:{package_dir}"' in text or f"@workspace:{package_dir}:" in text
    if lockfile == "pnpm-lock.yaml":
        return re.search(rf"^  '?{re.escape(package_dir)}'?:\s*$", text, re.MULTILINE) is not None
    return f'"{package_dir}": {{' in text  # npm's "packages" and bun's "workspaces" keys


def resolving_row(lockfile: str, text: str, package_dir: str, version: str, package: str = PACKAGE) -> int:
    """The row of the lockfile's entry that resolves `package` to `version` for `package_dir` (0 when none is seen)."""
    if lockfile == "yarn.lock":  # the entry is a descriptor line whose block says the version (LF or CRLF lines)
        entry = re.search(
            rf'^"?{re.escape(package)}@[^\n]*:[ \t]*\r?\n(?:[ \t]+.*\n)*?[ \t]+version:? "?{re.escape(version)}"?[ \t]*\r?$',
            text,
            re.MULTILINE,
        )
        if entry:
            return text.count("\n", 0, entry.start())
    keys = [
        f'"{posixpath.join(package_dir, "node_modules", package)}"',  # npm v2+
        f'"node_modules/{package}"',
        f"{package}@{version}",  # pnpm and bun package keys
        f"\n{package}@",  # yarn descriptors
        f'\n"{package}@',
        f'"{package}": {{',  # npm v1
    ]
    for key in keys:
        at = text.find(key)
        if at != -1:
            return text.count("\n", 0, at + (1 if key.startswith("\n") else 0))
    return 0


def _npm(text: str, package_dir: str, declared: str | None, package: str) -> str | None:
    lock = json.loads(text)
    packages = lock.get("packages")
    if isinstance(packages, dict):
        # node's resolution: the package's own node_modules, then each parent's
        directory = package_dir
        while True:
            entry = packages.get(posixpath.join(directory, "node_modules", package))
            if isinstance(entry, dict) and isinstance(entry.get("version"), str):
                return entry["version"]
            if not directory:
                break
            directory = posixpath.dirname(directory)
    entry = (lock.get("dependencies") or {}).get(package)  # lockfileVersion 1
    return entry.get("version") if isinstance(entry, dict) else None


def _yarn(text: str, package_dir: str, declared: str | None, package: str) -> str | None:
    versions: dict[str, str] = {}  # descriptor range → version
    descriptors: list[str] = []
    for line in text.splitlines():
        if line and not line[0].isspace() and line.rstrip().endswith(":") and not line.startswith("#"):
            descriptors = [d.strip().strip('"') for d in line.rstrip()[:-1].split(",")]
        elif descriptors and line.strip().startswith("version"):
            version = line.split(None, 1)[1].strip().strip('"') if " " in line.strip() else ""  # classic and berry
            for descriptor in descriptors:
                name, _, spec = descriptor.rpartition("@")
                if name == package:
                    versions[spec.removeprefix("npm:")] = version
            descriptors = []
    if declared is not None and declared in versions:
        return versions[declared]
    candidates = {v for r, v in versions.items() if declared is None or _satisfies(v, declared)}
    return candidates.pop() if len(candidates) == 1 else None


def _pnpm(text: str, package_dir: str, declared: str | None, package: str) -> str | None:
    import yaml  # only pnpm projects pay for it

    try:
        lock = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None
    importers = lock.get("importers")
    importer = importers.get(package_dir or ".") if isinstance(importers, dict) else lock
    if not isinstance(importer, dict):
        return None
    for field in ("dependencies", "devDependencies", "optionalDependencies"):
        entry = (importer.get(field) or {}).get(package)
        if isinstance(entry, dict):  # lockfile v6+: {specifier, version}
            entry = entry.get("version")
        if isinstance(entry, str):
            match = _VERSION.search(entry)
            if match:
                return match.group(0)
    return None


def _bun(text: str, package_dir: str, declared: str | None, package: str) -> str | None:
    lock = json.loads(re.sub(r",(\s*[}\]])", r"\1", text))  # bun.lock is JSON with trailing commas
    entry = (lock.get("packages") or {}).get(package)
    if isinstance(entry, list) and entry and isinstance(entry[0], str):
        return entry[0].rpartition("@")[2] or None
    return None


def _satisfies(version: str, declared: str) -> bool:
    try:
        return in_range(version, declared)
    except (ValueError, TypeError):
        return False


_READERS: dict[str, Callable[[str, str, str | None, str], str | None]] = {
    "npm-shrinkwrap.json": _npm,
    "package-lock.json": _npm,
    "yarn.lock": _yarn,
    "pnpm-lock.yaml": _pnpm,
    "bun.lock": _bun,
}
