"""The rules: a package's loads, provider requests and versions in, findings out.

A package is the directory of the nearest package.json; outside any, the
scanner makes a page (an HTML document and what it loads) or a folder the
unit. Whether a load is a problem depends on that unit as a whole: the
WebGPU-use gate, the version the lockfile installs, import maps.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from functools import cached_property

from bot.core import markdown
from bot.core.detector import messages
from bot.core.detector.companions import JSEP_MARK, NATIVE_MARK
from bot.core.detector.findings import ERROR, INFO, WARNING, Finding
from bot.core.detector.lockfiles import INSTALL_COMMANDS
from bot.core.detector.manifests import RangeLine
from bot.core.detector.sources import FileFacts, Load, Place
from bot.core.detector.specifiers import prefix_version, rewrite
from bot.core.versions import (
    JSEP,
    NATIVE,
    NONE,
    PACKAGE,
    VersionTable,
    Wrapper,
    admits_below,
    compare,
    in_range,
    min_version,
    raise_floor,
    valid_range,
)

JSEP_IMPORT = "jsep-import"
JSEP_CDN = "jsep-cdn"
ORT_VERSION = "ort-version"
JSEP_ASSET = "jsep-asset"
MIXED_ENTRY = "mixed-entry"
NATIVE_IGNORED_FLAG = "native-ignored-flag"
WRAPPER_VERSION = "wrapper-version"
VENDORED_JSEP = "vendored-jsep"
LOCKFILE_VERSION = "lockfile-version"
RULES = {  # rule id → one-line description
    JSEP_IMPORT: "Code loads onnxruntime-web's deprecated JSEP WebGPU backend",
    JSEP_CDN: "A CDN URL loads onnxruntime-web's deprecated JSEP WebGPU backend",
    ORT_VERSION: "The onnxruntime-web range admits versions without the native WebGPU backend",
    JSEP_ASSET: "A JSEP wasm asset name or wasmPaths prefix that must change with the import",
    MIXED_ENTRY: "Both the JSEP and the native entry of onnxruntime-web are loaded in one package",
    NATIVE_IGNORED_FLAG: "An env.webgpu flag that the native WebGPU backend ignores",
    WRAPPER_VERSION: "A library that wraps onnxruntime-web keeps WebGPU on the JSEP backend",
    VENDORED_JSEP: "A committed copy of onnxruntime-web's own bundle carries the JSEP WebGPU backend",
    LOCKFILE_VERSION: "The lockfile installs an onnxruntime-web that the range no longer asks for",
}
_EXACT = re.compile(r"=?v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?")


@dataclass(frozen=True)
class Locked:
    """The version a lockfile installs, at its line that resolves it (where a stale lockfile is reported)."""

    at: Place
    version: str
    name: str  # the lockfile's file name: which package manager refreshes it


@dataclass(frozen=True)
class WrapperUse:
    line: RangeLine
    wrapper: Wrapper
    installed: str | None  # from the lockfile, else the lowest version the range admits


@dataclass
class Package:
    """What the rules need to know about one package: its files' facts, its versions, its wrappers."""

    dir: str
    files: list[FileFacts] = field(default_factory=list)
    ranges: list[RangeLine] = field(default_factory=list)  # its own declaration and the global overrides above it
    declared: str | None = None  # the range the nearest declaring package.json gives
    resolved: str | None = None  # the version the lockfile installs
    lock: Locked | None = None  # where the lockfile says so
    wrappers: list[WrapperUse] = field(default_factory=list)
    mapped_paths: set[str] = field(default_factory=set)  # files whose bare imports an import map resolves
    nearby_providers: set[str] = field(default_factory=set)  # asked for next to a folder unit's files

    # Derived once, on first use: the rules read them per load, and `files` is complete by then.
    @cached_property
    def providers(self) -> set[str]:
        return set().union(self.nearby_providers, *(f.providers for f in self.files))

    @cached_property
    def loads(self) -> list[Load]:
        return [load for f in self.files for load in f.loads]

    @cached_property
    def companions(self) -> list[Place]:
        return [place for f in self.files for place in f.companions]


