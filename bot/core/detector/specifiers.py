"""Module specifiers and URLs that name onnxruntime-web: which entry they load, and the native rewrite."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.versions import PACKAGE

_SUBPATH_ENTRIES = {"webgpu", "all", "experimental", "jsep", "jspi", "wasm", "webgl"}

# dist file stem (between "ort" and ".min"/".bundle"/".js") → entry
_FILE = re.compile(
    r"^(?P<dir>(?:dist/)?(?:esm/)?)ort(?P<flavour>\.all|\.experimental|\.webgpu|\.wasm|\.wasm-core|\.webgl|\.jspi|\.jsep|\.es5|\.es6|\.node)?"
    r"(?P<tail>(?:\.bundle)?(?:\.min)?\.m?js)$"
)
_FLAVOUR_ENTRY = {
    "": ".",
    ".es5": ".",
    ".es6": ".",
    ".all": "./all",
    ".experimental": "./experimental",
    ".webgpu": "./webgpu",
    ".wasm": "./wasm",
    ".wasm-core": "./wasm",
    ".webgl": "./webgl",
    ".jspi": "./jspi",
    ".jsep": "./jsep",
    ".node": "./node",
}
# a URL or path that names the package: …/onnxruntime-web[@version][/path][?query]
_URL = re.compile(
    r"^(?P<head>(?:[a-z]+:)?//(?P<host>[^/]+)/(?:[^?#]*/)?|(?:[^?#:]*/)?)"
    + re.escape(PACKAGE)
    + r"(?:@(?P<version>[^/?#]+))?(?P<path>/[^?#]*)?(?P<query>[?#].*)?$"
)
_CDNJS = re.compile(
    r"^(?P<head>(?:https?:)?//cdnjs\.cloudflare\.com/ajax/libs/" + re.escape(PACKAGE) + r"/)"
    r"(?P<version>[^/]+)(?P<path>/[^?#]*)(?P<query>[?#].*)?$"
)
_ESM_HOSTS = ("esm.sh", "cdn.skypack.dev", "esm.run")


@dataclass(frozen=True)
class Target:
    """What a specifier or URL loads: an entry of the package, and the version a URL pins."""

    entry: str
    is_url: bool
    version: str | None = None


def classify(spec: str) -> Target | None:
    """The onnxruntime-web entry `spec` loads, or None when it loads something else."""
    if spec == PACKAGE:
        return Target(".", False)
    if spec.startswith(PACKAGE + "/"):
        sub = spec[len(PACKAGE) + 1 :]
        if sub in _SUBPATH_ENTRIES:
            return Target("./" + sub, False)
        return None
    url = _parse_url(spec)
    if url is None:
        return None
    entry = _url_entry(url)
    return Target(entry, True, url.version) if entry else None


def rewrite(spec: str, entry: str, version: str | None = None) -> str | None:
    """`spec` changed to load `entry` (and, for a URL, `version`); everything else kept."""
    if not spec.startswith(PACKAGE) or ("/" in spec and not spec.startswith(PACKAGE + "/")):
        url = _parse_url(spec)
        return _rewrite_url(url, entry, version) if url else None
    return PACKAGE if entry == "." else f"{PACKAGE}/{entry[2:]}"


@dataclass(frozen=True)
class _Url:
    head: str
    host: str
    version: str | None
    path: str
    query: str
    cdnjs: bool


def _parse_url(spec: str) -> _Url | None:
    match = _CDNJS.match(spec)
    if match:
        return _Url(match["head"], "cdnjs.cloudflare.com", match["version"], match["path"], match["query"] or "", True)
    match = _URL.match(spec)
    if not match or not match["head"]:
        return None
    return _Url(match["head"], match["host"] or "", match["version"], match["path"] or "", match["query"] or "", False)


def _url_entry(url: _Url) -> str | None:
    path = url.path.strip("/")
    if path in ("", "+esm"):
        return "." if url.host else None
    if path.removesuffix("/+esm") in _SUBPATH_ENTRIES:
        return "./" + path.removesuffix("/+esm")
    file = _FILE.match(path)
    return _FLAVOUR_ENTRY[file["flavour"] or ""] if file else None


def _rewrite_url(url: _Url, entry: str, version: str | None) -> str | None:
    new_version = version or url.version
    path = url.path.strip("/")
    if path in ("", "+esm") or path.removesuffix("/+esm") in _SUBPATH_ENTRIES:
        if url.host in _ESM_HOSTS:
            new_path = "/" + entry[2:]
        elif path.endswith("+esm"):
            new_path = f"/dist/ort.{entry[2:]}.bundle.min.mjs"
        else:
            new_path = f"/dist/ort.{entry[2:]}.min.js"
    else:
        file = _FILE.match(path)
        if not file:
            return None
        tail = file["tail"]
        if file["dir"].endswith("esm/") and tail.endswith(".js"):
            tail = tail[:-3] + ".mjs"  # the 1.17–1.18 dist/esm/ layout is gone: its modules are .mjs now
        prefix = url.path[: len(url.path) - len(path)]
        new_path = f"{prefix}{file['dir'].replace('esm/', '')}ort.{entry[2:]}{tail}"
    if url.cdnjs:
        return f"{url.head}{new_version}{new_path}{url.query}"
    at = f"@{new_version}" if new_version else ""
    return f"{url.head}{PACKAGE}{at}{new_path}{url.query}"


_PREFIX = re.compile(re.escape(PACKAGE) + r"@(?P<version>\d[^/?#]*)/")


def prefix_version(url: str) -> str | None:
    """The version pinned by a `wasmPaths` URL prefix (`…/onnxruntime-web@1.22.0/dist/`)."""
    match = _PREFIX.search(url)
    return match["version"] if match else None
