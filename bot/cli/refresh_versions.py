"""`ortfix refresh-versions`: re-measure the version table from the npm registry.

For every version the table has not classified yet, read the packument's
`exports`, fetch the tarball and look at which wasm each entry's bundle loads
(`.jsep.` → JSEP, `.asyncify.`/`.jspi.` → native, neither → no WebGPU). The
eras (runs of versions whose entries behave alike) are rebuilt from that, so
the day `.` turns native and `./jsep` appears, the detector follows.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable, Iterable

import nodesemver

from bot.core.versions import JSEP, NATIVE, NONE, PACKAGE

REGISTRY_URL = "https://registry.npmjs.org"
# the wasm file a bundle loads; not `jsepInit`, which 1.15's CPU-only bundle carries in its glue
_NATIVE_MARKERS = (b".asyncify.", b".jspi.")
_JSEP_MARKERS = (b".jsep.",)

FetchJson = Callable[[str], dict]
FetchBytes = Callable[[str], bytes]
TIMEOUT = (10, 300)  # connect, read: a tarball is about 33 MB


def http_fetchers() -> tuple[FetchJson, FetchBytes]:
    """Fetchers for the real registry (requests, with timeouts; an HTTP error raises)."""
    import requests

    session = requests.Session()
    session.headers["User-Agent"] = "ortfix refresh-versions"

    def fetch_json(url: str) -> dict:
        response = session.get(url, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()

    def fetch_bytes(url: str) -> bytes:
        response = session.get(url, timeout=TIMEOUT)
        response.raise_for_status()
        return response.content

    return fetch_json, fetch_bytes


def refresh(
    current: dict, fetch_json: FetchJson, fetch_bytes: FetchBytes, limit: int | None = None
) -> tuple[dict, list[str]]:
    """The table rebuilt from the registry, and a line per change worth telling."""
    packument = fetch_json(f"{REGISTRY_URL}/{PACKAGE}")
    classified: dict[str, dict[str, str]] = dict(current.get("classified", {}))
    news = []
    todo = [v for v in _sorted(packument["versions"]) if v not in classified]
    for version in todo[:limit]:
        meta = packument["versions"][version]
        files = entry_files(meta)
        contents = tarball_files(fetch_bytes(meta["dist"]["tarball"]), set(files.values()))
        classified[version] = {entry: classify_bundle(contents.get(file, b"")) for entry, file in files.items()}
        news.append(f"{version}: " + ", ".join(f"{e} {b}" for e, b in sorted(classified[version].items())))
    table = dict(current)
    table["classified"] = {v: classified[v] for v in _sorted(classified)}
    table["eras"] = build_eras(classified)
    table["latest"] = packument["dist-tags"]["latest"]
    table["published"] = [v for v in _sorted(packument["versions"]) if not nodesemver.make_semver(v, True).prerelease]
    newest = table["eras"][-1]["backends"]
    if newest.get(".") == NATIVE:
        news.append(
            f"the bare entry is native from {table['eras'][-1]['versions']}: bare imports stop being findings there"
            + (", and `onnxruntime-web/jsep` imports become them" if "./jsep" in newest else "")
        )
    return table, news


def entry_files(meta: dict) -> dict[str, str]:
    """entry → the bundle file a browser `import` of it loads (package-relative, no `./`)."""
    exports = meta.get("exports")
    files = {}
    if isinstance(exports, dict):
        for entry, target in exports.items():
            if entry != "." and (not entry.startswith("./") or "." in entry[2:]):
                continue  # asset and package.json exports, not entry points
            file = _browser_import(target)
            if file:
                files[entry] = file.removeprefix("./")
    elif isinstance(meta.get("browser"), str):
        files["."] = meta["browser"].removeprefix("./")
    return files


def _browser_import(target: object) -> str | None:
    if isinstance(target, str):
        return target
    if not isinstance(target, dict):
        return None
    for condition in ("import", "default", "require"):
        if condition in target:
            return _browser_import(target[condition])
    return None


def tarball_files(tarball: bytes, wanted: Iterable[str]) -> dict[str, bytes]:
    """The wanted files (package-relative) out of an npm tarball, whose members sit under `package/`."""
    wanted = set(wanted)
    found = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for member in archive:
            name = member.name.split("/", 1)[-1]
            if name in wanted and member.isfile():
                handle = archive.extractfile(member)
                if handle is not None:
                    found[name] = handle.read()
    return found


def classify_bundle(bundle: bytes) -> str:
    if any(marker in bundle for marker in _JSEP_MARKERS):
        return JSEP
    if any(marker in bundle for marker in _NATIVE_MARKERS):
        return NATIVE
    return NONE


def build_eras(classified: dict[str, dict[str, str]]) -> list[dict]:
    """Runs of consecutive versions with the same backends, as semver ranges.

    A version between two classified ones behaves like the classified one just
    below it. A run starting at a prerelease of a new x.y.z starts at `x.y.z-0`,
    so that every dev build of that release falls in it.
    """
    versions = _sorted(classified)
    runs: list[list[str]] = []
    for version in versions:
        if runs and classified[runs[-1][-1]] == classified[version]:
            runs[-1].append(version)
        else:
            runs.append([version])
    starts = [_lower_bound(run[0], runs[i - 1] if i else []) for i, run in enumerate(runs)]
    eras = []
    for i, run in enumerate(runs):
        low = f">={starts[i]}" if i else ""
        high = f"<{starts[i + 1]}" if i + 1 < len(runs) else ""
        eras.append({"versions": " ".join(filter(None, [low, high])) or "*", "backends": classified[run[0]]})
    return eras


def _lower_bound(first: str, previous: list[str]) -> str:
    release = _release(first)
    if nodesemver.make_semver(first, True).prerelease and not any(_release(v) == release for v in previous):
        return f"{release}-0"
    return first


def _release(version: str) -> str:
    semver = nodesemver.make_semver(version, True)
    return f"{semver.major}.{semver.minor}.{semver.patch}"


def _sorted(versions: Iterable[str]) -> list[str]:
    return nodesemver.sort(list(versions), True)