def evaluate(package: Package, table: VersionTable) -> list[Finding]:
    uses_webgpu = "webgpu" in package.providers
    installed = package.resolved or (table.installed_by(package.declared) if package.declared else None)
    loads = [load for load in package.loads if not _mapped_away(load, package)]
    load_findings = [f for load in loads if (f := _load_finding(load, package, table, installed, uses_webgpu))]
    version_sensitive = any(
        not load.target.is_url and load.target.entry in (*table.replaceable_entries, table.native_entry)
        for load in loads
    )
    version_findings = _version_findings(package, table, uses_webgpu) if version_sensitive else []
    findings = load_findings + version_findings
    findings += _companion_findings(package, table, loads, load_findings, version_findings, installed)
    findings += _mixed_entry_findings(package, table, loads)
    findings += _wrapper_findings(package, uses_webgpu)
    findings += _vendored_findings(package, table, uses_webgpu)
    if version_sensitive:
        findings += _lockfile_findings(package, table, uses_webgpu)
    return findings


def _mapped_away(load: Load, package: Package) -> bool:
    """A bare import that an import map resolves: the map's URL is the finding, the code can stay."""
    return not load.target.is_url and load.target.entry == "." and load.path in package.mapped_paths


def _load_finding(load: Load, package: Package, table: VersionTable, installed: str | None, uses_webgpu: bool):
    target = load.target
    version = _version_of(load, table, installed)
    shown_version = version or table.latest
    backend = table.backend(target.entry, version)
    old = not table.is_native_version(shown_version)
    fix = rewrite(load.value, table.native_entry, table.latest if target.is_url and old else None)
    rule = JSEP_CDN if target.is_url else JSEP_IMPORT
    then = "" if target.is_url else messages.RAISE_THEN
    words = {
        "spec": markdown.code(load.value),
        "fix": markdown.code(fix),
        "version": markdown.plain(shown_version),
        "native": _floor(table),
        "sources": messages.SOURCES,
        "then": then,
        "latest": table.latest,
    }
    if target.entry in table.replaceable_entries and backend in (JSEP, NONE):
        if target.entry in table.webgl_entries and "webgl" in package.providers:
            return _finding(load, rule, WARNING, messages.WEBGL.format(**words), None, uses_webgpu)
        if backend == NONE:
            message = messages.NO_WEBGPU.format(**words)
        else:
            message = messages.JSEP.format(**words) + _old_version(target.is_url, old, words)
        return _finding(load, rule, ERROR, message, fix, uses_webgpu)
    if target.is_url and target.entry == table.native_entry and old:
        message = messages.JSEP.format(**words) + _old_version(True, old, words)
        return _finding(load, rule, ERROR, message, fix, loud=True)  # a /webgpu URL says WebGPU is wanted
    return None


def _old_version(is_url: bool, old: bool, words: dict[str, str]) -> str:
    """What an old version adds: a URL's suggestion pins the latest release; an import needs the range raised."""
    if not old:
        return ""
    return (messages.OLD_URL if is_url else messages.OLD_NATIVE).format(**words)


def _finding(at: Place | RangeLine, rule: str, severity: str, message: str, fix: str | None, loud: bool) -> Finding:
    """The finding at `at`'s span; `fix` replaces the span, and a quiet finding is only info.

    A span under an `integrity` hash gets no fix: the hash must be recomputed with the URL, which ortfix cannot do.
    """
    if fix is not None and isinstance(at, Place) and at.pinned:
        fix, message = None, message + messages.PINNED_BY_HASH
    replacement = None
    if fix is not None:
        replacement = (at.line[: at.start] + fix.encode() + at.line[at.end :]).decode("utf-8", "replace")
    return Finding(
        path=at.path,
        line=at.row + 1,
        end_line=at.row + 1,
        column=len(at.line[: at.start].decode("utf-8", "replace")) + 1,
        rule=rule,
        severity=severity if loud else INFO,
        message=message if loud else messages.QUIET + message,
        original=at.line.decode("utf-8", "replace"),
        replacement=replacement,
    )


