"""deploy/ checked statically (CI has no Docker engine, no Kubernetes and no helm binary).

Every YAML and JSON file parses; every ``GATEWAY_*`` name is a real setting and the values given are
accepted by ``Settings``; every metric named by an alert or a dashboard panel is exported by a live
gateway after some traffic; ports and probe paths agree across the Dockerfile, compose and the chart;
the chart's values satisfy its schema and every ``.Values.…`` a template reads exists. Helm templates
are checked with their ``{{ … }}`` actions blanked out (what remains must be YAML of the expected kind).
``promtool check rules`` / ``check config`` run when Debian's ``prometheus`` package put promtool on PATH.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import fields
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from gateway.__main__ import build_parser
from gateway.app import create_app
from gateway.db import Database
from gateway.metrics import METRICS_PATH
from gateway.settings import Settings
from tenants.roles import Role
from tests.support.artifact_http import ArtifactHttp
from tests.support.artifact_servers import ServerFarm
from tests.support.scrape import scrape
from tests.support.world import World

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "mlgateway"
SETTINGS = {f"GATEWAY_{f.name.upper()}" for f in fields(Settings)}
PORT = 8080
PROBES = {"/-/health", "/-/liveness", "/-/readiness"}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def compose() -> dict[str, Any]:
    return dict(load_yaml(DEPLOY / "compose.yaml"))


def values() -> dict[str, Any]:
    return dict(load_yaml(CHART / "values.yaml"))


def template(name: str) -> dict[str, Any]:
    """A chart template with every ``{{ … }}`` action blanked: control lines go, inline values become ``X``."""
    lines = []
    for line in (CHART / "templates" / name).read_text().splitlines():
        blanked = re.sub(r"\{\{-?.*?-?\}\}", "X", line)
        if blanked.strip() not in ("X", ""):
            lines.append(blanked)
    document = yaml.safe_load("\n".join(lines))
    assert isinstance(document, dict), name
    return document


def dashboard_expressions() -> list[str]:
    board = json.loads((DEPLOY / "grafana" / "dashboards" / "mlgateway.json").read_text())
    return [target["expr"] for panel in board["panels"] for target in panel["targets"]]


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in load_yaml(DEPLOY / "prometheus" / "alerts.yml")["groups"] for rule in group["rules"]]


# ---------------------------------------------------------------------------------------- parsing
def test_every_yaml_and_json_file_parses() -> None:
    yamls = [p for p in DEPLOY.rglob("*") if p.suffix in (".yml", ".yaml") and "templates" not in p.parts]
    assert len(yamls) >= 7
    for path in yamls:
        assert load_yaml(path), path
    for path in DEPLOY.rglob("*.json"):
        assert json.loads(path.read_text()), path


def test_chart_values_satisfy_the_schema_and_the_schema_refuses_mistakes() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.validate(values(), schema)
    for broken in ({"replicaCount": 0}, {"config": {"WORKERS": "2"}}, {"config": {"GATEWAY_WORKERS": "4"}}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**values(), **broken}, schema)
    chart = load_yaml(CHART / "Chart.yaml")
    assert chart["apiVersion"] == "v2" and chart["name"] == "mlgateway"


def test_templates_are_balanced_and_read_only_existing_values() -> None:
    known = values()
    for path in (CHART / "templates").iterdir():
        text = path.read_text()
        assert text.count("{{") == len(re.findall(r"\{\{.*?\}\}", text)), f"{path.name}: an unclosed action"
        opened = len(re.findall(r"\{\{-?\s*(if|range|with|define)\b", text))
        assert opened == len(re.findall(r"\{\{-?\s*end\s*-?\}\}", text)), path.name
        for reference in re.findall(r"\.Values\.([A-Za-z0-9_.]+)", text):
            node: Any = known
            for part in reference.split("."):
                assert isinstance(node, dict) and part in node, f"{path.name} reads .Values.{reference}"
                node = node[part]


def test_chart_has_every_resource_and_the_migration_hook_runs_the_real_command() -> None:
    kinds = {name: template(name)["kind"] for name in (p.name for p in (CHART / "templates").glob("*.yaml"))}
    expected = {
        "Deployment", "Service", "Ingress", "ConfigMap", "Secret", "Job",
        "HorizontalPodAutoscaler", "PodDisruptionBudget", "ServiceMonitor",
    }  # fmt: skip
    assert set(kinds.values()) == expected
    job = template("migration-job.yaml")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    [migrate] = job["spec"]["template"]["spec"]["containers"]
    [server] = template("deployment.yaml")["spec"]["template"]["spec"]["containers"]
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert migrate["args"] == ["migrate"] and server["args"] == ["serve"]
    assert {"migrate", "serve"} <= set(commands)
    secret = template("secret.yaml")
    weights = [int(r["metadata"]["annotations"]["helm.sh/hook-weight"]) for r in (secret, job)]
    assert weights[0] < weights[1], "the Secret must exist before the migration Job runs"


# ---------------------------------------------------------------------------------------- settings
def test_every_gateway_variable_in_deploy_is_a_real_setting() -> None:
    used: set[str] = set()
    for path in DEPLOY.rglob("*"):
        if path.is_file():
            used |= set(re.findall(r"\bGATEWAY_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
    assert used, "no GATEWAY_* variable found in deploy/"
    assert used <= SETTINGS, f"not settings: {sorted(used - SETTINGS)}"


def test_compose_and_chart_settings_are_accepted_by_settings() -> None:
    services = compose()["services"]
    gateway_env = {k: str(v) for k, v in services["gateway"]["environment"].items()}
    assert services["migrate"]["environment"] == services["gateway"]["environment"]
    gateway_env["GATEWAY_SECRET_KEY"] = "x" * 64  # compose takes it from the operator's environment
    Settings.from_env(gateway_env)
    chart_env = {**values()["config"], **{k: v or "x" * 40 for k, v in values()["secret"].items()}}
    chart_env["GATEWAY_DATABASE_URL"] = "postgresql+psycopg://u:p@db:5432/mlgateway"
    chart_env.update({k: str(v) for k, v in template("configmap.yaml")["data"].items() if v != "X"})
    settings = Settings.from_env(chart_env)
    assert (settings.workers, settings.bootstrap, settings.host) == (1, False, "0.0.0.0")  # noqa: S104


def test_grace_periods_outlast_drain_plus_in_flight_timeout() -> None:
    config = values()["config"]
    chart_needs = float(config["GATEWAY_SHUTDOWN_DRAIN_S"]) + float(config["GATEWAY_SHUTDOWN_TIMEOUT_S"])
    assert values()["terminationGracePeriodSeconds"] > chart_needs
    gateway = compose()["services"]["gateway"]
    compose_needs = float(gateway["environment"]["GATEWAY_SHUTDOWN_DRAIN_S"]) + float(
        gateway["environment"]["GATEWAY_SHUTDOWN_TIMEOUT_S"]
    )
    assert float(gateway["stop_grace_period"].removesuffix("s")) > compose_needs


# ---------------------------------------------------------------------------------------- ports and paths
def test_ports_and_probe_paths_agree_everywhere(settings: Settings, database: Database) -> None:
    routes = {getattr(r, "path", "") for r in create_app(settings, database=database).routes}
    assert PROBES | {METRICS_PATH} <= routes

    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(rf"^EXPOSE {PORT}$", dockerfile, re.MULTILINE)
    assert f"GATEWAY_PORT={PORT}" in dockerfile and "USER 10001" in dockerfile
    [docker_check] = re.findall(r"http://127\.0\.0\.1:(\d+)(/-/\w+)", dockerfile)
    assert docker_check == (str(PORT), "/-/readiness")

    gateway = compose()["services"]["gateway"]
    assert gateway["ports"] == [f"{PORT}:{PORT}"]
    assert re.findall(r"http://127\.0\.0\.1:(\d+)(/-/\w+)", " ".join(gateway["healthcheck"]["test"])) == [docker_check]
    [scrape_job] = [
        j for j in load_yaml(DEPLOY / "prometheus" / "prometheus.yml")["scrape_configs"] if j["job_name"] == "mlgateway"
    ]
    assert scrape_job["metrics_path"] == METRICS_PATH
    assert scrape_job["static_configs"][0]["targets"] == [f"gateway:{PORT}"]

    assert values()["containerPort"] == PORT
    [server] = template("deployment.yaml")["spec"]["template"]["spec"]["containers"]
    assert server["ports"][0]["name"] == "http"
    probes = {kind: server[kind]["httpGet"] for kind in ("startupProbe", "livenessProbe", "readinessProbe")}
    assert {p["path"] for p in probes.values()} == PROBES and {p["port"] for p in probes.values()} == {"http"}
    assert probes["readinessProbe"]["path"] == "/-/readiness"
    [endpoint] = template("servicemonitor.yaml")["spec"]["endpoints"]
    assert (endpoint["path"], endpoint["port"]) == (METRICS_PATH, "http")
    assert template("service.yaml")["spec"]["ports"][0]["targetPort"] == "http"


# ---------------------------------------------------------------------------------------- metrics
def test_every_metric_in_alerts_and_dashboard_is_exported(servers: ServerFarm, world: World) -> None:
    server = servers.get("local")
    project = world.project()
    artifacts = ArtifactHttp(server, project.id, world.member_token(project, Role.DEVELOPER))
    root = artifacts.new_run()
    run_id = root.split("/")[1]
    artifacts.tracking.ok("/runs/log-batch", {"run_id": run_id, "params": [{"key": "p", "value": "1"}]})
    assert artifacts.put(f"{root}/file.txt", b"bytes").status_code == 200
    assert artifacts.get(f"{root}/file.txt").content == b"bytes"
    assert httpx.get(server.project_url(project.id) + "/api/2.0/mlflow/experiments/search").status_code == 401
    assert httpx.get(f"{server.base_url}/-/readiness").status_code == 200
    exported = scrape(server.base_url).names()

    expressions = [rule["expr"] for rule in alert_rules()] + dashboard_expressions()
    used = {name for expr in expressions for name in re.findall(r"\b(mlgateway_[a-z0-9_]+)", expr)}
    assert len(used) >= 10
    assert used <= exported, f"not exported: {sorted(used - exported)}"
    board = json.loads((DEPLOY / "grafana" / "dashboards" / "mlgateway.json").read_text())
    provisioned = load_yaml(DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml")
    assert {p["datasource"]["uid"] for p in board["panels"]} == {provisioned["datasources"][0]["uid"]}


def test_alerts_cover_errors_latency_readiness_and_auth_failures() -> None:
    expressions = {rule["alert"]: rule["expr"] for rule in alert_rules()}
    joined = " ".join(expressions.values())
    assert (
        'status_class="5xx"' in joined and "histogram_quantile(0.95" in joined and "histogram_quantile(0.99" in joined
    )
    assert "mlgateway_readiness_ok" in joined and "mlgateway_auth_failures_total" in joined
    assert all(rule.get("for") and rule["labels"]["severity"] in ("warning", "critical") for rule in alert_rules())


@pytest.mark.skipif(
    shutil.which("promtool") is None and os.environ.get("CI") != "true",
    reason="promtool not on PATH (.ci/test installs Debian's prometheus; CI always runs this)",
)
def test_promtool_accepts_the_rules_and_the_config() -> None:
    for command in (["check", "rules", "alerts.yml"], ["check", "config", "prometheus.yml"]):
        done = subprocess.run(["promtool", *command], cwd=DEPLOY / "prometheus", capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
