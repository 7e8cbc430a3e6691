"""Hostile file names and lines cannot write Markdown into what ortfix posts: every body parsed by a real parser.

A body is safe when, outside code, it has no `@` mention, no image, no raw
HTML but ortfix's own hidden markers, and no link but ortfix's own, on the
configured web address with each path segment encoded.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, unquote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from bot.core import render, repo_config
from bot.core.detector import INFO, Finding, scan_files
from bot.core.edits import FixPlan

WEB = "https://ghe.example"
REPO = "octo-org/web-app"
SHA = "0123456789abcdef0123456789abcdef01234567"
PARSER = MarkdownIt("commonmark").enable("table")
CODE = {"code_inline", "code_block", "fence"}
MENTION = re.compile(r"@[A-Za-z0-9]")
OWN_MARKER = re.compile(r"<!-- ortfix:[^<>]* -->")
ATTACK = "` @org/team [x](http://evil) ![i](x) <img src=x> `"


def injected(body: str, web: str = WEB) -> list[str]:
    """Everything outside code that ortfix did not write: mentions, images, raw HTML, foreign or unencoded links."""
    found = []
    for block in PARSER.parse(body):
        for token in block.children if block.type == "inline" and block.children else [block]:
            if token.type in CODE:
                continue
            if token.type == "image":
                found.append(f"image {token.attrGet('src')}")
            elif token.type == "link_open" and not _own_link(str(token.attrGet("href")), web):
                found.append(f"link {token.attrGet('href')}")
            elif token.type.startswith("html") and not OWN_MARKER.fullmatch(token.content.strip()):
                found.append(f"html {token.content!r}")
            elif token.type == "text" and MENTION.search(token.content):
                found.append(f"mention in {token.content!r}")
    return found


def _own_link(href: str, web: str) -> bool:
    if not href.startswith(web + "/"):
        return False
    path = href[len(web) + 1 :].split("#", 1)[0]
    return all(quote(unquote(segment), safe="") == segment for segment in path.split("/"))


def finding(path: str, original: str, replacement: str | None = None, message: str = "A message.") -> Finding:
    return Finding(path, 1, 1, 1, "jsep-import", "error", message, original, replacement)


# --- the attacks that worked before ----------------------------------------------------------------------------


def test_a_backtick_in_a_file_name_stays_in_code_in_the_review_body() -> None:
    """`src/` @org/team [x](http://evil) `.js` in the review body's list: no mention, no link."""
    hostile = finding(f"src/{ATTACK}.js", "import 'onnxruntime-web';", "import 'onnxruntime-web/webgpu'; // `x`")
    assert injected(render.review_body([hostile], "key")) == []


def test_a_backtick_in_a_file_name_stays_in_code_in_the_check_summary() -> None:
    """The check summary lists each finding's path: a backtick in it does not end the code span."""
    hostile = finding(f"src/{ATTACK}.js", "import 'onnxruntime-web';")
    assert injected(render.check_output([hostile], 1, ())["summary"]) == []


def test_a_backtick_in_a_line_stays_in_code_in_the_audit_table() -> None:
    """The audit table quotes the line and links the path: neither escapes its cell or its link."""
    hostile = finding(f"src/{ATTACK}.js", f"import 'onnxruntime-web'; // {ATTACK}", f"x(); // {ATTACK}")
    body = render.audit_body(REPO, SHA, [hostile], {ATTACK: {"range": ATTACK, "installed": ATTACK}}, WEB)
    assert injected(body) == []
    assert body.count("\n| [") == 1  # still one row: no pipe or newline broke the table


def test_a_backtick_in_a_cdn_url_stays_in_code_in_the_finding_message() -> None:
    """The detector's message quotes the URL as a code span longer than the URL's backticks."""
    page = '<script src="https://cdn.jsdelivr.net/npm/onnxruntime-web@1.20.0/dist/ort.min.js?`@org/team`"></script>\n'
    report = scan_files([("index.html", page.encode())])
    (cdn,) = [f for f in report.findings if f.rule == "jsep-cdn"]
    assert injected(render.comment_body(cdn)) == []


def test_a_config_error_quoting_yaml_stays_plain_text() -> None:
    """A config value in an error message is escaped text: no link, image or mention."""
    config = repo_config.parse(f"check: {json.dumps(ATTACK)}\n")
    assert config.errors and injected(render.check_output([], 1, config.errors)["summary"]) == []


def test_a_branch_name_with_backticks_stays_in_code_in_the_ortfix_reply() -> None:
    """The `/ortfix` reply names the branch (a git ref may hold backticks and `@`) and links the commit on WEB."""
    plan = FixPlan({}, {}, [], [])
    reply = render.fixed_reply(plan, WEB, "fork-owner/web-app", SHA, f"feature{ATTACK}")
    assert injected(reply) == [] and f"{WEB}/fork-owner/web-app/commit/{SHA}" in reply
    assert injected(render.nothing_to_fix(ATTACK)) == []


def test_a_fence_in_the_patch_stays_in_the_diff_block() -> None:
    """A line of ``` in a file cannot end the diff ortfix posts when it may not push."""
    patch = render.unified_patch({"a.js": b"x\n"}, {"a.js": f"```\n{ATTACK}\n".encode()})
    assert injected(render.cannot_push_reply(FixPlan({}, {}, [], []), patch)) == []


# --- every body, with generated names and lines -------------------------------------------------------------

HOSTILE = [
    "`",
    "``",
    "```",
    "@org/team",
    "@octocat",
    "[x](http://evil)",
    "![i](x)",
    "<img src=x>",
    "<!-- -->",
    "-->",
    "|",
    "\\|",
    "\\",
    "\n",
    "\r",
    "*",
    "_",
    "&#64;org",
    "&lt;b&gt;",
    "é",
    "\U0001f600",
    "\u202e",
    " ",
    "#",
    "?",
    "%2F",
    "<http://evil>",
    "[x]: http://evil",
]
hostile = st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(min_size=1, max_size=3)), min_size=1, max_size=6).map(
    "".join
)
names = hostile.map(lambda s: s.replace("/", "").replace("\0", "")).filter(lambda s: s.strip(". ") != "")
lines = hostile.map(lambda s: s.replace("\n", " ").replace("\r", " ").replace("\0", ""))
in_string = lines.map(lambda s: s.replace("'", "").replace("\\", ""))  # stays one JS string literal


