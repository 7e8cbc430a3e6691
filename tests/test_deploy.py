"""The deployment files agree with the code: images, ports, commands, environment names, probes, paths."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.cli.commands import _parser
from bot.service.settings import DEFAULT_WEBHOOK_PATH
from bot.service.web import create_app

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
SETTINGS_NAMES = set(re.findall(r'get\("([A-Z_]+)"', (ROOT / "bot/service/settings.py").read_text()))
SECRET_NAMES = {"APP_ID", "PRIVATE_KEY", "WEBHOOK_SECRET"}
WEB_COMMAND = ["gunicorn", "--bind", "0.0.0.0:3000", "--workers", "2", "--graceful-timeout", "25", "bot.web:wsgi()"]


def k8s() -> list[dict]:
    return [d for d in yaml.safe_load_all((DEPLOY / "kubernetes/ortfix.yaml").read_text()) if d]


def containers(kind: str, name: str) -> list[dict]:
    (document,) = [d for d in k8s() if d["kind"] == kind and d["metadata"]["name"] == name]
    return document["spec"]["template"]["spec"]["containers"]


def test_every_environment_name_is_one_the_code_reads(settings, service) -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    names = {n for s in compose["services"].values() for n in (s.get("environment") or {})}
    for document in k8s():
        for container in document.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            names |= {e["name"] for e in container.get("env", [])}
    assert names and names <= SETTINGS_NAMES
    assert SECRET_NAMES <= SETTINGS_NAMES


def test_ports_probes_and_commands_agree(settings, service) -> None:
    """gunicorn binds the port the containers expose and PORT says; probes hit a route that exists."""
    routes = {rule.rule for rule in create_app(settings, service).url_map.iter_rules()}
    web = containers("Deployment", "ortfix-web")[0]
    assert web["command"] == WEB_COMMAND and web["ports"][0]["containerPort"] == 3000
    assert {"name": "PORT", "value": "3000"} in web["env"]
    for probe in ("livenessProbe", "readinessProbe"):
        assert web[probe]["httpGet"]["path"] == "/healthz" and "/healthz" in routes
    worker = containers("Deployment", "ortfix-worker")[0]
    assert worker["command"] == ["ortfix", "worker"] and worker["envFrom"] == [{"secretRef": {"name": "ortfix"}}]
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"]
    assert compose["web"]["command"] == WEB_COMMAND and compose["web"]["ports"] == ["3000-3001:3000"]
    assert compose["worker"]["command"] == ["ortfix", "worker"]
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines())
    assert "'bot.web:wsgi()'" in procfile["web"] and procfile["worker"] == "ortfix worker"
    commands = _parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"serve", "worker", "setup", "audit", "scan"} <= set(commands)


def test_images_and_the_webhook_path() -> None:
    """The app image everywhere; Redis with an append-only file; the ingress routes GitHub's webhook path."""
    images = {
        c["image"]
        for d in k8s()
        if d["kind"] in ("Deployment", "StatefulSet")
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    assert images == {"ortfix:latest", "redis:7-alpine"}
    redis = containers("StatefulSet", "ortfix-redis")[0]
    assert "--appendonly" in redis["args"]
    (ingress,) = [d for d in k8s() if d["kind"] == "Ingress"]
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["path"] == DEFAULT_WEBHOOK_PATH
    services = {d["metadata"]["name"] for d in k8s() if d["kind"] == "Service"}
    assert {"ortfix-web", "ortfix-redis"} <= services


def test_metrics_token_is_a_setting_and_every_deployment_names_it() -> None:
    """/metrics is behind METRICS_TOKEN: the code reads it, and each deployment says where to set it."""
    assert "METRICS_TOKEN" in SETTINGS_NAMES
    for file in ("kubernetes/ortfix.yaml", "docker-compose.yml", "heroku.md"):
        assert "Authorization: Bearer METRICS_TOKEN" in (DEPLOY / file).read_text(), file


def test_the_dockerfile_is_slim_non_root_and_has_npm() -> None:
    """Slim, non-root, with node, ortfix's pinned package managers and the sandbox user; never corepack."""
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert dockerfile.startswith("# ") and "FROM python:3.11-slim" in dockerfile
    assert "nodejs npm" in dockerfile and "ortfix install-tools" in dockerfile and "corepack" not in dockerfile
    assert "useradd --system --no-create-home --shell /usr/sbin/nologin ortfix-sandbox" in dockerfile
    assert re.search(r"^USER ortfix$", dockerfile, re.MULTILINE)
    assert 'CMD ["ortfix", "serve"]' in dockerfile and "EXPOSE 3000" in dockerfile


def test_two_web_processes_and_two_workers_share_only_redis() -> None:
    """Compose and Kubernetes both run the multi-host shape the soak proves: 2 web, 2 workers, state in Redis only."""
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"]
    deployments = {d["metadata"]["name"]: d for d in k8s() if d["kind"] == "Deployment"}
    for service, deployment in (("web", "ortfix-web"), ("worker", "ortfix-worker")):
        assert compose[service]["deploy"]["replicas"] == deployments[deployment]["spec"]["replicas"] == 2
        assert compose[service]["environment"]["REDIS_URL"].startswith("redis://")
        assert "volumes" not in compose[service]
        assert "volumes" not in deployments[deployment]["spec"]["template"]["spec"]
