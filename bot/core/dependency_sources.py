"""Pure: the dependencies of a lockfile refresh that come from somewhere other than the npm registry.

A package manager that meets a git, file, link or tarball dependency clones,
copies or downloads it, and packing a git dependency runs its `prepare`
script whatever `--ignore-scripts` says. So before any package manager runs,
every spec in the manifests and every source in the lockfile must pass an
allow-list: a semver range or dist-tag, `npm:` aliases of registry packages,
`workspace:` ranges, and yarn's own built-in patches of registry packages.
Anything else is named back to the user and nothing runs.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator
from urllib.parse import unquote

DEFAULT_REGISTRY = "https://registry.npmjs.org/"
YARN_MIRROR = "https://registry.yarnpkg.com/"  # the same registry under yarn's name
DEPENDENCY_FIELDS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")

_RANGE = re.compile(r"[0-9A-Za-z\s.*^~<>=|+_-]*")  # semver ranges and dist-tags: no `:`, no `/`
_TARBALL = re.compile(r"\.(tgz|tar|tar\.gz)$", re.IGNORECASE)  # npm reads these as file paths
_NAME = re.compile(r"(@[A-Za-z0-9][\w.-]*/)?[A-Za-z0-9][\w.-]*")
_BUILTIN_PATCH = re.compile(r"(optional!)?~?builtin<[\w/.-]+>")  # yarn's patches that ship inside yarn
_V1_KEY = re.compile(r'^"?(\S.*?)"?:\s*$')
_PNPM_RESOLUTION = re.compile(r"^\s*resolution:\s*\{(.*)\}\s*$")
_PNPM_SPECIFIER = re.compile(r"^\s*specifier:\s*(.+?)\s*$")
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def registries(configured: str) -> tuple[str, ...]:
    """The URL prefixes that count as the configured registry (npm's default also under yarn's name)."""
    base = configured.rstrip("/") + "/"
    return (base, YARN_MIRROR) if base == DEFAULT_REGISTRY else (base,)


def allowed_spec(spec: str) -> bool:
    """A manifest spec that names a registry package: a range or tag, `npm:`, `workspace:`, a built-in patch."""
    spec = spec.strip()
    if spec.startswith("npm:"):
        rest = spec[4:]
        name, at, version = rest[1:].partition("@")
        if at and _NAME.fullmatch(rest[0] + name):
            return _is_range(version)
        return _is_range(rest)  # yarn berry's `npm:^1.0.0`
    if spec.startswith("workspace:"):
        return _is_range(spec[len("workspace:") :])
    if spec.startswith("patch:"):
        inner, _, source = spec[len("patch:") :].partition("#")
        name, at, wrapped = unquote(inner)[1:].partition("@")
        return (
            bool(at) and _BUILTIN_PATCH.fullmatch(unquote(source).split("::")[0]) is not None and allowed_spec(wrapped)
        )
    if spec.startswith("$"):
        return _NAME.fullmatch(spec[1:]) is not None  # npm overrides: "the version the root depends on"
    return _is_range(spec)


def _lock_spec_ok(spec: str) -> bool:
    """A lockfile's spec: as in a manifest, or a workspace by its relative path (`workspace:.`)."""
    if spec.startswith("workspace:"):
        path = spec[len("workspace:") :]
        return not path.startswith("/") and ".." not in path.split("/") and ":" not in path
    return allowed_spec(spec)


def _split(descriptor: str) -> tuple[str, str]:
    """`name@spec` → (name, spec); the name may be scoped (`@scope/name@spec`)."""
    at = descriptor.find("@", 1)
    return (descriptor[:at], descriptor[at + 1 :]) if at > 0 else (descriptor, "")


def _is_range(text: str) -> bool:
    text = text.strip()
    return _RANGE.fullmatch(text) is not None and not text.startswith(".") and not _TARBALL.search(text)


def outside_registry(files: dict[str, bytes], registry: str = DEFAULT_REGISTRY) -> list[str]:
    """`path: name (spec)` for every dependency in `files` (manifests and lockfiles) not from `registry`."""
    prefixes = registries(registry)
    found: list[str] = []
    for path in sorted(files):
        name = posixpath.basename(path)
        text = files[path].decode("utf-8", "replace")
        if name == "package.json":
            pairs = _manifest_specs(text)
            found += [f"{path}: {dep} ({spec})" for dep, spec in pairs if not allowed_spec(spec)]
        elif name in ("package-lock.json", "npm-shrinkwrap.json"):
            found += [f"{path}: {dep} ({src})" for dep, src in _npm_lock_sources(text, prefixes)]
        elif name == "yarn.lock":
            found += [f"{path}: {dep} ({src})" for dep, src in _yarn_lock_sources(text, prefixes)]
        elif name == "pnpm-lock.yaml":
            found += [f"{path}: {dep} ({src})" for dep, src in _pnpm_lock_sources(text, prefixes)]
        elif name == "bun.lock":
            found += [f"{path}: {dep} ({src})" for dep, src in _bun_lock_sources(text)]
    return found


