"""What ortfix posts, read the way a person (or ortfix itself, on its next run) reads it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bot.core import render
from bot.core.detector import ERROR, INFO, WARNING, Finding
from bot.core.edits import FixPlan
from bot.jobs.audit import AuditOutcome

WEB = "https://github.com"
REPO = "octo/app"
SHA = "0123456789abcdef0123456789abcdef01234567"


def finding(
    path: str = "src/a.js",
    line: int = 3,
    rule: str = "jsep-import",
    severity: str = ERROR,
    original: str = "import * as ort from 'onnxruntime-web';",
    replacement: str | None = "import * as ort from 'onnxruntime-web/webgpu';",
) -> Finding:
    return Finding(path, line, line, 1, rule, severity, f"{rule} message", original, replacement)


# --- fingerprints ---------------------------------------------------------------------------------


def test_a_fingerprint_follows_the_line_not_its_number_or_indent() -> None:
    """Moving or re-indenting the line keeps the fingerprint; another path, rule or text changes it."""
    base = finding().fingerprint
    assert finding(line=40, original="    import * as ort from 'onnxruntime-web';  ").fingerprint == base
    others = {
        finding(path="src/b.js").fingerprint,
        finding(rule="jsep-cdn").fingerprint,
        finding(original="import 'onnxruntime-web';").fingerprint,
    }
    assert base not in others and len(others) == 3


def test_a_path_and_rule_cannot_run_together_into_the_same_fingerprint() -> None:
    """The parts are kept apart: `ab` + `c` is not `a` + `bc`."""
    assert finding(path="ab", rule="c").fingerprint != finding(path="a", rule="bc").fingerprint


def test_every_posted_finding_carries_its_fingerprint_for_the_next_run() -> None:
    """ortfix recognises its own comment, review item and audit-free texts by reading the fingerprint back."""
    f = finding()
    assert render.fingerprints_in(render.comment_body(f)) == {f.fingerprint}
    assert render.fingerprints_in(render.review_body([f], "k")) == {f.fingerprint}
    assert render.fingerprints_in("<!-- ortfix:fp=0123 --> <!-- ortfix:fp=XYZ4567890abcdef -->") == set()


# --- review comments and bodies -------------------------------------------------------------------


def test_a_comment_has_the_rule_the_severity_and_a_one_click_suggestion() -> None:
    body = render.comment_body(finding())
    assert body.startswith("**ortfix** · `jsep-import` · error\n\njsep-import message\n")
    assert "\n```suggestion\nimport * as ort from 'onnxruntime-web/webgpu';\n```\n" in body


def test_a_comment_without_a_fix_has_no_suggestion_block() -> None:
    f = finding(severity=WARNING, replacement=None)
    marker = f"<!-- ortfix:fp={f.fingerprint} -->"
    assert render.comment_body(f) == f"**ortfix** · `jsep-import` · warning\n\njsep-import message\n\n{marker}"


def test_a_severity_without_a_word_is_shown_as_it_is() -> None:
    assert "· info\n" in render.comment_body(finding(severity=INFO))


def test_the_review_body_lists_findings_off_the_diff_with_their_fix() -> None:
    fixable, unfixable = (
        finding(path="lib/x.js", line=9),
        finding(path="lib/y.js", rule="mixed-entry", replacement=None),
    )
    body = render.review_body([fixable, unfixable], "key1")
    marker = f"<!-- ortfix:fp={unfixable.fingerprint} -->"
    assert f"\n- `lib/y.js` line 3 · `mixed-entry`: mixed-entry message\n  {marker}\n" in body
    assert body.startswith(render.REVIEW_HEADER + render.REVIEW_ELSEWHERE)
    assert "- `lib/x.js` line 9 · `jsep-import`: jsep-import message\n" in body
    assert "  Suggested: `import * as ort from 'onnxruntime-web/webgpu';`" in body
    assert body.count("Suggested:") == 1
    assert body.endswith("\n<!-- ortfix:review=key1 -->")


def test_a_review_body_with_nothing_elsewhere_is_the_header_and_marker() -> None:
    assert render.review_body([], "k") == render.REVIEW_HEADER + "\n<!-- ortfix:review=k -->"


def test_the_mixed_entry_sentence_counts_each_package_s_loads() -> None:
    one, three = render.mixed_sentences((1,)), render.mixed_sentences((3,))
    assert "fixing the 1 load above" in one
    assert "fixing the 3 loads above" in three
    assert render.mixed_sentences((1, 3)) == one + three and render.mixed_sentences(()) == ""


# --- the check run --------------------------------------------------------------------------------


def test_the_check_title_counts_errors_and_warnings_apart() -> None:
    found = [finding(), finding(line=5), finding(line=6), finding(severity=WARNING), finding(severity=INFO)]
    output = render.check_output(found, 10, ())
    assert output["title"].startswith("3 error(s), 1 warning(s):")
    assert "- `src/a.js` line 3: `jsep-import`\n- `src/a.js` line 5: `jsep-import`\n" in output["summary"]


def test_the_check_summary_lists_fifty_findings_and_counts_the_rest() -> None:
    found = [finding(line=n) for n in range(1, 53)]
    summary = render.check_output(found, 1, ())["summary"]
    assert "line 50:" in summary and "line 51:" not in summary
    assert "\n- … and 2 more (see the annotations)\n" in summary
    assert "more (see" not in render.check_output(found[:50], 1, ())["summary"]
    assert "\n- … and 1 more (see" in render.check_output(found[:51], 1, ())["summary"]


def test_a_clean_check_says_how_many_files_it_looked_at() -> None:
    output = render.check_output([], 7, (), folded=(2,))
    assert output == {"title": render.CHECK_TITLE_CLEAN, "summary": render.CHECK_SUMMARY_CLEAN.format(files=7)}


def test_the_check_summary_adds_mixed_entries_and_config_errors() -> None:
    summary = render.check_output([finding()], 1, ("bad key `x`", "audit: maybe"), folded=(2,))["summary"]
    assert render.mixed_sentences((2,)) in summary
    assert summary.endswith("the defaults were used:**\n- bad key \\`x\\`\n- audit: maybe")


def test_annotations_carry_the_level_the_lines_and_the_suggested_line() -> None:
    notes = render.check_annotations([finding(), finding(severity=WARNING, replacement=None), finding(severity=INFO)])
    assert [n["annotation_level"] for n in notes] == ["failure", "warning", "notice"]
    assert notes[0] == {
        "path": "src/a.js",
        "start_line": 3,
        "end_line": 3,
        "annotation_level": "failure",
        "title": "jsep-import",
        "message": "jsep-import message",
        "raw_details": "Suggested line:\nimport * as ort from 'onnxruntime-web/webgpu';",
    }
    assert "raw_details" not in notes[1]


# --- fixes -----------------------------------------------------------------------------------------


def plan(fixed: list[Finding], left: list[Finding] = (), notes: list[str] = ()) -> FixPlan:  # type: ignore[assignment]
    return FixPlan({}, {}, list(fixed), list(left), list(notes))


def test_the_commit_message_counts_fixes_per_rule_in_a_stable_order() -> None:
    fixed = [finding(rule="jsep-import"), finding(rule="jsep-cdn"), finding(rule="jsep-import"), finding(rule="new")]
    message = render.commit_message(plan(fixed))
    assert message.startswith(render.COMMIT_TITLE + "\n\n")
    assert (
        "\n- point 1 CDN URL(s) at the native bundle\n- switch 2 import(s) to onnxruntime-web/webgpu\n- new\n"
    ) in message
    assert message.endswith("\n\nGenerated-by: ortfix")


def test_the_fix_pull_request_title_counts_the_changes() -> None:
    assert render.fix_pull_title(plan([finding(), finding(line=4)])).endswith("(2 change(s))")


def test_the_fix_pull_request_body_lists_what_is_left_and_what_to_do() -> None:
    body = render.fix_pull_body(plan([finding()], [finding(rule="mixed-entry", replacement=None)], ["run npm i"]), "M")
    assert "\n**Left for you** (no one-line fix):\n- `src/a.js` line 3 · `mixed-entry`" in body
    assert "\n**To do by hand**:\n- run npm i\n" in body
    assert "**What this pull request changes** (one commit):\n- switch 1 import(s) to onnxruntime-web/webgpu\n" in body
    assert body.endswith("\n\nM")
    both = render.fix_pull_body(plan([finding()], [finding(line=1), finding(line=2)], ["a", "b"]), "M")
    assert "\n- a\n- b\n" in both and "-->\n- `src/a.js` line 2" in both
    bare = render.fix_pull_body(plan([finding()]), "M")
    assert "Left for you" not in bare and "To do by hand" not in bare


def test_the_lockfile_note_quotes_the_package_manager_indented_under_it() -> None:
    note = render.lockfile_note("web/package.json", "npm install", "npm is not installed", "npm ERR! x\n\nsecond")
    assert note.startswith("The range in `web/package.json` was left as it is: ")
    assert "(npm is not installed)" in note and "run `npm install` yourself" in note
    assert note.endswith(".\n\n  ```\n  npm ERR! x\n  \n  second\n  ```")  # a blank line too stays in the item
    assert render.lockfile_note("package.json", "npm install", "r").endswith("then commit the lockfile.")


def test_the_reply_after_a_push_links_the_short_commit_on_the_pushed_repository() -> None:
    reply = render.fixed_reply(plan([finding()], notes=["n"]), WEB, "fork/app", SHA, "feature")
    assert reply.startswith(f"ortfix committed [`0123456`]({WEB}/fork/app/commit/{SHA}) to `feature`:\n- switch 1")
    assert reply.endswith("\n**To do by hand**:\n- n\n")
    plain = render.fixed_reply(plan([finding()]), WEB, "fork/app", SHA, "feature")
    assert plain.endswith(":\n- switch 1 import(s) to onnxruntime-web/webgpu")


def test_the_replies_that_commit_nothing() -> None:
    assert (
        render.not_committed_reply(plan([], notes=["x"]), "abc")
        == "ortfix committed nothing at abc.\n**To do by hand**:\n- x\n"
    )
    assert render.nothing_to_fix("main") == "ortfix found nothing to fix at `main`."
    reply = render.cannot_push_reply(plan([], notes=["y"]), "+a")
    assert reply.endswith("request.\n\n```diff\n+a\n```\n**To do by hand**:\n- y\n")


def test_the_unified_patch_applies_with_git(tmp_path: Path) -> None:
    """What the reply offers to `git apply` does apply, to every changed file."""
    before = {"a.js": b"let x;\nimport 'onnxruntime-web';\n", "lib/b.js": b"import 'onnxruntime-web/all';\n"}
    after = {"lib/b.js": b"import 'onnxruntime-web/webgpu';\n", "a.js": b"let x;\nimport 'onnxruntime-web/webgpu';\n"}
    for path, data in before.items():
        (tmp_path / path).parent.mkdir(exist_ok=True)
        (tmp_path / path).write_bytes(data)
    patch = render.unified_patch(before, after)
    assert patch.startswith("diff --git a/a.js b/a.js\n--- a/a.js\n+++ b/a.js\n")
    assert "\ndiff --git a/lib/b.js b/lib/b.js\n" in patch and not patch.endswith("\n")
    subprocess.run(["git", "apply", "-"], input=(patch + "\n").encode(), cwd=tmp_path, check=True)
    assert {p: (tmp_path / p).read_bytes() for p in after} == after


def test_the_unified_patch_ends_with_the_last_line_as_it_is() -> None:
    """Trailing spaces and the line's own last character stay; only the final newline goes."""
    assert render.unified_patch({"a.js": b"x\n"}, {"a.js": b"let x = 1;  \n"}).endswith("\n+let x = 1;  ")
    assert render.unified_patch({"a.js": b"x\n"}, {"a.js": b"X\n"}).endswith("\n+X")


