"""Trees in the shapes seen in public repositories: SRI-pinned tags, computed providers, asset base names."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.cli.commands import main
from bot.core.detector.messages import PINNED_BY_HASH
from tests.conftest import CORPUS, scan_dir

HASHED_TAG = """<!doctype html>
<script
  src="https://cdn.jsdelivr.net/npm/onnxruntime-web@1.22.0/dist/ort.webgpu.min.js"
  integrity="sha384-Ey1ZTGqGvFy5lkNSRJ7nMRrXcQ6VWn5aTJaIhMbPwrYcZeA3cF8zU5uN8DKOsnwW"
  crossorigin="anonymous"></script>
<script type="module">
  await ort.InferenceSession.create('m.onnx', { executionProviders: ['webgpu'] });
</script>
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def test_a_url_whose_integrity_hash_is_on_another_line_gets_no_suggestion(tmp_path: Path) -> None:
    """The multi-line tag's URL is found, says the hash must be recomputed, and carries no replacement."""
    (finding,) = scan_dir(write(tmp_path, {"index.html": HASHED_TAG})).findings
    assert (finding.line, finding.rule, finding.replacement) == (3, "jsep-cdn", None)
    assert finding.message.endswith(PINNED_BY_HASH)


def test_fix_leaves_a_hashed_tag_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--fix changes no byte of a page whose only finding sits under an integrity hash."""
    root = write(tmp_path, {"index.html": HASHED_TAG})
    assert main(["scan", str(root), "--fix"]) == 1
    assert (root / "index.html").read_text() == HASHED_TAG


def test_the_same_tag_without_a_hash_is_still_fixed(tmp_path: Path) -> None:
    """Only the hash withholds the fix: the multi-line tag without `integrity` gets its native URL."""
    page = HASHED_TAG.replace(
        '  integrity="sha384-Ey1ZTGqGvFy5lkNSRJ7nMRrXcQ6VWn5aTJaIhMbPwrYcZeA3cF8zU5uN8DKOsnwW"\n', ""
    )
    (finding,) = scan_dir(write(tmp_path, {"index.html": page})).findings
    assert finding.replacement is not None and "onnxruntime-web@1.30.0" in finding.replacement


def test_a_preload_under_a_hash_keeps_its_jsep_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """In the corpus's SRI page, --fix --all rewrites neither the hashed script nor the hashed preload link."""
    root = tmp_path / "sri"
    shutil.copytree(CORPUS / "sri-html", root)
    before = {p.name: p.read_text() for p in root.iterdir()}
    main(["scan", str(root), "--fix", "--all"])
    assert {p.name: p.read_text() for p in root.iterdir()} == before


