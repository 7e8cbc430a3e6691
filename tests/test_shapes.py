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
