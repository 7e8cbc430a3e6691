"""Every shell and YAML snippet in the README works.

Shell lines are split into commands, and each command is checked the way its
tool would take it: `ortfix` through its own parser and `--help`, `pip` with
`--dry-run`, scripts for existence and syntax. YAML goes through the loader of
the tool that reads it: ortfix's config parser, pre-commit's, or the shell
checks for a workflow's `run:` steps. A command or a document nobody knows how
to check fails the test, so a new snippet cannot go unchecked.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from bot.cli import commands as cli_commands
from bot.core import repo_config

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
_BLOCK = re.compile(r"^( *)```(sh|yaml)\n(.*?)^\1```", re.S | re.M)
_OPERATORS = {"&&", "||", ";", "|", ">", "2>", ">>"}


def snippets(language: str) -> list[str]:
    text = (ROOT / "README.md").read_text("utf-8")
    return [textwrap.dedent(m.group(3)) for m in _BLOCK.finditer(text) if m.group(2) == language]


def commands(script: str) -> list[list[str]]:
    """Each simple command of a shell snippet, without redirections and comments."""
    found: list[list[str]] = []
    for line in script.splitlines():
        words = shlex.split(line, comments=True)
        current: list[str] = []
        skip_next = False
        for word in words:
            if skip_next:
                skip_next = False
            elif word in _OPERATORS:
                skip_next = word in (">", "2>", ">>")
                if current:
                    found.append(current)
                current = []
            else:
                current.append(word)
        if current:
            found.append(current)
    return found


def run(*argv: str, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def check_command(words: list[str], wheel_dir: Path) -> None:
    """Check one command as its tool would take it; fail for a command nobody knows how to check."""
    head, args = words[0], words[1:]
    if head == "ortfix":
        parser = cli_commands._parser()
        parser.parse_args(args)  # SystemExit (a usage error) fails the test
        subcommand = next(a for a in args if not a.startswith("-"))
        assert run(str(BIN / "ortfix"), subcommand, "--help").returncode == 0
    elif head in ("python3", "python") and args[:2] == ["-m", "venv"]:
        assert run(sys.executable, "-m", "venv", "--help").returncode == 0
    elif head in (".", "source"):
        assert args == [".venv/bin/activate"], "only the venv made above is activated"
    elif head == "pip" and args[:1] == ["wheel"]:
        assert args[1:] == ["--no-deps", "-w", "dist", "."], "the wheel fixture builds exactly this"
        assert list(wheel_dir.glob("ortfix-*.whl")), "pip wheel built no wheel"
    elif head == "pip" and args[:1] == ["install"]:
        targets = [a for a in args[1:] if not a.startswith("-")]
        targets = [str(wheel_dir / Path(t).name) if t.endswith(".whl") else t for t in targets]
        options = ["-e"] if "-e" in args else []
        dry = run(sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "-q", *options, *targets)
        assert dry.returncode == 0, dry.stderr
    elif head.startswith("scripts/"):
        script = ROOT / head
        assert script.is_file() and os.access(script, os.X_OK), f"{head} is not an executable file"
        assert run("bash", "-n", str(script)).returncode == 0
    elif head == "true":
        pass
    else:
        raise AssertionError(f"no check for the README command {' '.join(words)!r}: add one to {__file__}")


@pytest.fixture(scope="module")
def wheel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel the README builds, built once for the checks that install it."""
    directory = tmp_path_factory.mktemp("dist")
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(directory), ".")
    assert built.returncode == 0, built.stderr
    return directory


def test_readme_has_snippets() -> None:
    """The checks below have something to check: the quick start and the config examples."""
    assert len(snippets("sh")) >= 2 and len(snippets("yaml")) >= 3


@pytest.mark.slow
def test_every_shell_snippet_works(wheel_dir: Path) -> None:
    """Each command of each ```sh block runs as written (with --help or a dry run)."""
    for snippet in snippets("sh"):
        for words in commands(snippet):
            check_command(words, wheel_dir)