LOAD = "import * as ort from 'onnxruntime-web';\n"
WEBGPU_USE = "export const o = { executionProviders: ['webgpu'] };\n"
# Each asks for WebGPU in a form computed at run time (from the shapes of public repositories).
COMPUTED = {
    "ternary list": "ort.InferenceSession.create(m, { executionProviders: gpu ? ['webgpu', 'wasm'] : ['wasm'] });",
    "list by name": (
        "const providers = gpu ? ['webgpu', 'wasm'] : ['wasm'];\n"
        "ort.InferenceSession.create(m, { executionProviders: providers });"
    ),
    "ternary item": "ort.InferenceSession.create(m, { executionProviders: [gpu ? 'webgpu' : 'wasm'] });",
    "spread of a named list": (
        "const base = ['wasm'];\nconst eps = [...base, 'webgpu'];\n"
        "ort.InferenceSession.create(m, { executionProviders: eps });"
    ),
    "conditional spread": "const eps = [...(gpu ? ['webgpu'] : []), 'wasm'];\nexport default eps;",
    "ternary device": "pipeline('feature-extraction', 'm', { device: useGpu ? 'webgpu' : 'wasm' });",
    "device set in a branch": (
        "let device = 'wasm';\nif (await navigator.gpu?.requestAdapter()) {\n  device = 'webgpu';\n}\n"
        "pipeline('feature-extraction', 'm', { device });"
    ),
    "member assignment": "const options = {};\noptions.device = gpu ? 'webgpu' : 'wasm';",
    "name object by name": (
        "const gpuEp = { name: useGpu ? 'webgpu' : 'wasm', preferredLayout: 'NHWC' };\n"
        "ort.InferenceSession.create(m, { executionProviders: [gpuEp] });"
    ),
    "name object": "ort.InferenceSession.create(m, { executionProviders: [{ name: 'webgpu' }] });",
    "quoted name key": "ort.InferenceSession.create(m, { executionProviders: [{ 'name': 'webgpu' }] });",
    "fallback": "const chosen = params.get('ep') ?? 'webgpu';\nort.InferenceSession.create(m, { executionProviders: [chosen] });",
    "else branch": "pipeline('feature-extraction', 'm', { device: cpuOnly ? 'wasm' : 'webgpu' });",
    "left of a fallback": "pipeline('feature-extraction', 'm', { device: gpu && 'webgpu' || 'wasm' });",
    "parenthesized": "pipeline('feature-extraction', 'm', { device: (gpu ? 'webgpu' : 'wasm') });",
    "awaited": "pipeline('feature-extraction', 'm', { device: await (gpu ? 'webgpu' : 'wasm') });",
    "template literal": "pipeline('feature-extraction', 'm', { device: `webgpu` });",
    "quoted request key": "pipeline('feature-extraction', 'm', { 'device': 'webgpu' });",
    "spread of a list that also holds a call": (
        "const preferred = ['webgpu', fallback()];\n"
        "ort.InferenceSession.create(m, { executionProviders: [...preferred] });"
    ),
    "four names deep": (
        "const chosen = 'webgpu';\nconst c = chosen;\nconst b = c;\nconst a = b;\n"
        "pipeline('feature-extraction', 'm', { device: a });"
    ),
    "first of two requests": (
        "pipeline('feature-extraction', 'm', { device: 'webgpu' });\n"
        "pipeline('text-classification', 'm', { device: 'wasm' });"
    ),
    "list of every provider name": "export const all = ['webgpu', 'webgl', 'wasm', 'cpu', 'webnn', 'xnnpack'];",
    "list with a computed item": "export const eps = [`${preferred}`, 'webgpu'];",
}
# Each names 'webgpu' without asking for it: the gate must stay quiet.
NOT_REQUESTS = {
    "log": "console.log('webgpu');",
    "comparison": "const backend = pick();\nif (backend === 'webgpu') { console.log('gpu'); }",
    "feature-detect map": "export const supported = { webgpu: 'gpu' in navigator, wasm: true };",
    "feature-detect pairs": "export const checks = new Map([['webgpu', () => 'gpu' in navigator]]);",
    "label list": "export const labels = ['webgpu', 'WebGPU (fast)'];",
    "unused name": "const preferred = 'webgpu';\nconsole.log(preferred);",
    "another key of a provider object": (
        "ort.InferenceSession.create(m, { executionProviders: [{ name: 'wasm', label: 'webgpu' }] });"
    ),
    "cpu only": "ort.InferenceSession.create(m, { executionProviders: gpu ? ['wasm'] : ['cpu'] });",
    "comparison in a provider list": "ort.InferenceSession.create(m, { executionProviders: [mode !== 'webgpu' && 'wasm'] });",
    "choices with a named entry": "export const choices = [{ name: 'Auto' }, 'webgpu'];",
    "choices with a quoted named entry": "export const choices = [{ 'name': 'Auto' }, 'webgpu'];",
    "options with an empty choice": "export const options = ['', 'webgpu', 'wasm'];",
    "five names deep": (
        "const chosen = 'webgpu';\nconst d = chosen;\nconst c = d;\nconst b = c;\nconst a = b;\n"
        "pipeline('feature-extraction', 'm', { device: a });"
    ),
    "a longer key": "export const o = [{ nameX: 'webgpu' }];",
}


@pytest.mark.parametrize("code", COMPUTED.values(), ids=COMPUTED.keys())
def test_a_computed_webgpu_request_makes_the_jsep_import_an_error(code: str, tmp_path: Path) -> None:
    """A provider list or device computed at run time still counts as WebGPU use."""
    (finding,) = scan_dir(write(tmp_path, {"src/app.js": LOAD + code + "\n"})).findings
    assert (finding.rule, finding.severity) == ("jsep-import", "error")


