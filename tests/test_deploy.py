"""The image and the deployment files, checked with what runs without a Docker engine or a
cluster: hadolint on the Dockerfile, the Kubernetes schemas (kubernetes-validate, strict) on
the manifests, the compose specification's JSON schema on the compose file (and `docker
compose config` where the compose plugin exists), `systemd-analyze` on the unit, yamllint on
every YAML file; then what those tools cannot know: that the pieces agree with each other
and with pyproject (lock file, user, ports, probes, labels) and that no secret is committed.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from ci import not_here
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bot.config import load_config
from bot.sandbox import talend

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
DOCKERFILE = ROOT / "Dockerfile"
LOCK = ROOT / "requirements.lock"
COMPOSE = DEPLOY / "compose.yaml"
UNIT = DEPLOY / "systemd" / "maintbot.service"
ENV_EXAMPLE = DEPLOY / "maintbot.env.example"
K8S = DEPLOY / "kubernetes"
K8S_RESOURCES = ["configmap.yaml", "secret.yaml", "deployment.yaml", "service.yaml", "pdb.yaml"]
PORT = 3000


def _tool(name: str) -> str:
    """A command-line tool of the test extra: beside this interpreter (the venv), else PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    assert found, f"{name} is not installed: pip install -e '.[test]'"
    return found