def _repository(name: str, junk: str, url_junk: str) -> dict[str, str]:
    """A package whose folder and files have hostile names, with every kind of finding the rules make."""
    source = (
        f"import * as ort from 'onnxruntime-web'; // {junk}\n"
        f"ort.env.wasm.wasmPaths = 'https://cdn.jsdelivr.net/npm/onnxruntime-web@1.20.0/dist/{url_junk}';\n"
        "export const s = (m) => ort.InferenceSession.create(m, { executionProviders: ['webgpu'] });\n"
        f"const asset = 'ort-wasm-simd-threaded.jsep.wasm'; // {junk}\n"
    )
    return {
        f"{name}/package.json": json.dumps({"dependencies": {"onnxruntime-web": "^1.20.0"}}),
        f"{name}/src/{name}.js": source,
        f"{name}/src/{name}-native.js": f"import 'onnxruntime-web/webgpu'; // {junk}\n",
        f"{name}/index.html": (
            f'<script src="https://cdn.jsdelivr.net/npm/onnxruntime-web@1.20.0/dist/ort.min.js?{url_junk}"></script>\n'
        ),
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=names, junk=lines, url_junk=in_string.map(lambda s: s.replace('"', "")), other=hostile)
def test_every_posted_body_keeps_hostile_text_in_code(name: str, junk: str, url_junk: str, other: str) -> None:
    """Review comments and body, check summary, audit and org issues, fix PR body and the /ortfix replies."""
    files = _repository(name, junk, url_junk)
    findings = [f for f in scan_files([(p, t.encode()) for p, t in files.items()]).findings if f.severity != INFO]
    assert findings
    versions = {name: {"range": other, "installed": other}}
    config = repo_config.parse(f"check: {json.dumps(other)}\n{json.dumps(other)}: 1\n")
    after = {path: text.replace("'onnxruntime-web'", "'onnxruntime-web/webgpu'") for path, text in files.items()}
    plan = FixPlan(
        {p: t.encode() for p, t in after.items()},
        {p: t.encode() for p, t in files.items()},
        [f for f in findings if f.replacement is not None],
        [f for f in findings if f.replacement is None],
        [render.lockfile_note(f"{name}/package.json", "npm install", "the package manager failed", other)],
    )
    summary = render.audit_summary(findings, versions)
    bodies = [
        *(render.comment_body(f) for f in findings),
        render.review_body(findings, "key"),
        render.check_output(findings, len(files), config.errors)["summary"],
        render.audit_body(REPO, SHA, findings, versions, WEB),
        render.org_body("octo-org", {REPO: {"findings": len(findings), "summary": summary, "issue": 3}}, WEB)[1],
        render.fix_pull_body(plan, render.FIX_PR_MARKER.format(base=SHA, key=plan.key)),
        render.fixed_reply(plan, WEB, REPO, SHA, other),
        render.cannot_push_reply(plan, render.unified_patch(plan.before, plan.files)),
        render.nothing_to_fix(other),
    ]
    for body in bodies:
        assert injected(body) == [], body