@pytest.mark.parametrize("code", NOT_REQUESTS.values(), ids=NOT_REQUESTS.keys())
def test_a_webgpu_string_that_requests_nothing_leaves_the_import_a_note(code: str, tmp_path: Path) -> None:
    """'webgpu' outside a provider list, device or provider name does not pass the gate."""
    (finding,) = scan_dir(write(tmp_path, {"src/app.js": LOAD + code + "\n"})).findings
    assert (finding.rule, finding.severity) == ("jsep-import", "info")


def test_an_import_map_s_scoped_mapping_is_a_cdn_load(tmp_path: Path) -> None:
    """`scopes` map imports like `imports` do: a JSEP bundle there is loaded."""
    mapping = '"onnxruntime-web": "https://cdn.jsdelivr.net/npm/onnxruntime-web@1.26.0/dist/ort.all.min.mjs"'
    root = write(
        tmp_path,
        {
            "importmap.json": '{\n  "scopes": {\n    "/app/": {\n      ' + mapping + "\n    }\n  }\n}\n",
            "use.js": "export const o = { executionProviders: ['webgpu'] };\n",
        },
    )
    assert [(f.path, f.line, f.rule) for f in scan_dir(root).findings] == [("importmap.json", 4, "jsep-cdn")]


ASTRO_CODE = (
    "import * as ort from 'onnxruntime-web';\nort.InferenceSession.create('m', { executionProviders: ['webgpu'] });\n"
)


def test_astro_frontmatter_after_blank_lines_is_code(tmp_path: Path) -> None:
    root = write(tmp_path, {"src/pages/a.astro": "\n\n---\n" + ASTRO_CODE + "---\n<p>Hello</p>\n"})
    assert [(f.line, f.rule) for f in scan_dir(root).findings] == [(4, "jsep-import")]


def test_an_unclosed_astro_frontmatter_is_not_code(tmp_path: Path) -> None:
    """Without its closing fence, what follows `---` is not a component script: nothing is read as code."""
    root = write(tmp_path, {"src/pages/a.astro": "---\n" + ASTRO_CODE})
    assert scan_dir(root).findings == []


NATIVE = (
    "import * as ort from 'onnxruntime-web/webgpu';\n"
    "ort.InferenceSession.create('m', { executionProviders: ['webgpu'] });\n"
)


@pytest.mark.parametrize(
    ("line", "column"),
    [
        ("ort.env.webgpu.powerPreference = 'high-performance';", 16),
        ("window.ort.env.webgpu.profiling = {};", 23),
        ("env.webgpu.powerPreference = 'high-performance';", 12),  # `import { env } from …`
        ("ort.env.webgl.powerPreference = 'x';", None),  # WebGL's flags are not WebGPU's
        ("ort.env.webgpu.validateInput = true;", None),  # a flag the native EP reads
        ("ort.envs.webgpu.adapter = a;", None),
    ],
)
def test_a_webgpu_flag_the_native_backend_ignores_is_noted_where_it_is_set(
    line: str, column: int | None, tmp_path: Path
) -> None:
    found = [(f.line, f.column, f.rule) for f in scan_dir(write(tmp_path, {"a.js": NATIVE + line + "\n"})).findings]
    assert found == ([(3, column, "native-ignored-flag")] if column else [])


@pytest.mark.parametrize("lang", ['lang="ts"', "lang=' TS '", 'lang="typescript"'])
def test_a_typescript_script_block_is_read_as_typescript(lang: str, tmp_path: Path) -> None:
    """A type-only import in `<script lang="ts">` loads nothing (read as JavaScript it would look like a load)."""
    page = f"<script {lang}>\nimport type {{ InferenceSession }} from 'onnxruntime-web';\nlet s: InferenceSession;\n</script>\n"
    assert scan_dir(write(tmp_path, {"src/App.vue": page, "use.js": WEBGPU_USE})).findings == []


def test_a_page_s_inline_module_after_an_external_script_is_read(tmp_path: Path) -> None:
    page = '<script src="x.js"></script>\n<script type="module">\nimport * as ort from "onnxruntime-web";\n</script>\n'
    found = scan_dir(write(tmp_path, {"index.html": page})).findings
    assert [(f.path, f.line, f.rule) for f in found] == [("index.html", 3, "jsep-import")]


