"""Every finding's words. Each says what happens, what the fix is, what else changes, and a source that says so.

Never a promise that a model's output becomes correct (the native EP has bugs
of its own, microsoft/onnxruntime#25195, #32730), never a smaller download.

Values from the repository arrive made safe by rules.py: a specifier, URL or
path as a `markdown.code()` span (so a template puts no backticks around it:
a backtick in the value cannot end the span), a version as `markdown.plain()`.
"""

SOURCES = "microsoft/onnxruntime#32578 (JSEP wrong results), microsoft/onnxruntime#24856 (native EP in /webgpu)"

JSEP = (
    "{spec} loads the JSEP WebGPU backend of onnxruntime-web (the JavaScript EP, deprecated since 1.29, with known "
    "wrong results on quantized models). Headless CI has no GPU and falls back to WASM, so tests do not show it. "
    "{fix} loads the maintained native WebGPU EP (onnxruntime-web 1.23.0 and later). Its wasm files are named "
    "`.asyncify.` instead of `.jsep.`: copies, precache lists and `wasmPaths` objects that name them change in the "
    "same fix. Switching is not a promise that a given model's output changes. Sources: {sources}."
)
NO_WEBGPU = (
    "{spec} at onnxruntime-web {version} has no WebGPU backend at all: asking for 'webgpu' fails outright. "
    "Load {fix} with onnxruntime-web {native} or later for the native WebGPU EP{then}. Sources: {sources}."
)
RAISE_THEN = " (see the ort-version finding)"
OLD_NATIVE = (
    " At onnxruntime-web {version}, {fix} is JSEP as well: raise onnxruntime-web to {native} or later in the same "
    "change (see the ort-version finding)."
)
WEBGL = (
    "{spec} carries the JSEP WebGPU backend together with WebGL, and this package asks for 'webgl', which {fix} "
    "does not have. No one-line fix: move WebGPU work to {fix} and WebGL work to `onnxruntime-web/webgl`, or drop "
    "WebGL. Sources: {sources}."
)
OLD_URL = (
    " No onnxruntime-web release before {native} has the native WebGPU EP, so {fix} is the native URL: "
    "it pins {latest}."
)
QUIET = "No WebGPU use seen in this package (no 'webgpu' execution provider or device), so this is only a note: "
PINNED_BY_HASH = (
    " No suggestion here: this tag's `integrity` hash covers the file at the old URL, so the hash must be "
    "recomputed together with the URL (for example `openssl dgst -sha384 -binary FILE | openssl base64 -A`), "
    "or the browser refuses the new file."
)

VERSION = (
    "This range admits onnxruntime-web {lowest}, below {native}, where `{fix}` is still the JSEP backend{no_webgpu}. "
    "{installed} Raise the floor to {latest}, then refresh the lockfile (`npm install`, `pnpm install` or "
    "`yarn install`). Sources: {sources}."
)
VERSION_NO_WEBGPU = " and the bare `onnxruntime-web` entry has no WebGPU at all"
LOCKED_OLD = "The lockfile installs {resolved}: this package runs JSEP (or no WebGPU) today."
LOCKED_NEW = "The lockfile already installs {resolved}, but a fresh or downstream install can still get a JSEP build."
UNLOCKED = "There is no lockfile, so an install can get a JSEP build."
PINNED = "The range pins {version} exactly and there is no lockfile: every install gets this JSEP (or no WebGPU) build."
LOCKFILE_OLD = (
    "The range asks for {range}, but {lockfile} still installs onnxruntime-web {locked}, below {native}: there "
    "`onnxruntime-web/webgpu` is the JSEP backend (or absent), and every `npm ci` or frozen install gets it. "
    "Run `{command}` and commit the refreshed lockfile."
)
LOCKFILE_OUTSIDE = (
    "{lockfile} locks onnxruntime-web {locked}, which the range {range} does not admit: a frozen install "
    "(`npm ci`, `--frozen-lockfile`) fails, and the version that runs is not the one the range asks for. "
    "Run `{command}` and commit the refreshed lockfile."
)
PINNED_BY_WRAPPER = (
    " No suggestion here: {wrapper} pins its own onnxruntime-web and breaks when this override raises it "
    "(see the wrapper-version finding)."
)