def _version_findings(package: Package, table: VersionTable, uses_webgpu: bool) -> list[Finding]:
    native = table.native_from
    loud = uses_webgpu or any(
        load.target.entry == table.native_entry and not load.target.is_url for load in package.loads
    )
    pinning = next((use.wrapper.name for use in package.wrappers if use.wrapper.pins_onnxruntime_web), None)
    findings = []
    for line in package.ranges:
        if not valid_range(line.range) or not admits_below(line.range, native):
            continue
        lowest = min_version(line.range) or line.range
        if package.resolved is None and not line.is_override and _EXACT.fullmatch(line.range.strip()):
            installed, severity = messages.PINNED.format(version=markdown.code(lowest)), ERROR
        elif package.resolved is None:
            installed, severity = messages.UNLOCKED, WARNING
        elif compare(package.resolved, native) < 0:
            installed, severity = messages.LOCKED_OLD.format(resolved=markdown.plain(package.resolved)), ERROR
        else:
            installed, severity = messages.LOCKED_NEW.format(resolved=markdown.plain(package.resolved)), WARNING
        message = messages.VERSION.format(
            lowest=markdown.plain(lowest),
            native=_floor(table),
            fix=f"{PACKAGE}/{table.native_entry[2:]}",
            no_webgpu=messages.VERSION_NO_WEBGPU if table.backend(".", lowest) == NONE else "",
            installed=installed,
            latest=table.latest,
            sources=messages.SOURCES,
        )
        fixed_range = raise_floor(line.range, table.latest, native)
        if pinning and line.is_override:
            message += messages.PINNED_BY_WRAPPER.format(wrapper=pinning)
            fixed_range = None
        findings.append(_finding(line, ORT_VERSION, severity, message, fixed_range, loud))
    return findings


def _companion_findings(
    package: Package,
    table: VersionTable,
    loads: list[Load],
    load_findings: list[Finding],
    version_findings: list[Finding],
    installed: str | None,
) -> list[Finding]:
    """Assets, wasmPaths prefixes and ignored flags: only where the package ends up on the native backend.

    They are as loud as the import findings they go with, so `--fix` (or
    `--fix --all`) switches the imports and the assets in one step, never half.
    """
    switching = bool(load_findings) and all(f.replacement is not None for f in load_findings)
    raised = bool(version_findings) and all(f.replacement is not None for f in version_findings)
    ends_on = table.latest if raised else installed  # a raised range installs the latest release
    ends_native = ends_on is None or table.is_native_version(ends_on)
    native_after_fix = any(
        table.backend(load.target.entry, _version_of(load, table, ends_on)) == NATIVE for load in loads
    )
    if not (native_after_fix or switching) or not ends_native:
        return []
    loud = native_after_fix or any(f.severity != INFO for f in load_findings)
    target = table.latest if version_findings else installed
    findings = []
    for place in package.companions:
        if place.via == "asset":
            fixed = place.value.replace(JSEP_MARK.decode(), NATIVE_MARK)
            message = messages.ASSET.format(value=markdown.code(place.value), fix=markdown.code(fixed))
            findings.append(_finding(place, JSEP_ASSET, ERROR, message, NATIVE_MARK, loud))
        elif place.via == "wasm-prefix" and target is not None:
            found = prefix_version(place.value)
            if found is not None and found != target:
                verb = messages.WASM_PREFIX_MOVES if version_findings else messages.WASM_PREFIX_INSTALLS
                message = messages.WASM_PREFIX.format(
                    found=markdown.plain(found), installs=verb, target=markdown.plain(target)
                )
                fix = place.value.replace(f"@{found}/", f"@{target}/", 1)
                findings.append(_finding(place, JSEP_ASSET, ERROR, message, fix, loud))
        elif place.via == "flag":
            message = messages.FLAG_MESSAGES[place.value].format(flag=place.value)
            findings.append(_finding(place, NATIVE_IGNORED_FLAG, INFO, message, None, loud))
    return findings


def _mixed_entry_findings(package: Package, table: VersionTable, loads: list[Load]) -> list[Finding]:
    """Two bundles of onnxruntime-web in one package: each its own `ort`, `env` and wasm download."""
    jsep = [load for load in loads if load.target.entry in table.replaceable_entries]
    native = [load for load in loads if load.target.entry == table.native_entry]
    findings = []
    if jsep and native:
        other = ", ".join(
            sorted({f"{markdown.code(load.value)} ({markdown.code(f'{load.path}:{load.row + 1}')})" for load in jsep})
        )
        message = messages.MIXED.format(native=f"{PACKAGE}/{table.native_entry[2:]}", other=other)
        because = tuple(sorted({f"{load.path}:{load.row + 1}" for load in jsep}))
        findings += [
            dataclasses.replace(_finding(load, MIXED_ENTRY, WARNING, message, None, loud=True), because=because)
            for load in native
        ]
    for use in package.wrappers:
        if use.wrapper.native_from and use.installed and compare(use.installed, use.wrapper.native_from) >= 0:
            for load in jsep:
                message = messages.MIXED_WRAPPER.format(
                    spec=markdown.code(load.value), wrapper=use.wrapper.name, version=markdown.plain(use.installed)
                )
                findings.append(_finding(load, MIXED_ENTRY, WARNING, message, None, loud=True))
    return findings