def test_an_import_below_a_provider_list_and_an_object_is_found(tmp_path: Path) -> None:
    """Imports are hoisted: one written below other code is still read, and the list still counts."""
    code = "const eps = ['webgpu'];\nconst options = { eps };\nimport * as ort from 'onnxruntime-web';\n"
    found = scan_dir(write(tmp_path, {"a.js": code})).findings
    assert [(f.line, f.rule, f.severity) for f in found] == [(3, "jsep-import", "error")]


@pytest.mark.parametrize(
    "code",
    [
        "track('onnxruntime-web');",  # another function's argument
        "require(base, 'onnxruntime-web');",  # not the module require() loads
        "let t: Array<import('onnxruntime-web').InferenceSession>;",  # a type, deep inside another
        "import type ort = require('onnxruntime-web');",  # type-only (TypeScript 4.2): erased at compile time
    ],
)
def test_a_package_name_that_loads_nothing_at_run_time_is_not_a_load(code: str, tmp_path: Path) -> None:
    assert scan_dir(write(tmp_path, {"a.ts": code + "\n", "use.js": WEBGPU_USE})).findings == []


PACKAGE_JSON = '{"dependencies": {"onnxruntime-web": "1.30.0"}}\n'
OLD_PREFIX = "https://cdn.jsdelivr.net/npm/onnxruntime-web@1.20.0/dist/"


@pytest.mark.parametrize("key", ["wasmPaths", "'wasmPaths'", '"wasmPaths"'])
def test_a_wasm_paths_prefix_of_another_version_is_moved_to_the_installed_one(key: str, tmp_path: Path) -> None:
    line = f"const options = {{ {key}: '{OLD_PREFIX}' }};"
    root = write(tmp_path, {"package.json": PACKAGE_JSON, "a.js": NATIVE + line + "\n"})
    (finding,) = scan_dir(root).findings
    assert (finding.line, finding.column, finding.rule) == (3, len(f"const options = {{ {key}: '") + 1, "jsep-asset")
    assert finding.replacement == line.replace("@1.20.0/", "@1.30.0/")


@pytest.mark.parametrize(
    "pair",
    [
        f"wasmPaths: '{OLD_PREFIX[:-5]}' + 'dist/'",  # built by concatenation: no one literal holds the whole prefix
        f"wasmPaths: `{OLD_PREFIX}`",
        f"wasmPathsX: '{OLD_PREFIX}'",  # another key
    ],
)
def test_only_one_string_literal_given_to_wasm_paths_is_a_prefix(pair: str, tmp_path: Path) -> None:
    root = write(tmp_path, {"package.json": PACKAGE_JSON, "a.js": NATIVE + f"const o = {{ {pair} }};\n"})
    assert scan_dir(root).findings == []


def test_a_jsep_asset_name_is_reported_at_its_own_line_and_column(tmp_path: Path) -> None:
    """After a leading blank line, on the file's second line: the `.jsep` is pointed at and renamed."""
    line = "const wasm = 'ort-wasm-simd-threaded.jsep.wasm';"
    (finding,) = scan_dir(write(tmp_path, {"a.js": "\n" + line + "\n" + NATIVE})).findings
    assert (finding.line, finding.column, finding.rule) == (2, line.index(".jsep") + 1, "jsep-asset")
    assert "`ort-wasm-simd-threaded.jsep.wasm`" in finding.message
    assert finding.replacement == line.replace(".jsep.", ".asyncify.")


def test_a_vendored_ort_bundle_that_names_no_jsep_asset_is_not_a_jsep_bundle(tmp_path: Path) -> None:
    """Only a `.jsep` wasm or mjs file name marks JSEP; the word elsewhere in the bundle does not."""
    bundle = (
        "/*!\n * ONNX Runtime Web v1.23.0\n */\n"
        'var ort=(()=>{var e="ort-wasm-simd-threaded.asyncify.wasm";/* no .jsep build */return e})();\n'
    )
    assert scan_dir(write(tmp_path, {"vendor/ort.min.js": bundle, "use.js": WEBGPU_USE})).findings == []


def test_an_astro_template_s_code_sample_is_not_code(tmp_path: Path) -> None:
    """Only the frontmatter is read as TypeScript: an import shown in the page's markup loads nothing."""
    page = "---\nconst title = 'Docs';\n---\n<h1>{title}</h1>\n<pre>\n" + LOAD + "</pre>\n"
    assert scan_dir(write(tmp_path, {"src/pages/docs.astro": page, "use.js": WEBGPU_USE})).findings == []