ASSET = (
    "{value} is a JSEP wasm asset. The native WebGPU EP loads {fix} instead; once this package loads "
    "`onnxruntime-web/webgpu` (1.23.0 or later), a copy, preload, precache entry or `wasmPaths` object that still "
    'names the `.jsep.` file 404s or fails with "webgpuInit is not a function" (huggingface/transformers.js#1604). '
    "Changed together with the import."
)
WASM_PREFIX = (
    "`wasmPaths` points at onnxruntime-web {found}, but this package {installs} {target}. The JS and the wasm must "
    'come from the same version: a mismatch fails at start-up ("webgpuInit is not a function", '
    "huggingface/transformers.js#1604), and before 1.23.0 the native `.asyncify.` files do not exist. Use {target}."
)
WASM_PREFIX_INSTALLS = "installs"
WASM_PREFIX_MOVES = "moves to"

FLAG_DEVICE = (
    "`env.webgpu.{flag}` is ignored by the native WebGPU EP (validated, then dropped). To choose the GPU, create "
    "the `GPUDevice` yourself and pass it as `device` in the execution provider options: "
    "`executionProviders: [{{ name: 'webgpu', device }}]`."
)
FLAG_PROFILING = (
    "`env.webgpu.{flag}` is ignored by the native WebGPU EP: it produces no per-kernel GPU timings. Profile with "
    "the session's own profiling (`enableProfiling`) or the browser's GPU tools instead."
)
FLAG_ADAPTER = (
    "`env.webgpu.adapter` means nothing to the native WebGPU EP: a value set is ignored, and reading it gives "
    "`undefined` (the native EP never fills it in). To choose the GPU, create the `GPUDevice` yourself and pass it "
    "as `device` in the execution provider options: `executionProviders: [{{ name: 'webgpu', device }}]`."
)
FLAG_VALIDATE = "`env.webgpu.{flag}` is ignored by the native WebGPU EP; it only applied to JSEP kernels. Remove it."
FLAG_MESSAGES = {
    "powerPreference": FLAG_DEVICE,
    "forceFallbackAdapter": FLAG_DEVICE,
    "adapter": FLAG_ADAPTER,
    "profiling": FLAG_PROFILING,
    "profilingMode": FLAG_PROFILING,
    "validateInputContent": FLAG_VALIDATE,
}

MIXED = (
    "This package loads both `{native}` and {other}. Each bundle carries its own copy of onnxruntime-common: two `ort` "
    "instances, two wasm downloads, and `env` settings that reach only one of them. Load one entry: `{native}`."
)
MIXED_WRAPPER = (
    "{spec} loads the JSEP bundle while {wrapper} {version} loads `onnxruntime-web/webgpu`: two `ort` instances, "
    "two wasm downloads, and `env` settings that reach only one of them. Import `onnxruntime-web/webgpu` here too."
)

VENDORED = (
    "{path} is a committed copy of onnxruntime-web{version} that loads the JSEP WebGPU backend (it names the "
    "`.jsep.` wasm files), whatever the code around it imports. Replace it with `ort.webgpu.min.js` of "
    "onnxruntime-web {native} or later (the native WebGPU EP, with its `.asyncify.` wasm files next to it), or load "
    "that file from a CDN. Sources: {sources}."
)
BUNDLE_VERSION = " {version}"

WRAPPER_UPGRADE = "{old} Suggested: {recommended} or later."
WRAPPER_SAFARI = "{safari} Suggested: {recommended} or later."
WRAPPER_UPSTREAM = "{why} (Report upstream; ortfix suggests no local change.)"