def test_a_file_that_is_not_utf8_still_gets_a_patch() -> None:
    """A Latin-1 byte becomes U+FFFD in the text shown; the reply is still made."""
    patch = render.unified_patch({"a.js": b"// caf\xe9\nold\n"}, {"a.js": b"// caf\xe9\nnew\n"})
    assert " // caf\ufffd\n-old\n+new" in patch


# --- the audit ------------------------------------------------------------------------------------


def test_the_audit_title_counts_places() -> None:
    assert render.audit_title([finding()]) == "onnxruntime-web loads the JSEP WebGPU backend in 1 place"
    assert render.audit_title([finding(), finding()]).endswith("in 2 places")


def test_the_audit_body_links_each_place_at_the_audited_commit() -> None:
    versions = {"web": {"range": "^1.22.0", "installed": "1.22.0"}, ".": {"range": "^1.20.0", "installed": None}}
    found = [finding(line=7), finding(path="b.js", rule="mixed-entry", severity=WARNING, replacement=None)]
    body = render.audit_body(REPO, SHA, found, versions, WEB, folded=(1,))
    assert body.startswith(render.AUDIT_MARKER + "\nortfix audits")
    assert f"At [`0123456`]({WEB}/{REPO}/tree/{SHA}), this" in body
    assert (
        f"| [src/a.js:7]({WEB}/{REPO}/blob/{SHA}/src/a.js#L7) | `jsep-import` (error) "
        "| `import * as ort from 'onnxruntime-web';` | `import * as ort from 'onnxruntime-web/webgpu';` |"
    ) in body
    assert (
        "| `mixed-entry` (warning) | `import * as ort from 'onnxruntime-web';` | no one-line fix: see the rule |"
        in body
    )
    assert "` |\n| [b.js:3](" in body  # a row per line
    assert render.mixed_sentences((1,)) in body
    assert "**onnxruntime-web in use**: `.`: `^1.20.0`; `web`: `^1.22.0`, lockfile `1.22.0`\n" in body


