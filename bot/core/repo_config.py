"""Pure: the text of `.github/ortfix.yml` → RepoConfig, and what was wrong with it."""

from __future__ import annotations

from dataclasses import dataclass, field

import jsonschema
import yaml

PATH = ".github/ortfix.yml"
MAX_BYTES = 64 * 1024
CHECK_MODES = ("failure", "neutral", "off")
STALE_MODES = ("resolve", "delete")
SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "review": {"type": "boolean"},
        "check": {"enum": [*CHECK_MODES, False]},  # YAML reads a bare `off` as false
        "fix_prs": {"type": "boolean"},
        "audit": {"enum": [True, False, "on", "off"]},
        "ignore": {"type": "array", "items": {"type": "string"}},
        "min_version": {"type": "string", "pattern": r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$"},
        "dry_run": {"type": "boolean"},
        "stale_comments": {"enum": list(STALE_MODES)},
    },
}


@dataclass(frozen=True)
class RepoConfig:
    review: bool = True  # post review comments on pull requests
    check: str = "failure"  # the check run's conclusion when errors are found: failure | neutral | off
    fix_prs: bool = False  # keep a fix pull request open against the default branch
    audit: bool = True  # the weekly audit issue
    ignore: tuple[str, ...] = ()
    min_version: str | None = None  # the onnxruntime-web version ranges are raised to (default: the latest)
    dry_run: bool = False  # log what would be posted, post nothing
    stale_comments: str = "resolve"  # a comment whose finding is gone: its thread resolved, or (delete) removed
    errors: tuple[str, ...] = field(default=(), compare=False)  # what was wrong with the file; defaults used


def parse(text: str | None) -> RepoConfig:
    """The config in `text` (None: no file). A broken file gives the defaults and says why in `errors`."""
    if text is None or not text.strip():
        return RepoConfig()
    if len(text.encode()) > MAX_BYTES:
        return RepoConfig(errors=(f"{PATH} is larger than {MAX_BYTES // 1024} KB",))
    try:
        if any(isinstance(token, yaml.AliasToken) for token in yaml.scan(text)):
            # aliases can make a few lines expand into gigabytes ("billion laughs"); a config needs none
            return RepoConfig(errors=(f"{PATH} uses YAML aliases (*name), which ortfix does not accept",))
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        return RepoConfig(errors=(f"{PATH} is not valid YAML: {_first_line(error)}",))
    if document is None:
        return RepoConfig()
    problems = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(document), key=lambda e: list(e.path))
    if problems:
        return RepoConfig(errors=tuple(f"{PATH}: {_where(p)}{p.message}" for p in problems))
    return RepoConfig(
        review=document.get("review", True),
        check=document.get("check", "failure") or "off",
        fix_prs=document.get("fix_prs", False),
        audit=document.get("audit", True) in (True, "on"),
        ignore=tuple(document.get("ignore", ())),
        min_version=document.get("min_version"),
        dry_run=document.get("dry_run", False),
        stale_comments=document.get("stale_comments", "resolve"),
    )


def _where(problem: jsonschema.ValidationError) -> str:
    return "".join(f"{part}: " for part in problem.path)


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]
