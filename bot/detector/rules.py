"""The rules: a package's loads, provider requests and versions in, findings out.

A package is the directory of the nearest package.json (or the scanned root
when there is none). Whether a load is a problem depends on that package as a
whole: the WebGPU-use gate, the version the lockfile installs, import maps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.backends import JSEP, NONE, PACKAGE, VersionTable, admits_below, compare, min_version, raise_floor, valid_range
from bot.detector.findings import ERROR, INFO, WARNING, Finding
from bot.detector.manifests import RangeLine
from bot.detector.sources import FileFacts, Load
from bot.detector.specifiers import rewrite

JSEP_IMPORT = "jsep-import"
JSEP_CDN = "jsep-cdn"
ORT_VERSION = "ort-version"
RULES = {  # rule id → one-line description
    JSEP_IMPORT: "Code loads onnxruntime-web's deprecated JSEP WebGPU backend",
    JSEP_CDN: "A CDN URL loads onnxruntime-web's deprecated JSEP WebGPU backend",
    ORT_VERSION: "The onnxruntime-web range admits versions without the native WebGPU backend",
}

SOURCES = "microsoft/onnxruntime#32578 (JSEP wrong results), microsoft/onnxruntime#24856 (native EP in /webgpu)"
JSEP_MESSAGE = (
    "`{spec}` loads the JSEP WebGPU backend of onnxruntime-web (the JavaScript EP, deprecated since 1.29, with known "
    "wrong results on quantized models). Headless CI has no GPU and falls back to WASM, so tests do not show it. "
    "`{fix}` loads the maintained native WebGPU EP (onnxruntime-web 1.23.0 and later). Switching is not a promise "
    "that a given model's output changes. Sources: {sources}."
)
NO_WEBGPU_MESSAGE = (
    "`{spec}` at onnxruntime-web {version} has no WebGPU backend at all: asking for 'webgpu' fails outright. "
    "Load `{fix}` with onnxruntime-web {native} or later for the native WebGPU EP (see the ort-version finding). "
    "Sources: {sources}."
)
OLD_NATIVE_NOTE = (
    " At onnxruntime-web {version}, `{fix}` is JSEP as well: raise onnxruntime-web to {native} or later in the same "
    "change (see the ort-version finding)."
)
WEBGL_MESSAGE = (
    "`{spec}` carries the JSEP WebGPU backend together with WebGL, and this package asks for 'webgl', which `{fix}` "
    "does not have. No one-line fix: move WebGPU work to `{fix}` and WebGL work to `onnxruntime-web/webgl`, or drop "
    "WebGL. Sources: {sources}."
)
QUIET_PREFIX = "No WebGPU use seen in this package (no 'webgpu' execution provider or device), so this is only a note: "
VERSION_MESSAGE = (
    "This range admits onnxruntime-web {lowest}, below {native}, where `{fix}` is still the JSEP backend{no_webgpu}. "
    "{installed} Raise the floor to {latest}, then refresh the lockfile (`npm install`, `pnpm install` or "
    "`yarn install`). Sources: {sources}."
)
NO_WEBGPU_NOTE = " and the bare `onnxruntime-web` entry has no WebGPU at all"
LOCKED_OLD = "The lockfile installs {resolved}: this package runs JSEP (or no WebGPU) today."
LOCKED_NEW = "The lockfile already installs {resolved}, but a fresh or downstream install can still get a JSEP build."
UNLOCKED = "There is no lockfile, so an install can get a JSEP build."


@dataclass
class Package:
    """What the rules need to know about one package: its files' facts and its versions."""

    dir: str
    files: list[FileFacts] = field(default_factory=list)
    ranges: list[RangeLine] = field(default_factory=list)
    declared: str | None = None  # the range the nearest declaring package.json gives
    resolved: str | None = None  # the version the lockfile installs

    @property
    def providers(self) -> set[str]:
        return set().union(*(f.providers for f in self.files))

    @property
    def mapped(self) -> set[str]:
        return set().union(*(f.mapped for f in self.files))