def test_an_audit_without_declared_versions_says_so() -> None:
    body = render.audit_body(REPO, SHA, [finding()], {}, WEB)
    assert f"**onnxruntime-web in use**: {render.AUDIT_NO_VERSIONS}" in body


def test_the_audit_summary_counts_findings_by_rule() -> None:
    found = [finding(), finding(rule="jsep-cdn"), finding()]
    versions = {".": {"range": "1.22.0"}}
    assert render.audit_summary(found, versions) == {
        "by_rule": {"jsep-import": 2, "jsep-cdn": 1},
        "versions": "`.`: `1.22.0`",
    }
    assert render.audit_summary([], {}) == {"by_rule": {}, "versions": ""}


def test_the_audit_table_has_a_row_per_repository_and_a_total() -> None:
    rows = [
        ("o/a", AuditOutcome("opened", 3, 5, {"by_rule": {"jsep-import": 2, "jsep-cdn": 1}, "versions": "`.`: `1`"})),
        ("o/b", AuditOutcome("clean")),
    ]
    table = render.audit_table(rows, wrote=True)
    assert table.startswith(render.AUDIT_TABLE_HEAD)
    assert "| o/a | opened | 3 | jsep-cdn ×1, jsep-import ×2 | `.`: `1` |\n| o/b | clean | 0 | – | – |\n" in table
    assert table.endswith("\n2 repositories, 1 with findings. Issues were written.\n")
    assert render.audit_table(rows, wrote=False).endswith(
        " with findings. Nothing was written (add --write to open or update the issues).\n"
    )