@pytest.mark.slow
def test_every_yaml_snippet_loads(tmp_path: Path, wheel_dir: Path) -> None:
    """Each ```yaml block is valid for the tool that reads it."""
    for index, snippet in enumerate(snippets("yaml")):
        document = yaml.safe_load(snippet)
        if isinstance(document, dict) and "repos" in document:
            from pre_commit.clientlib import load_config

            config = tmp_path / f"pre-commit-{index}.yaml"
            config.write_text(snippet)
            load_config(str(config))
        elif isinstance(document, dict) and set(document) <= set(repo_config.SCHEMA["properties"]):
            assert repo_config.parse(snippet).errors == ()
        elif isinstance(document, list) and all("run" in step or "uses" in step for step in document):
            for step in document:
                for words in commands(step.get("run", "")):
                    check_command(words, wheel_dir)
        else:
            raise AssertionError(f"no check for the README YAML block {index}: add one to {__file__}")


def _git_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "package.json").write_text('{"dependencies": {"onnxruntime-web": "^1.30.0"}}\n')
    (project / "app.js").write_text(
        "import * as ort from 'onnxruntime-web';\n"
        "export const open = (m) => ort.InferenceSession.create(m, { executionProviders: ['webgpu'] });\n"
    )
    for argv in (["git", "init", "-q"], ["git", "add", "."]):
        subprocess.run(argv, cwd=project, check=True)
    return project


@pytest.mark.slow
def test_readme_pre_commit_hook_runs(tmp_path: Path) -> None:
    """The README's local hook, installed as pre-commit installs it, flags a bare import."""
    project = _git_project(tmp_path)
    snippet = next(s for s in snippets("yaml") if "repos:" in s)
    (project / ".pre-commit-config.yaml").write_text(snippet)
    env_home = {"PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    result = subprocess.run(
        [str(BIN / "pre-commit"), "run", "--all-files"],
        cwd=project,
        env={**os.environ, **env_home, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1 and "jsep-import" in result.stdout, result.stdout + result.stderr


@pytest.mark.slow
def test_published_hook_definition_installs(tmp_path: Path) -> None:
    """`.pre-commit-hooks.yaml` works as a remote hook: pre-commit try-repo installs ortfix from this repository."""
    project = _git_project(tmp_path)
    result = subprocess.run(
        [str(BIN / "pre-commit"), "try-repo", str(ROOT), "ortfix", "--all-files"],
        cwd=project,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 1 and "jsep-import" in result.stdout, result.stdout + result.stderr


def test_security_md_says_who_is_trusted_what_runs_where_the_sandbox_and_how_to_report() -> None:
    """SECURITY.md: the threat model, the processes and their privileges, the sandbox and its hardening, reporting."""
    text = (ROOT / "SECURITY.md").read_text("utf-8")
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings == [
        "Reporting a vulnerability",
        "Threat model",
        "What runs where, with which privileges",
        "The package-manager sandbox",
        "Hardening further",
    ]
    for trusted_or_not in ("operator", "pull request", "comment", "webhook"):
        assert trusted_or_not in text.lower(), trusted_or_not
    assert "ortfix-sandbox" in text and "ORTFIX_SANDBOX_USER" in text


def test_the_readme_is_for_users_and_lists_every_command() -> None:
    """What a user and an operator need, in that order, kept short; the command table names every subcommand."""
    text = (ROOT / "README.md").read_text("utf-8")
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings == [
        "Quick start",
        "Installing it on an organization",
        "Configuration",
        "What ortfix does on GitHub",
        "The command line",
        "What it finds",
        "Deployment",
        "Figures",
        "Where things are",
    ]
    assert len(text.splitlines()) <= 300
    table = text.split("### All commands", 1)[1].split("\n## ", 1)[0]
    (subcommands,) = (a for a in cli_commands._parser()._actions if a.choices)
    assert all(f"`ortfix {name}" in table for name in subcommands.choices)
    assert not re.search(r"\b(sessions?|helpers?|this machine)\b", text, re.I)  # never the process it was written in