def evaluate(package: Package, table: VersionTable) -> list[Finding]:
    uses_webgpu = "webgpu" in package.providers
    installed = package.resolved or (table.installed_by(package.declared) if package.declared else None)
    findings: list[Finding] = []
    version_sensitive = False
    for facts in package.files:
        for load in facts.loads:
            if not load.target.is_url and load.target.entry == "." and PACKAGE in package.mapped:
                continue  # an import map decides what the bare name loads; its URL is the finding
            if not load.target.is_url and load.target.entry in (*table.replaceable_entries, table.native_entry):
                version_sensitive = True
            finding = _load_finding(load, package, table, installed, uses_webgpu)
            if finding is not None:
                findings.append(finding)
    if version_sensitive:
        findings.extend(_version_findings(package, table, uses_webgpu))
    return findings


def _load_finding(load: Load, package: Package, table: VersionTable, installed: str | None, uses_webgpu: bool):
    target = load.target
    version = (table.installed_by(target.version) if target.version else None) if target.is_url else installed
    shown_version = version or table.latest
    backend = table.backend(target.entry, version)
    old = not table.is_native_version(shown_version)
    fix = rewrite(load.value, table.native_entry, table.latest if target.is_url and old else None)
    rule = JSEP_CDN if target.is_url else JSEP_IMPORT
    words = {"spec": load.value, "fix": fix, "version": shown_version, "native": _floor(table), "sources": SOURCES}
    if target.entry in table.replaceable_entries and backend in (JSEP, NONE):
        if target.entry in table.webgl_entries and "webgl" in package.providers:
            return _finding(
                load, rule, WARNING if uses_webgpu else INFO, WEBGL_MESSAGE.format(**words), None, uses_webgpu
            )
        if backend == NONE:
            message = NO_WEBGPU_MESSAGE.format(**words)
        else:
            message = JSEP_MESSAGE.format(**words) + (
                OLD_NATIVE_NOTE.format(**words) if old and not target.is_url else ""
            )
        return _finding(load, rule, ERROR, message, fix, uses_webgpu)
    if target.is_url and target.entry == table.native_entry and old:
        message = JSEP_MESSAGE.format(**words) + OLD_NATIVE_NOTE.format(**words)
        return _finding(load, rule, ERROR, message, fix, loud=True)  # a /webgpu URL says WebGPU is wanted
    return None


def _finding(at: Load | RangeLine, rule: str, severity: str, message: str, fix: str | None, loud: bool) -> Finding:
    """The finding at `at`'s span; `fix` replaces the span, and a quiet finding is only info."""
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
        message=message if loud else QUIET_PREFIX + message,
        original=at.line.decode("utf-8", "replace"),
        replacement=replacement,
    )


def _version_findings(package: Package, table: VersionTable, uses_webgpu: bool) -> list[Finding]:
    native = table.native_from
    webgpu_import = any(
        load.target.entry == table.native_entry and not load.target.is_url for f in package.files for load in f.loads
    )
    findings = []
    for line in package.ranges:
        if not valid_range(line.range) or not admits_below(line.range, native):
            continue
        lowest = min_version(line.range) or line.range
        if package.resolved is None:
            installed, severity = UNLOCKED, WARNING
        elif compare(package.resolved, native) < 0:
            installed, severity = LOCKED_OLD.format(resolved=package.resolved), ERROR
        else:
            installed, severity = LOCKED_NEW.format(resolved=package.resolved), WARNING
        no_webgpu = NO_WEBGPU_NOTE if table.backend(".", lowest) == NONE else ""
        message = VERSION_MESSAGE.format(
            lowest=lowest,
            native=_floor(table),
            fix=f"{PACKAGE}/{table.native_entry[2:]}",
            no_webgpu=no_webgpu,
            installed=installed,
            latest=table.latest,
            sources=SOURCES,
        )
        fixed_range = raise_floor(line.range, table.latest, native)
        findings.append(_finding(line, ORT_VERSION, severity, message, fixed_range, uses_webgpu or webgpu_import))
    return findings


def _floor(table: VersionTable) -> str:
    return table.native_from.removesuffix("-0")