# --- the org-wide view ----------------------------------------------------------------------------


def test_the_org_issue_has_a_box_per_repository_and_reads_back_the_ticked_ones() -> None:
    rows = {
        "o/b": {
            "findings": 3,
            "summary": {"by_rule": {"jsep-import": 2, "jsep-cdn": 1}, "versions": "`.`: `1`"},
            "issue": 9,
        },
        "o/a": {},
    }
    title, body = render.org_body("o", rows, WEB)
    assert title == "onnxruntime-web's JSEP WebGPU backend across o: 2 repositories"
    assert render.org_body("o", {"o/a": {}}, WEB)[0].endswith(": 1 repository")
    assert body.startswith(render.ORG_MARKER + "\nThe weekly ortfix audit found repositories of **o**")
    assert (
        "- [ ] **o/a**: 0 finding(s) (); onnxruntime-web not declared; no issue <!-- ortfix:repo=o/a -->\n"
        f"- [ ] **o/b**: 3 finding(s) (jsep-cdn ×1, jsep-import ×2); onnxruntime-web `.`: `1`; [audit issue]({WEB}/o/b/issues/9)"
        " <!-- ortfix:repo=o/b -->"
    ) in body
    assert render.ticked(body) == set()
    ticked = body.replace("- [ ] **o/a**", "- [x] **o/a**").replace("- [ ] **o/b**", "- [X] **o/b**")
    assert render.ticked(ticked) == {"o/a", "o/b"}
    assert render.ticked(None) == set()  # type: ignore[arg-type]