def _wrapper_findings(package: Package, uses_webgpu: bool) -> list[Finding]:
    findings = []
    for use in package.wrappers:
        wrapper, line = use.wrapper, use.line
        if wrapper.kind == "upstream":
            message = messages.WRAPPER_UPSTREAM.format(why=wrapper.why)
            findings.append(_finding(line, WRAPPER_VERSION, WARNING, message, None, uses_webgpu))
            continue
        lowest = min_version(line.range)
        if not (wrapper.native_from and wrapper.recommended and lowest and use.installed):
            continue
        if compare(lowest, wrapper.recommended) >= 0:
            continue  # the range already asks for a good release (a stale lockfile is npm ci's to report)
        if compare(use.installed, wrapper.native_from) < 0:
            message, severity = messages.WRAPPER_UPGRADE.format(old=wrapper.old, recommended=wrapper.recommended), ERROR
        else:
            message = messages.WRAPPER_SAFARI.format(safari=wrapper.safari, recommended=wrapper.recommended)
            severity = WARNING
        fix = raise_floor(line.range, wrapper.recommended, wrapper.recommended)
        findings.append(_finding(line, WRAPPER_VERSION, severity, message, fix, uses_webgpu))
    return findings


def _vendored_findings(package: Package, table: VersionTable, uses_webgpu: bool) -> list[Finding]:
    """A committed onnxruntime-web bundle that carries JSEP: a JSEP load no import names."""
    findings = []
    for facts in package.files:
        if facts.bundle is None:
            continue
        banner = facts.bundle.value
        version = messages.BUNDLE_VERSION.format(version=markdown.code(banner)) if banner else ""
        message = messages.VENDORED.format(
            path=markdown.code(facts.path), version=version, native=_floor(table), sources=messages.SOURCES
        )
        findings.append(_finding(facts.bundle, VENDORED_JSEP, ERROR, message, None, uses_webgpu))
    return findings


def _lockfile_findings(package: Package, table: VersionTable, uses_webgpu: bool) -> list[Finding]:
    """The range and the lockfile disagree: what installs is the lockfile's, until the package manager runs."""
    lock, declared = package.lock, package.declared
    if lock is None or declared is None or not valid_range(declared):
        return []
    words = {
        "lockfile": markdown.code(lock.at.path),
        "locked": markdown.code(lock.version),
        "range": markdown.code(declared),
        "command": INSTALL_COMMANDS[lock.name],
        "native": _floor(table),
    }
    if not table.is_native_version(lock.version) and not admits_below(declared, table.native_from):
        message = messages.LOCKFILE_OLD.format(**words)
    elif not in_range(lock.version, declared):
        message = messages.LOCKFILE_OUTSIDE.format(**words)
    else:
        return []
    loud = uses_webgpu or any(
        load.target.entry == table.native_entry and not load.target.is_url for load in package.loads
    )
    return [_finding(lock.at, LOCKFILE_VERSION, ERROR, message, None, loud)]


def _version_of(load: Load, table: VersionTable, installed: str | None) -> str | None:
    """The version a load gets: a URL's own pin, else what the package installs (None: unknown)."""
    if not load.target.is_url:
        return installed
    return table.installed_by(load.target.version) if load.target.version else None


def _floor(table: VersionTable) -> str:
    return table.native_from.removesuffix("-0")


def fold_mixed(findings: list[Finding], shown: set[str] | None = None) -> tuple[list[Finding], tuple[int, ...]]:
    """A surface's findings with `mixed-entry` as a consequence, not a line to change.

    Where the JSEP loads a mixed-entry finding names are findings on the same surface, fixing those
    removes the second bundle: the finding goes, and its package's number of such loads is returned
    (one per package) for a summary sentence. Otherwise (the JSEP side is outside what the surface
    shows) it stays on its line, naming those files. `shown`: the paths the surface shows (None: all).
    """
    visible = [f for f in findings if shown is None or f.path in shown]
    places = {f"{f.path}:{f.line}" for f in visible if f.rule != MIXED_ENTRY}
    kept, folded = [], {}
    for finding in findings:
        if finding.rule == MIXED_ENTRY and finding.because and set(finding.because) <= places:
            folded[finding.because] = len(finding.because)
        elif shown is None or finding.path in shown:
            kept.append(finding)
    return kept, tuple(folded.values())