def _manifest_specs(text: str) -> Iterator[tuple[str, str]]:
    try:
        manifest = json.loads(text)
    except ValueError:
        return
    if not isinstance(manifest, dict):
        return
    for field in DEPENDENCY_FIELDS:
        yield from _string_pairs(manifest.get(field))
    yield from _overrides(manifest.get("overrides"))
    yield from _string_pairs(manifest.get("resolutions"))
    pnpm = manifest.get("pnpm")
    if isinstance(pnpm, dict):
        yield from _string_pairs(pnpm.get("overrides"))


def _string_pairs(value: object) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, spec in value.items():
            yield str(key), spec if isinstance(spec, str) else json.dumps(spec)


def _overrides(value: object, parent: str = "") -> Iterator[tuple[str, str]]:
    """npm's `overrides`: nested objects whose `.` key is the package's own spec."""
    if not isinstance(value, dict):
        return
    for key, spec in value.items():
        name = parent if key == "." else str(key)
        if isinstance(spec, dict):
            yield from _overrides(spec, name)
        else:
            yield name, spec if isinstance(spec, str) else json.dumps(spec)


def _from_registry(url: str, prefixes: tuple[str, ...]) -> bool:
    return url.startswith(prefixes)


def _npm_lock_sources(text: str, prefixes: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    try:
        lock = json.loads(text)
    except ValueError:
        return
    entries: list[tuple[str, dict, bool]] = []  # key, entry, from lockfile v1's nested `dependencies`
    if isinstance(lock, dict):
        entries += [(k, v, False) for k, v in (lock.get("packages") or {}).items() if isinstance(v, dict)]
        pending = list((lock.get("dependencies") or {}).items())
        while pending:
            key, entry = pending.pop()
            if isinstance(entry, dict):
                entries.append((key, entry, True))
                pending += list((entry.get("dependencies") or {}).items())
    for key, entry, nested in entries:
        name = key.rpartition("node_modules/")[2] or key or "(root)"
        resolved = entry.get("resolved")
        if entry.get("link"):
            if not isinstance(resolved, str) or not _lock_spec_ok("workspace:" + resolved):
                yield name, str(resolved)
        elif isinstance(resolved, str) and not _from_registry(resolved, prefixes):
            yield name, resolved
        version = entry.get("version")
        if isinstance(version, str) and not allowed_spec(version):
            yield name, version
        for field in ("requires",) if nested else DEPENDENCY_FIELDS:
            yield from ((dep, spec) for dep, spec in _string_pairs(entry.get(field)) if not allowed_spec(spec))


def _yarn_lock_sources(text: str, prefixes: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    berry = "__metadata:" in text
    name = ""
    for line in text.splitlines():
        if line and not line[0].isspace() and not line.startswith(("#", "__metadata")):
            match = _V1_KEY.match(line)
            descriptors = [d.strip().strip('"') for d in match.group(1).split(",")] if match else []
            for descriptor in descriptors:
                name, spec = _split(descriptor)
                if not _lock_spec_ok(spec):
                    yield name, spec
            continue
        field, _, value = line.strip().partition(" ")
        value = value.strip().strip('"')
        if berry and field == "resolution:":
            name, spec = _split(value)
            if not (spec.startswith(("npm:", "workspace:", "patch:")) and _lock_spec_ok(spec)):
                yield name, spec
        elif not berry and field == "resolved" and not _from_registry(value, prefixes):
            yield name, value


def _pnpm_lock_sources(text: str, prefixes: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    name = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.endswith(":") and not stripped.startswith("-"):
            name = _split(stripped[:-1].strip("'\""))[0]
        specifier = _PNPM_SPECIFIER.match(line)
        if specifier and not allowed_spec(specifier.group(1).strip("'\"")):
            yield name, specifier.group(1).strip("'\"")
        resolution = _PNPM_RESOLUTION.match(line)
        if not resolution:
            continue
        fields = dict(
            (k.strip(), v.strip().strip("'\""))
            for k, _, v in (p.partition(":") for p in resolution.group(1).split(", "))
        )
        tarball = fields.get("tarball")
        if "repo" in fields or "directory" in fields or fields.get("type") in ("git", "directory"):
            yield name, fields.get("repo") or fields.get("directory") or fields.get("type", "")
        elif tarball is not None and not _from_registry(tarball, prefixes):
            yield name, tarball


def _bun_lock_sources(text: str) -> Iterator[tuple[str, str]]:
    try:
        lock = json.loads(_TRAILING_COMMA.sub(r"\1", text))
    except ValueError:
        return
    packages = lock.get("packages") if isinstance(lock, dict) else None
    for key, entry in (packages or {}).items():
        if isinstance(entry, list) and entry and isinstance(entry[0], str):
            spec = _split(entry[0])[1]
            if not _lock_spec_ok(spec):
                yield str(key), spec
    for workspace in ((lock.get("workspaces") or {}) if isinstance(lock, dict) else {}).values():
        for field in DEPENDENCY_FIELDS:
            for dep, spec in _string_pairs((workspace or {}).get(field)):
                if not allowed_spec(spec):
                    yield dep, spec
