"""Which WebGPU backend an onnxruntime-web entry point carries at a version.

The facts live in ``data/onnxruntime-web.json`` (measured from the npm
tarballs, rewritten by ``ortfix refresh-versions``); this module only reads
them and answers questions with npm's own semver semantics.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import nodesemver

PACKAGE = "onnxruntime-web"
DATA = Path(__file__).parents[1] / "data"  # a plain path, not importlib.resources: that import alone costs a scan 30 ms
TABLE_PATH = DATA / "onnxruntime-web.json"  # the version table, which `ortfix refresh-versions` rewrites
NATIVE = "native"
JSEP = "jsep"
NONE = "none"


@dataclass(frozen=True)
class Era:
    versions: str
    backends: dict[str, str]


@dataclass(frozen=True)
class VersionTable:
    latest: str
    native_from: str
    native_entry: str
    replaceable_entries: tuple[str, ...]
    webgl_entries: tuple[str, ...]
    eras: tuple[Era, ...]
    published: tuple[str, ...]
    _era_of: dict[str, Era | None] = field(default_factory=dict, compare=False, repr=False)  # semver is slow

    def backend(self, entry: str, version: str | None) -> str | None:
        """The backend `entry` carries at `version` (None: the entry does not exist then)."""
        era = self.era(version or self.latest)
        return era.backends.get(entry) if era else None

    def era(self, version: str) -> Era | None:
        if version not in self._era_of:
            self._era_of[version] = next((e for e in self.eras if in_range(version, e.versions)), None)
        return self._era_of[version]

    def installed_by(self, range_text: str) -> str | None:
        """The version a fresh install of `range_text` gets, as far as the table knows."""
        best = nodesemver.max_satisfying(list(self.published), range_text, True)
        return best or min_version(range_text)

    def is_native_version(self, version: str) -> bool:
        return compare(version, self.native_from) >= 0


@lru_cache(maxsize=1)
def table() -> VersionTable:
    raw = json.loads(TABLE_PATH.read_text("utf-8"))
    return parse_table(raw)


def parse_table(raw: dict) -> VersionTable:
    return VersionTable(
        latest=raw["latest"],
        native_from=raw["native_from"],
        native_entry=raw["native_entry"],
        replaceable_entries=tuple(raw["replaceable_entries"]),
        webgl_entries=tuple(raw["webgl_entries"]),
        eras=tuple(Era(e["versions"], dict(e["backends"])) for e in raw["eras"]),
        published=tuple(raw["published"]),
    )


def valid_range(text: str) -> bool:
    try:
        nodesemver.make_range(text, True)
    except (ValueError, TypeError):
        return False
    return True


def in_range(version: str, range_text: str) -> bool:
    return bool(nodesemver.satisfies(version, range_text, True, include_prerelease=True))


@lru_cache(maxsize=4096)  # a scan asks about the same few versions for every load; a worker lives for weeks
def compare(a: str, b: str) -> int:
    return int(nodesemver.compare(a, b, True))


def min_version(range_text: str) -> str | None:
    """The lowest version `range_text` admits (node-semver's minVersion)."""
    try:
        rng = nodesemver.make_range(range_text, True)
    except (ValueError, TypeError):
        return None
    for floor in ("0.0.0", "0.0.0-0"):
        if in_range(floor, range_text):
            return floor
    lowest: str | None = None
    for comparators in rng.set:
        set_min: str | None = None
        for comparator in comparators:
            if comparator.operator not in (">", ">=", "", None) or not hasattr(comparator.semver, "format"):
                continue
            candidate = comparator.semver.format()
            if comparator.operator == ">":
                candidate = _successor(comparator.semver)
            if set_min is None or compare(candidate, set_min) > 0:
                set_min = candidate
        if set_min is not None and (lowest is None or compare(lowest, set_min) > 0):
            lowest = set_min
    return lowest if lowest and in_range(lowest, range_text) else None


def _successor(semver: nodesemver.SemVer) -> str:
    if semver.prerelease:
        return f"{semver.format()}.0"
    return f"{semver.major}.{semver.minor}.{semver.patch + 1}"


def admits_below(range_text: str, floor: str) -> bool:
    lowest = min_version(range_text)
    return lowest is not None and compare(lowest, floor) < 0


_VERSION_TOKEN = re.compile(r"\d+(?:\.(?:\d+|[xX*]))?(?:\.(?:\d+|[xX*]))?(?:-[0-9A-Za-z.-]+)?")


def raise_floor(range_text: str, target: str, floor: str) -> str | None:
    """`range_text` with its lower bound raised to `target`, operator kept.

    ``^1.20.1`` → ``^1.30.0``; ``>=1.18.0 <2`` → ``>=1.30.0 <2``. Returns None
    when no single edit gives a range whose lowest version reaches `floor`.
    """
    stripped = range_text.strip()
    if "||" in stripped:
        candidate = f"^{target}"
    else:
        match = _VERSION_TOKEN.search(stripped)
        if not match:
            return None
        candidate = stripped[: match.start()] + _same_precision(match.group(0), target) + stripped[match.end() :]
    if not valid_range(candidate) or not in_range(target, candidate) or admits_below(candidate, floor):
        return None
    return range_text.replace(stripped, candidate)


def _same_precision(token: str, target: str) -> str:
    """`target` written as precisely as `token`: ``1.22`` → ``1.30``, ``1.22.x`` → ``1.30.x``."""
    parts = token.split("-")[0].split(".")
    major, minor = target.split(".")[:2]
    if len(parts) == 2:
        return f"{major}.{minor}"
    if len(parts) == 3 and parts[2] in ("x", "X", "*"):
        return f"{major}.{minor}.{parts[2]}"
    return target


@dataclass(frozen=True)
class Wrapper:
    """A library that loads onnxruntime-web for the app (data/wrappers.json)."""

    name: str
    kind: str  # upgrade | upstream
    native_from: str | None = None
    recommended: str | None = None
    old: str = ""
    safari: str = ""
    why: str = ""
    pins_onnxruntime_web: bool = False


@lru_cache(maxsize=1)
def wrappers() -> dict[str, Wrapper]:
    raw = json.loads((DATA / "wrappers.json").read_text("utf-8"))
    return {name: Wrapper(name=name, **fields) for name, fields in raw["wrappers"].items()}
