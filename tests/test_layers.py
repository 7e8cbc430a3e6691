"""The tree's layers hold: no module imports a layer above its own, the core stays pure, and no import circles."""

from __future__ import annotations

import ast
import re
from pathlib import Path

BOT = Path(__file__).resolve().parents[1] / "bot"
LAYERS = ("core", "adapters", "jobs", "service", "cli")  # each may import its own layer and those before it
ENTRY_POINTS = {"bot.web": "cli"}  # `gunicorn 'bot.web:wsgi()'`: stands where the CLI does, at the top
OUTSIDE_WORLD = ("flask", "werkzeug", "github", "requests", "huey", "redis", "gunicorn", "prometheus_client")


def modules(root: Path = BOT) -> dict[str, str]:
    """Every module under bot/ by dotted name, with its source."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path.read_text("utf-8")
    return found


def imports(name: str, source: str, known: set[str]) -> set[str]:
    """The modules `name` imports anywhere (module level, functions, TYPE_CHECKING): ours resolved, others by top name."""
    package = name if f"{name}.__init__" in known else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, one level up per extra dot
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {m if m.startswith("bot") else m.split(".")[0] for m in found}


def layer(name: str) -> int:
    if name in ENTRY_POINTS:
        return LAYERS.index(ENTRY_POINTS[name])
    parts = name.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else 0


def violations(sources: dict[str, str]) -> list[str]:
    known = set(sources) | {f"{n}.__init__" for n in sources if any(m.startswith(f"{n}.") for m in sources)}
    graph = {name: imports(name, text, known) for name, text in sources.items()}
    found = []
    for name, targets in graph.items():
        for target in sorted(targets):
            if target in sources and layer(target) > layer(name):
                found.append(f"{name} ({LAYERS[layer(name)]}) imports {target} ({LAYERS[layer(target)]})")
            if layer(name) == 0 and target in OUTSIDE_WORLD:
                found.append(f"{name} (core) imports {target}")
    found += [f"import circle: {' -> '.join(circle)}" for circle in circles(graph)]
    return found


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One path per import circle between our modules (a package importing its own submodules excepted)."""
    found, done = [], set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            found.append([*path[path.index(name) :], name])
            return
        if name in done:
            return
        for target in sorted(graph.get(name, ())):
            if target in graph and not target.startswith(f"{name}."):
                visit(target, [*path, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
    return found


def test_no_layer_imports_one_above_the_core_is_pure_and_nothing_circles() -> None:
    assert violations(modules()) == []


def test_every_module_sits_in_a_layer() -> None:
    loose = [n for n in modules() if n.count(".") == 1 and n.split(".")[1] not in LAYERS and n not in ENTRY_POINTS]
    assert loose == []


def test_the_check_sees_an_upward_import_an_impure_core_and_a_circle() -> None:
    planted = {
        "bot.core.render": "from bot.jobs.review import load_config\n",
        "bot.core.events": "import flask\n",
        "bot.jobs.review": "from bot.jobs import audit\n",
        "bot.jobs.audit": "def later():\n    from bot.jobs.review import load_config\n",
        "bot.service.web": "from bot.core import render\nfrom bot.cli.commands import main\n",
        "bot.cli.commands": "from bot.service import web\n",
    }
    assert violations(planted) == [
        "bot.core.render (core) imports bot.jobs.review (jobs)",
        "bot.core.events (core) imports flask",
        "bot.service.web (service) imports bot.cli.commands (cli)",
        "import circle: bot.cli.commands -> bot.service.web -> bot.cli.commands",
        "import circle: bot.jobs.review -> bot.jobs.audit -> bot.jobs.review",
    ]


def test_the_architecture_page_and_the_readme_match_the_tree() -> None:
    """Every module is in the drawing under its layer; every path the page names exists; the README names each layer."""
    page = (BOT.parent / "docs/architecture.md").read_text("utf-8")
    drawing = page.split("```")[1]
    blocks = {layer: "" for layer in LAYERS}  # each layer's lines of the drawing, down to the next layer's
    current = None
    for line in drawing.splitlines():
        first = line.split()[0].rstrip("/") if line.split() else ""
        current = first if first in LAYERS else current
        if current:
            blocks[current] += line + "\n"
    for name in modules():
        parts = name.split(".")
        if len(parts) > 2 and parts[1] in LAYERS and parts[2] != "__main__":
            assert re.search(rf"\b{parts[2]}\b", blocks[parts[1]]), f"{name} is not drawn under {parts[1]}/"
    for path in re.findall(r"`((?:bot/)?(?:\w+/)+\w+\.py)", page):
        assert (BOT / path.removeprefix("bot/")).exists() or (BOT.parent / path).exists(), path
    readme = (BOT.parent / "README.md").read_text("utf-8")
    assert all(f"`bot/{layer}/`" in readme for layer in LAYERS)
