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