def _run(*argv: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, **kwargs)


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _k8s(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = _yaml(K8S / name)
    return loaded


# -- the Dockerfile --------------------------------------------------------------------------
def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined, comments out."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        pending += " " + stripped.removesuffix("\\") if pending else stripped.removesuffix("\\")
        if not stripped.endswith("\\"):
            word, _, rest = pending.partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
            pending = ""
    return out


def _stages() -> list[list[tuple[str, str]]]:
    """The build stages' instructions (the global ARGs before the first FROM are not a
    stage's: see :func:`_global_args`)."""
    stages: list[list[tuple[str, str]]] = []
    for word, rest in _instructions():
        if word == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((word, rest))
    return stages


def _global_args() -> dict[str, str]:
    found: dict[str, str] = {}
    for word, rest in _instructions():
        if word == "FROM":
            break
        if word == "ARG":
            name, _, default = rest.partition("=")
            found[name] = default
    return found


def test_both_stages_start_from_one_base_image_that_a_build_can_pin() -> None:
    bases = [stage[0][1].split()[0] for stage in _stages()]
    assert bases == ["${PYTHON_IMAGE}", "${PYTHON_IMAGE}"]
    # The default is a tag of the Python the project supports; a release passes a digest.
    assert _global_args() == {"PYTHON_IMAGE": "python:3.11-slim"}


def test_hadolint_finds_nothing() -> None:
    # hadolint's default failure threshold is "info": any finding at all fails.
    result = _run(_tool("hadolint"), "--no-color", str(DOCKERFILE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_every_ignored_hadolint_rule_is_justified_inline() -> None:
    lines = DOCKERFILE.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if "hadolint ignore=" in line:
            before = lines[number - 1].strip() if number else ""
            why = f"Dockerfile line {number + 1}: say why the rule is ignored, on the line above"
            assert before.startswith("#"), why
            assert len(before) > 20, why


def test_the_image_runs_as_a_numeric_non_root_user() -> None:
    final = _stages()[-1]
    users = [rest for word, rest in final if word == "USER"]
    assert users, "the final stage sets no USER: the bot would run as root"
    user = users[-1]
    assert re.fullmatch(r"\d+(:\d+)?", user), f"USER {user}: use a numeric uid[:gid]"
    uid, _, gid = user.partition(":")
    assert int(uid) != 0
    assert not gid or int(gid) != 0
    # The manifests run it as the same user, so runAsNonRoot and file ownership agree.
    pod = _k8s("deployment.yaml")["spec"]["template"]["spec"]["securityContext"]
    assert pod["runAsUser"] == int(uid)
    assert pod["runAsNonRoot"] is True


def test_the_image_installs_from_the_lock_file_only() -> None:
    build, runtime = _stages()[0], _stages()[-1]
    copies = [rest for word, rest in build if word == "COPY"]
    assert any(rest.split()[0] == "requirements.lock" for rest in copies)
    lock_in_image = next(rest.split()[-1] for rest in copies if rest.startswith("requirements."))
    pip_runs = [
        cmd
        for word, rest in build
        if word == "RUN"
        for cmd in rest.split("&&")
        if " pip install " in f" {cmd} " or "/pip install" in cmd
    ]
    from_lock = [c for c in pip_runs if f"-r {lock_in_image}" in c]
    assert from_lock, "no pip install -r <the lock file> in the build stage"
    assert all("--require-hashes" in c and "--no-deps" in c for c in from_lock)
    # Anything else pip installs (maintbot itself) brings no dependency of its own.
    assert all("--no-deps" in c for c in pip_runs), pip_runs
    assert any("pip check" in rest for word, rest in build if word == "RUN")
    # The runtime stage installs nothing: it copies the build stage's environment.
    assert not any("pip" in rest for word, rest in runtime if word == "RUN")
    assert any(word == "COPY" and rest.startswith("--from=build") for word, rest in runtime)


def test_the_image_probes_healthz_and_serves_on_the_exposed_port() -> None:
    final = _stages()[-1]
    checks = [rest for word, rest in final if word == "HEALTHCHECK"]
    assert len(checks) == 1
    assert f"127.0.0.1:{PORT}/healthz" in checks[0]
    assert ("EXPOSE", str(PORT)) in final
    cmd = next(rest for word, rest in final if word == "CMD")
    for word in ("serve", "0.0.0.0", str(PORT)):
        assert f'"{word}"' in cmd


def _dockerignored(path: str, patterns: list[str]) -> bool:
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        bare = pattern.removeprefix("!").rstrip("/")
        if fnmatch.fnmatch(path, bare) or fnmatch.fnmatch(path, f"{bare}/*"):
            ignored = not negate
    return ignored


def test_dockerignore_keeps_out_the_noise_and_keeps_what_the_build_copies() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for noise in (".git", ".venv", "tests", "bench", ".mypy_cache", ".pytest_cache", ".env"):
        assert _dockerignored(noise, patterns), f"{noise} is sent to the build context"
    assert _dockerignored("bot/__pycache__", patterns) or "**/__pycache__" in patterns
    assert _dockerignored("maintbot.db", patterns)
    for stage in _stages():
        for word, rest in stage:
            if word == "COPY" and not rest.startswith("--from"):
                for source in rest.split()[:-1]:
                    assert (ROOT / source).exists(), f"COPY {source}: no such file"
                    assert not _dockerignored(source, patterns), f"COPY {source} is ignored"


# -- the lock file ---------------------------------------------------------------------------
def _locked() -> dict[str, tuple[str, list[str]]]:
    """Canonical name -> (version, hashes) from requirements.lock."""
    pins: dict[str, tuple[str, list[str]]] = {}
    current: str | None = None
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" "):
            spec = line.split("\\")[0].split(";")[0].strip()
            name, sep, version = spec.partition("==")
            assert sep, f"requirements.lock: {spec!r} is not pinned with =="
            current = canonicalize_name(name)
            pins[current] = (version, [])
        else:
            assert current is not None
            found = re.search(r"--hash=(sha256:[0-9a-f]{64})", line)
            if found:
                pins[current][1].append(found.group(1))
    return pins


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_lock_pins_every_runtime_dependency_within_pyprojects_range() -> None:
    pins = _locked()
    # The image's Python: Linux, CPython 3.11 (the Dockerfile's base image).
    environment = {**default_environment(), "python_version": "3.11", "sys_platform": "linux"}
    stale = []
    for text in _pyproject()["project"]["dependencies"]:
        requirement = Requirement(text)
        if requirement.marker and not requirement.marker.evaluate(environment):
            continue
        name = canonicalize_name(requirement.name)
        if name not in pins:
            stale.append(f"{requirement.name} is not in requirements.lock")
        elif not requirement.specifier.contains(pins[name][0], prereleases=True):
            stale.append(f"{requirement.name}=={pins[name][0]} is outside {requirement.specifier}")
    assert not stale, (
        "requirements.lock disagrees with pyproject.toml; regenerate it with the command in its "
        "header: " + "; ".join(stale)
    )


def test_every_locked_package_has_hashes() -> None:
    unhashed = [name for name, (_version, hashes) in _locked().items() if not hashes]
    assert not unhashed, f"no --hash for {unhashed}: pip install --require-hashes refuses them"


def test_the_lock_holds_no_test_only_package() -> None:
    pins = _locked()
    runtime = {
        canonicalize_name(Requirement(d).name) for d in _pyproject()["project"]["dependencies"]
    }
    for text in _pyproject()["project"]["optional-dependencies"]["test"]:
        name = canonicalize_name(Requirement(text).name)
        if name not in runtime:
            assert name not in pins, f"{name} is a test dependency but the image would install it"


# -- the sandbox without the test extra -----------------------------------------------------
def test_the_talend_simulator_goes_without_openapi_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(talend, "_validator_installed", lambda: False)
    if talend.spec_dir() is not None:
        assert not talend.TalendSimulator(validate=None).validating
        with pytest.raises(ModuleNotFoundError, match=r"openapi-core is not installed.*\[test\]"):
            talend.TalendSimulator(validate=True)
    assert not talend.TalendSimulator(validate=False).validating


_BLOCK_TEST_ONLY_IMPORTS = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"openapi_core", "yaml"}:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")
        return None
sys.meta_path.insert(0, Block())
from bot.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_the_sandbox_check_needs_no_test_dependency(tmp_path: Path) -> None:
    """The README's first command installs without the test extra: `maintbot check` over the
    built-in sandbox must not import openapi-core or PyYAML (here: blocked), even with
    Talend's OpenAPI files beside the clone."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAINTBOT_", "SLACK_"))} | {
        "MAINTBOT_DB": str(tmp_path / "m.db")
    }
    result = _run(
        sys.executable,
        "-c",
        _BLOCK_TEST_ONLY_IMPORTS,
        "check",
        "Saturday 2-4am",
        "--now",
        "2026-12-01T12:00:00+00:00",
        "--json",
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["systems"]
    assert all(s["ok"] for s in report["systems"]), report["systems"]


# -- Kubernetes ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", K8S_RESOURCES)
def test_manifest_is_valid_kubernetes_strictly(name: str) -> None:
    for document in yaml.safe_load_all((K8S / name).read_text(encoding="utf-8")):
        kubernetes_validate.validate(document, kubernetes_validate.latest_version(), strict=True)


def test_kustomization_lists_every_manifest() -> None:
    listed = _k8s("kustomization.yaml")["resources"]
    assert sorted(listed) == sorted(K8S_RESOURCES)
    assert sorted(p.name for p in K8S.glob("*.yaml")) == sorted(
        [*K8S_RESOURCES, "kustomization.yaml"]
    )


def test_deployment_runs_two_replicas_with_probes_grace_and_limits() -> None:
    deployment = _k8s("deployment.yaml")
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 30
    (container,) = pod["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert named[container[probe]["httpGet"]["port"]] == PORT
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["runAsNonRoot"] is True
    assert security["capabilities"]["drop"] == ["ALL"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind])
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["MAINTBOT_DB"].startswith("postgresql://")
    # user@host, no password: libpq reads PGPASSWORD from the Secret.
    user, at, _host = env["MAINTBOT_DB"].removeprefix("postgresql://").partition("@")
    assert at
    assert ":" not in user
    assert {"secretRef": {"name": _k8s("secret.yaml")["metadata"]["name"]}} in container["envFrom"]
    config = next(v for v in pod["volumes"] if v["name"] == "config")
    assert config["configMap"]["name"] == _k8s("configmap.yaml")["metadata"]["name"]


def test_service_and_disruption_budget_select_the_deployments_pods() -> None:
    deployment = _k8s("deployment.yaml")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    pdb = _k8s("pdb.yaml")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    # Two replicas, at most one disrupted at a time.
    assert pdb["spec"]["minAvailable"] == 1
    service = _k8s("service.yaml")
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"


def test_the_secret_is_a_template_with_no_values() -> None:
    secret = _k8s("secret.yaml")
    assert "data" not in secret
    values = secret["stringData"]
    assert {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "PGPASSWORD"} <= set(values)
    assert all(value == "" for value in values.values()), "a value is committed in secret.yaml"


def test_the_configmaps_maintbot_toml_is_a_valid_config(tmp_path: Path) -> None:
    file = tmp_path / "maintbot.toml"
    file.write_text(_k8s("configmap.yaml")["data"]["maintbot.toml"], encoding="utf-8")
    config = load_config(file)
    assert config.schedulers
    # Every credential it names is a key of the Secret (envFrom makes them variables).
    secret_keys = set(_k8s("secret.yaml")["stringData"])
    for scheduler in config.schedulers.values():
        assert set(scheduler.credential_envs().values()) <= secret_keys


# -- compose ---------------------------------------------------------------------------------
def test_compose_file_matches_the_compose_specification() -> None:
    result = _run(
        sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
        str(COMPOSE),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


# `docker compose config` would check the file too, but these machines have no compose
# plugin, and a test that can only ever skip here proves nothing; the schema check above
# runs everywhere. By hand, where the plugin is installed:
#     docker compose --env-file deploy/maintbot.env.example -f deploy/compose.yaml config


def test_compose_runs_two_replicas_on_postgresql() -> None:
    compose = _yaml(COMPOSE)
    services = compose["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    bot = services["maintbot"]
    assert bot["deploy"]["replicas"] == 2
    assert bot["environment"]["MAINTBOT_DB"].startswith("postgresql://")
    assert bot["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert bot["build"]["context"] == ".."
    built = DEPLOY / bot["build"]["context"] / bot["build"]["dockerfile"]
    assert built.resolve() == DOCKERFILE.resolve()
    assert bot["env_file"] == ".env"
    assert bot["stop_grace_period"] == "30s"
    # Two replicas cannot publish one host port: a range, one port each.
    assert bot["ports"] == [f"127.0.0.1:{PORT}-{PORT + 1}:{PORT}"]
    # Every variable the file interpolates is one the .env example names.
    named = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.M))
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", COMPOSE.read_text()))
    assert used <= named, used - named


# -- systemd ---------------------------------------------------------------------------------
def _unit() -> dict[str, dict[str, list[str]]]:
    sections: dict[str, dict[str, list[str]]] = {}
    current = ""
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = line.strip("[]")
            sections[current] = {}
            continue
        key, sep, value = line.partition("=")
        assert sep, f"maintbot.service: {line!r} is not KEY=VALUE"
        assert current, f"maintbot.service: {line!r} is outside any section"
        sections[current].setdefault(key, []).append(value)
    return sections


def test_systemd_unit_runs_unprivileged_restarts_and_reads_tokens_from_a_file() -> None:
    unit = _unit()
    assert set(unit) == {"Unit", "Service", "Install"}
    service = {k: v[-1] for k, v in unit["Service"].items()}
    assert service["User"] not in {"root", "0"}
    assert service["Restart"] == "on-failure"
    assert service["EnvironmentFile"].startswith("/etc/maintbot/")
    assert service["ExecStart"].split()[1:3] == ["serve", "--host"]
    assert service["TimeoutStopSec"] == "30s"
    for key in ("NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices"):
        assert key in service, f"hardening: {key} is not set"
    assert service["CapabilityBoundingSet"] == ""
    assert not any(
        "SLACK_" in v or "PGPASSWORD" in v for v in unit["Service"].get("Environment", [])
    )


def _systemd_analyze() -> str:
    """systemd-analyze (Debian's systemd package; on every machine CI runs on)."""
    found = shutil.which("systemd-analyze")
    if found is None:
        not_here("systemd-analyze is not installed; the unit was not verified")
    assert found is not None
    return found


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    analyze = _systemd_analyze()
    # verify wants ExecStart's program to exist: a stand-in at a temporary path, the rest of
    # the unit as committed. Unknown keys and bad values are printed (exit 0): nothing must be.
    program = tmp_path / "maintbot"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    exec_start = _unit()["Service"]["ExecStart"][-1].split()[0]
    unit = tmp_path / "maintbot.service"
    unit.write_text(UNIT.read_text(encoding="utf-8").replace(exec_start, str(program)))
    result = _run(analyze, "verify", str(unit))
    said = result.stdout + result.stderr
    assert result.returncode == 0, said
    assert not said.strip(), said


def test_systemd_analyze_security_rates_the_unit_ok() -> None:
    analyze = _systemd_analyze()
    # Exposure 0.0-10.0 (threshold in tenths); up to 2.0 is systemd's "OK" band.
    result = _run(analyze, "security", "--offline=yes", "--threshold=20", str(UNIT))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr


# -- every file ------------------------------------------------------------------------------
def test_yamllint_finds_nothing_in_the_deploy_files() -> None:
    config = "{extends: default, rules: {line-length: {max: 100}, document-start: disable}}"
    result = _run(_tool("yamllint"), "--strict", "-d", config, str(DEPLOY))
    assert result.returncode == 0, result.stdout + result.stderr


_SECRET_SHAPES = [
    re.compile(r"xox[abposr]-[0-9A-Za-z-]{10,}"),  # Slack bot/user/app-config tokens
    re.compile(r"xapp-[0-9A-Za-z-]{10,}"),  # Slack app-level token
    re.compile(r"\b[0-9a-f]{32}\b"),  # Slack signing secret
    re.compile(r"postgres(?:ql)?://[^/\s:@]+:[^@\s]+@"),  # a password in a database URL
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
]


def _committed(paths: list[Path]) -> list[Path]:
    listed = _run("git", "ls-files", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    tracked = {ROOT / p for p in listed.stdout.splitlines()}
    return [p for p in paths if p in tracked]


def test_no_secret_value_is_committed_in_the_image_or_deploy_files() -> None:
    files = [
        DOCKERFILE,
        ROOT / ".dockerignore",
        *sorted(p for p in DEPLOY.rglob("*") if p.is_file()),
    ]
    for path in files:
        text = path.read_text(encoding="utf-8")
        for shape in _SECRET_SHAPES:
            assert not shape.search(text), f"{path.relative_to(ROOT)}: {shape.pattern} matches"
    # The .env example names the variables and leaves every secret empty.
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            secretish = re.search(r"TOKEN|SECRET|PASSWORD|CLIENT_ID", key)
            assert not (secretish and value), f"maintbot.env.example: {key} has a value"
    # A filled-in copy (deploy/.env) is ignored by git, never committed.
    assert not _committed([DEPLOY / ".env", ROOT / ".env"])
    ignored = _run("git", "check-ignore", "-q", "deploy/.env", cwd=ROOT)
    assert ignored.returncode == 0, "deploy/.env is not ignored by .gitignore"
