"""The Kubernetes manifests in deploy/: rendered, validated against the API schemas, and checked
against the code they deploy (modules, ports, settings, secrets, traffic between the parts).

No cluster and no kustomize binary are needed: the kustomize features deploy/ uses are
rendered here (`render`), and where `kubectl` is installed its own `kubectl kustomize` output
must equal ours. Objects are validated with kubernetes-validate, which ships the Kubernetes
JSON schemas (strict: unknown fields are errors) for the versions in `KUBERNETES_VERSIONS`.
"""

import base64
import copy
import hashlib
import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import msgspec
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
BASE = DEPLOY / "base"
PRODUCTION = DEPLOY / "overlays" / "production"
# The parts' kustomizations and, beside each, the one holding its migration Job.
TREES = {
    "base": (BASE, BASE / "migrate"),
    "production": (PRODUCTION, PRODUCTION / "migrate"),
}
KUBERNETES_VERSIONS = ("1.32.0", "1.37.0")
SECRET = "tessera-secrets"
SIGNING_KEYS_SECRET = "tessera-session-keys"
# Most PostgreSQL connections identity may open (deploy/README.md, "Managed PostgreSQL").
POSTGRES_CONNECTION_BUDGET = 90
TMP = "/tmp"  # noqa: S108 (the emptyDir every pod mounts there, not a file made here)

Obj = dict[str, Any]


# --- The kustomize features deploy/ uses --------------------------------------------------
# resources (files and folders), namespace, images, configMapGenerator (envs and literals,
# behavior create or merge, with the name hash suffix and the references to it) and patches
# as JSON patches (RFC 6902) with a target. Anything else is refused, never ignored.

KUSTOMIZATION_KEYS = {
    "apiVersion",
    "kind",
    "resources",
    "namespace",
    "images",
    "configMapGenerator",
    "patches",
}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "IngressClass"}


class KustomizeError(Exception):
    pass


@dataclass
class Resource:
    obj: Obj
    generated: bool = False
    """A configMapGenerator output: its name gets the content hash at the end."""


def render(folder: Path) -> list[Obj]:
    resources = _build(folder)
    renamed: dict[tuple[str, str], str] = {}
    for res in resources:
        if res.generated:
            meta = res.obj["metadata"]
            new = f"{meta['name']}-{_config_map_hash(res.obj)}"
            renamed[(meta.get("namespace", ""), meta["name"])] = new
            meta["name"] = new
    for res in resources:
        namespace = res.obj["metadata"].get("namespace", "")
        for spec in _pod_specs(res.obj):
            for ref in _config_map_refs(spec):
                ref["name"] = renamed.get((namespace, ref["name"]), ref["name"])
    return [res.obj for res in resources]


def _build(folder: Path) -> list[Resource]:
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    unknown = set(kustomization) - KUSTOMIZATION_KEYS
    if unknown:
        raise KustomizeError(f"{folder}: not implemented here: {sorted(unknown)}")
    if kustomization.get("kind") != "Kustomization":
        raise KustomizeError(f"{folder}: kind must be Kustomization")
    resources: list[Resource] = []
    for entry in kustomization.get("resources", []):
        path = (folder / entry).resolve()
        if path.is_dir():
            resources += _build(path)
        else:
            docs = yaml.safe_load_all(path.read_text())
            resources += [Resource(doc) for doc in docs if doc is not None]
    for generator in kustomization.get("configMapGenerator", []):
        _generate(folder, generator, resources)
    for patch in kustomization.get("patches", []):
        _patch(folder, patch, resources)
    if "namespace" in kustomization:
        for res in resources:
            if res.obj["kind"] in CLUSTER_SCOPED:
                raise KustomizeError(f"{res.obj['kind']} is cluster-scoped")
            res.obj["metadata"]["namespace"] = kustomization["namespace"]
    for image in kustomization.get("images", []):
        _set_image(image, resources)
    return resources


def _generate(folder: Path, generator: Obj, resources: list[Resource]) -> None:
    unknown = set(generator) - {"name", "envs", "literals", "behavior"}
    if unknown:
        raise KustomizeError(f"configMapGenerator: not implemented here: {sorted(unknown)}")
    data: dict[str, str] = {}
    for env in generator.get("envs", []):
        path = (folder / env).resolve()
        if not path.is_relative_to(folder.resolve()):
            raise KustomizeError(f"{env}: outside {folder} (kustomize's load restrictor)")
        for line in path.read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                data.update([_key_value(line, env)])
    data.update(_key_value(literal, "literals") for literal in generator.get("literals", []))
    name = generator["name"]
    existing = [r for r in resources if r.generated and r.obj["metadata"]["name"] == name]
    behavior = generator.get("behavior", "create")
    if behavior == "create" and not existing:
        obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}
        resources.append(Resource(obj, generated=True))
    elif behavior == "merge" and len(existing) == 1:
        existing[0].obj["data"].update(data)
    else:
        raise KustomizeError(f"configMapGenerator {name}: {behavior} with {len(existing)} found")


def _key_value(line: str, source: str) -> tuple[str, str]:
    key, equals, value = line.lstrip().partition("=")
    if not equals or not re.fullmatch(r"[-._a-zA-Z][-._a-zA-Z0-9]*", key):
        raise KustomizeError(f"{source}: not KEY=VALUE: {line!r}")
    if value[:1] in "'\"" and value[:1] == value[-1:]:
        raise KustomizeError(f"{source}: quoted values are not implemented here: {key}")
    return key, value


def _config_map_hash(obj: Obj) -> str:
    """kustomize's suffix: sha256 of the JSON (as Go encodes it) of kind, name and data.

    The name is always empty there: kustomize looks it up as the single field "metadata/name"
    (api/hasher), so only the data counts. Checked against `kubectl kustomize` below.
    """
    encoded = json.dumps(
        {"data": obj["data"], "kind": "ConfigMap", "name": ""},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    for char, escape in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        encoded = encoded.replace(char, escape)
    digest = hashlib.sha256(encoded.encode()).hexdigest()[:10]
    return digest.translate(str.maketrans("013ae", "ghkmt"))


def _patch(folder: Path, patch: Obj, resources: list[Resource]) -> None:
    unknown = set(patch) - {"target", "patch", "path"}
    if unknown or "target" not in patch:
        raise KustomizeError(f"patches: only JSON patches with a target here, not {sorted(patch)}")
    text = patch["patch"] if "patch" in patch else (folder / patch["path"]).read_text()
    ops = yaml.safe_load(text)
    if not isinstance(ops, list):
        raise KustomizeError("patches: strategic merge patches are not implemented here")
    targets = [r for r in resources if _selected(patch["target"], r.obj)]
    if not targets:
        raise KustomizeError(f"patch target {patch['target']} matches nothing")
    for res in targets:
        res.obj = json_patch(res.obj, ops)


def _selected(target: Obj, obj: Obj) -> bool:
    unknown = set(target) - {"group", "version", "kind", "name", "labelSelector"}
    if unknown:
        raise KustomizeError(f"patch target: not implemented here: {sorted(unknown)}")
    group, _, version = obj["apiVersion"].rpartition("/")
    labels = obj["metadata"].get("labels", {})
    wanted = dict(item.split("=", 1) for item in target.get("labelSelector", "").split(",") if item)
    return (
        target.get("kind", obj["kind"]) == obj["kind"]
        and target.get("name", obj["metadata"]["name"]) == obj["metadata"]["name"]
        and target.get("group", group) == group
        and target.get("version", version) == version
        and all(labels.get(k) == v for k, v in wanted.items())
    )


def json_patch(doc: Obj, ops: list[Obj]) -> Obj:
    """RFC 6902 add, remove and replace (move, copy and test are not used in deploy/)."""
    doc = copy.deepcopy(doc)
    for op in ops:
        *parents, last = [
            part.replace("~1", "/").replace("~0", "~") for part in op["path"].split("/")[1:]
        ]
        node: Any = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        kind = op["op"]
        if isinstance(node, list):
            index = len(node) if last == "-" and kind == "add" else int(last)
            if kind == "add":
                if not 0 <= index <= len(node):
                    raise KustomizeError(f"add: index out of range: {op['path']}")
                node.insert(index, copy.deepcopy(op["value"]))
                continue
            if not 0 <= index < len(node):
                raise KustomizeError(f"{kind}: no such index: {op['path']}")
        elif kind != "add" and last not in node:
            raise KustomizeError(f"{kind}: no such member: {op['path']}")
        else:
            index = last
        if kind in ("add", "replace"):
            node[index] = copy.deepcopy(op["value"])
        elif kind == "remove":
            del node[index]
        else:
            raise KustomizeError(f"JSON patch op {kind!r} is not implemented here")
    return doc


def _set_image(image: Obj, resources: list[Resource]) -> None:
    unknown = set(image) - {"name", "newName", "newTag", "digest"}
    if unknown:
        raise KustomizeError(f"images: not implemented here: {sorted(unknown)}")
    for res in resources:
        for spec in _pod_specs(res.obj):
            for container in spec.get("containers", []) + spec.get("initContainers", []):
                name, tag = _split_image(container["image"])
                if name == image["name"]:
                    if "digest" in image:
                        tag = "@" + image["digest"]
                    elif "newTag" in image:
                        tag = ":" + str(image["newTag"])
                    container["image"] = image.get("newName", name) + tag


def _split_image(image: str) -> tuple[str, str]:
    """`registry:5000/name:tag` -> (`registry:5000/name`, `:tag`); digests likewise."""
    if "@" in image:
        name, digest = image.split("@", 1)
        return name, "@" + digest
    head, slash, last = image.rpartition("/")
    if ":" in last:
        last, tag = last.split(":", 1)
        return head + slash + last, ":" + tag
    return image, ""


def _pod_specs(obj: Obj) -> list[Obj]:
    if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return [obj["spec"]["template"]["spec"]]
    return []


def _config_map_refs(spec: Obj) -> Iterator[Obj]:
    for container in spec.get("containers", []) + spec.get("initContainers", []):
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                yield source["configMapRef"]
        for env in container.get("env", []):
            if "configMapKeyRef" in env.get("valueFrom", {}):
                yield env["valueFrom"]["configMapKeyRef"]
    for volume in spec.get("volumes", []):
        if "configMap" in volume:
            yield volume["configMap"]


# --- The parts, as the code defines them ---------------------------------------------------


@dataclass(frozen=True)
class Part:
    name: str
    """The app.kubernetes.io/name label (and Deployment, Service, ConfigMap name)."""
    package: str
    settings: str
    """`module:Class` of the settings struct."""
    prefix: str
    secrets: frozenset[str]
    """Settings that only ever come from a Secret."""

    @property
    def config(self) -> Any:
        return importlib.import_module(f"{self.package}.config")

    @property
    def fields(self) -> set[str]:
        module, _, cls = self.settings.partition(":")
        struct = getattr(importlib.import_module(module), cls)
        return {f.name for f in msgspec.structs.fields(struct)}


PARTS = {
    part.name: part
    for part in (
        Part(
            "gateway",
            "tessera_gateway",
            "tessera_gateway.config:GatewaySettings",
            "TESSERA_GATEWAY_",
            frozenset({"redis_url", "tls_key_file", "internal_token"}),
        ),
        Part(
            "identity",
            "tessera_identity",
            "tessera_identity.config:IdentitySettings",
            "TESSERA_IDENTITY_",
            frozenset({"database_url", "internal_token", "otp_hmac_key", "totp_keys"}),
        ),
        Part(
            "session",
            "tessera_session",
            "tessera_session.config:SessionSettings",
            "TESSERA_SESSION_",
            frozenset({"redis_url", "internal_token", "refresh_key", "signing_key_pem"}),
        ),
        Part(
            "otp-delivery",
            "tessera_otp_delivery",
            "tessera_otp_delivery.config:OtpDeliverySettings",
            "TESSERA_OTP_",
            frozenset(
                {
                    "smtp_password",
                    "twilio_auth_token",
                    "sms_webhook_auth_header",
                }
            ),
        ),
    )
}
MIGRATION = "identity-migrate"
"""The Job's name label; it runs identity's code with identity's settings."""

# Values standing in for the Secret's, shaped as the parts check them at start.
PLACEHOLDERS = {
    "database-url": "postgresql://tessera:pw@postgres.example:5432/tessera?sslmode=verify-full",
    "redis-url": "rediss://:pw@redis.example:6379/0",
    "totp-keys": "k1:" + base64.b64encode(b"k" * 32).decode(),
    "sms-webhook-auth-header": "Authorization: Bearer placeholder",
}


# --- Rendered trees and what is in them ------------------------------------------------------


@dataclass
class Tree:
    name: str
    parts: list[Obj]
    migration: list[Obj]
    objects: list[Obj] = field(init=False)

    def __post_init__(self) -> None:
        self.objects = self.parts + self.migration

    def all(self, kind: str) -> list[Obj]:
        return [o for o in self.objects if o["kind"] == kind]

    def one(self, kind: str, name: str) -> Obj:
        (found,) = [o for o in self.all(kind) if o["metadata"]["name"] == name]
        return found

    def workload(self, name: str) -> Obj:
        kind = "Job" if name == MIGRATION else "Deployment"
        return self.one(kind, name)

    def container(self, name: str) -> Obj:
        (container,) = self.workload(name)["spec"]["template"]["spec"]["containers"]
        return dict(container)

    def environment(self, name: str) -> dict[str, str]:
        """The container's environment, with placeholders for the Secret's values."""
        container = self.container(name)
        env: dict[str, str] = {}
        for source in container.get("envFrom", []):
            env.update(self.one("ConfigMap", source["configMapRef"]["name"])["data"])
        for var in container.get("env", []):
            ref = var.get("valueFrom", {}).get("secretKeyRef")
            env[var["name"]] = var["value"] if ref is None else placeholder(ref["key"])
        return env


def placeholder(key: str) -> str:
    return PLACEHOLDERS.get(key, f"placeholder-{key}-".ljust(48, "x"))


@pytest.fixture(scope="module", params=list(TREES))
def tree(request: pytest.FixtureRequest) -> Tree:
    parts, migration = TREES[request.param]
    return Tree(request.param, render(parts), render(migration))


@pytest.fixture(scope="module")
def production() -> Tree:
    parts, migration = TREES["production"]
    return Tree("production", render(parts), render(migration))


def settings_of(tree: Tree, name: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The part's own `load_settings()` over the rendered environment (its start-up checks)."""
    part = PARTS["identity" if name == MIGRATION else name]
    for key in list(os.environ):
        if key.startswith("TESSERA_"):
            monkeypatch.delenv(key)
    for key, value in tree.environment(name).items():
        monkeypatch.setenv(key, value)
    return part.config.load_settings()


def workloads() -> list[str]:
    return [*PARTS, MIGRATION]


def port_number(container: Obj, port: int | str) -> int:
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container["ports"] if p["name"] == port]
    return int(number)


def matches(selector: Obj, labels: dict[str, str]) -> bool:
    if set(selector) - {"matchLabels", "matchExpressions"}:
        raise AssertionError(f"unknown selector fields in {selector}")
    for expr in selector.get("matchExpressions", []):
        present, value = expr["key"] in labels, labels.get(expr["key"])
        operator = expr["operator"]
        if operator in ("In", "NotIn"):
            ok = present and value in expr["values"]
            ok = ok if operator == "In" else not ok
        elif operator in ("Exists", "DoesNotExist"):
            ok = present if operator == "Exists" else not present
        else:
            raise AssertionError(f"unknown operator {operator}")
        if not ok:
            return False
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def pod_labels(tree: Tree, name: str) -> dict[str, str]:
    return dict(tree.workload(name)["spec"]["template"]["metadata"]["labels"])


def cpu_cores(quantity: str | int) -> float:
    text = str(quantity)
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


def mebibytes(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    for unit, factor in units.items():
        if quantity.endswith(unit):
            return float(quantity[: -len(unit)]) * factor
    raise AssertionError(f"use Ki, Mi or Gi: {quantity}")


# --- Rendering and schemas -------------------------------------------------------------------


@pytest.mark.parametrize(
    "folder",
    [BASE, BASE / "migrate", PRODUCTION, PRODUCTION / "migrate"],
    ids=lambda p: str(p.relative_to(DEPLOY)),
)
def test_rendering_here_gives_what_kubectl_kustomize_gives(folder: Path) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: only the renderer here was used")
    out = subprocess.run(
        [kubectl, "kustomize", str(folder)], capture_output=True, text=True, check=True
    ).stdout

    def key(o: Obj) -> tuple[str, str, str]:
        return (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])

    theirs = sorted((o for o in yaml.safe_load_all(out) if o), key=key)
    assert sorted(render(folder), key=key) == theirs


def test_every_rendered_object_is_valid_for_the_pinned_kubernetes_versions(tree: Tree) -> None:
    for obj in tree.objects:
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                where = "/".join(str(p) for p in exc.absolute_path)
                pytest.fail(f"{obj['kind']}/{obj['metadata']['name']} ({version}): {where}: {exc}")


def test_the_schema_validation_catches_a_misspelt_field_and_a_wrong_type(
    production: Tree,
) -> None:
    deployment = copy.deepcopy(production.one("Deployment", "identity"))
    misspelt = json_patch(deployment, [{"op": "add", "path": "/spec/replica", "value": 2}])
    port = "/spec/template/spec/containers/0/ports/0/containerPort"
    wrong = json_patch(deployment, [{"op": "add", "path": port, "value": "x"}])
    for broken in (misspelt, wrong):
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[0], strict=True)


def test_the_renderer_refuses_kustomize_features_it_does_not_implement(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("kind: Kustomization\ncommonLabels: {a: b}\n")
    with pytest.raises(KustomizeError, match="commonLabels"):
        render(tmp_path)
    (tmp_path / "kustomization.yaml").write_text(
        "kind: Kustomization\npatches: [{path: p.yaml, target: {kind: Deployment}}]\n"
    )
    (tmp_path / "p.yaml").write_text("spec: {replicas: 2}\n")
    with pytest.raises(KustomizeError, match="strategic merge"):
        render(tmp_path)


def test_json_patches_follow_rfc_6902() -> None:
    doc = {"a": [1, 2], "b": {"c/d": 1, "e~f": 2}}
    ops: list[Obj] = [
        {"op": "add", "path": "/a/1", "value": 9},
        {"op": "add", "path": "/a/-", "value": 3},
        {"op": "replace", "path": "/b/c~1d", "value": 5},
        {"op": "remove", "path": "/b/e~0f"},
        {"op": "add", "path": "/g", "value": {"h": 1}},
    ]
    assert json_patch(doc, ops) == {"a": [1, 9, 2, 3], "b": {"c/d": 5}, "g": {"h": 1}}
    assert doc == {"a": [1, 2], "b": {"c/d": 1, "e~f": 2}}, "the input is left alone"
    for bad in ({"op": "replace", "path": "/x", "value": 1}, {"op": "remove", "path": "/a/5"}):
        with pytest.raises(KustomizeError):
            json_patch(doc, [bad])


# --- The parts against their code ------------------------------------------------------------


@pytest.mark.parametrize("name", list(PARTS))
def test_each_part_runs_its_own_module(tree: Tree, name: str) -> None:
    package = PARTS[name].package
    assert tree.container(name)["command"] == ["python", "-m", package]
    assert importlib.util.find_spec(f"{package}.__main__") is not None


def test_the_migration_job_runs_identitys_migrate_command(tree: Tree) -> None:
    command = tree.container(MIGRATION)["command"]
    assert command == ["python", "-m", "tessera_identity", "migrate"]
    usage = importlib.import_module("tessera_identity.__main__").USAGE
    assert re.search(r"\bmigrate\b", usage), usage


@pytest.mark.parametrize("name", workloads())
def test_every_variable_is_a_setting_of_its_part(tree: Tree, name: str) -> None:
    part = PARTS["identity" if name == MIGRATION else name]
    for variable in tree.environment(name):
        assert variable.startswith(part.prefix), f"{name}: {variable} is not {part.prefix}*"
        setting = variable.removeprefix(part.prefix).lower()
        assert setting in part.fields, f"{name}: {variable} is no setting of {part.settings}"


@pytest.mark.parametrize("name", workloads())
def test_secret_settings_come_only_from_the_secret(tree: Tree, name: str) -> None:
    part = PARTS["identity" if name == MIGRATION else name]
    container = tree.container(name)
    for source in container.get("envFrom", []):
        data = tree.one("ConfigMap", source["configMapRef"]["name"])["data"]
        leaked = {k for k in data if k.removeprefix(part.prefix).lower() in part.secrets}
        assert not leaked, f"secret settings in a ConfigMap: {leaked}"
    for var in container.get("env", []):
        if var["name"].removeprefix(part.prefix).lower() in part.secrets:
            ref = var.get("valueFrom", {}).get("secretKeyRef")
            assert ref is not None, f"{var['name']} must come from secretKeyRef"
            assert ref["name"] == SECRET


def test_no_secret_is_defined_in_the_manifests(tree: Tree) -> None:
    assert not tree.all("Secret"), "Secrets are created by the operator (deploy/README.md)"
    text = yaml.safe_dump_all(tree.objects)
    assert "stringData" not in text


def test_the_readme_creates_exactly_the_secret_keys_the_manifests_read(tree: Tree) -> None:
    readme = (DEPLOY / "README.md").read_text()
    created = set(re.findall(r"--from-literal=([a-z0-9-]+)=", readme))
    read = set()
    for name in workloads():
        for var in tree.container(name).get("env", []):
            ref = var.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["name"] == SECRET
                read.add(ref["key"])
    assert read == created
    for secret in (SECRET, SIGNING_KEYS_SECRET):
        assert re.search(rf"kubectl (-n \S+ )?create secret generic {secret} ", readme), secret


@pytest.mark.parametrize("name", workloads())
def test_each_part_accepts_its_rendered_environment_at_start(
    tree: Tree, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_of(tree, name, monkeypatch)
    if name != MIGRATION:
        assert settings.host == "0.0.0.0", "probes and Services reach the pod's address"
        (port,) = tree.container(name)["ports"]
        assert port["containerPort"] == settings.port


@pytest.mark.parametrize("name", list(PARTS))
def test_probes_ask_the_health_routes_on_the_parts_port(
    tree: Tree, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_of(tree, name, monkeypatch)
    container = tree.container(name)
    expected = {
        "startupProbe": "/health/live",
        "livenessProbe": "/health/live",
        "readinessProbe": "/health/ready",
    }
    for probe, path in expected.items():
        get = container[probe]["httpGet"]
        assert get["path"] == path, probe
        assert port_number(container, get["port"]) == settings.port, probe


@pytest.mark.parametrize("name", list(PARTS))
def test_each_service_reaches_its_part_on_the_parts_port(
    tree: Tree, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_of(tree, name, monkeypatch)
    service = tree.one("Service", name)
    assert matches({"matchLabels": service["spec"]["selector"]}, pod_labels(tree, name))
    (port,) = service["spec"]["ports"]
    assert port["port"] == settings.port, "the URLs between parts use the part's own port"
    assert port_number(tree.container(name), port["targetPort"]) == settings.port


def test_the_urls_between_parts_name_their_services_and_ports(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in PARTS:
        settings = settings_of(tree, name, monkeypatch)
        for setting in ("identity_url", "session_url", "session_jwks_url"):
            url = getattr(settings, setting, None)
            if url is None:
                continue
            parts = urlsplit(url)
            target = {"identity_url": "identity"}.get(setting, "session")
            assert parts.scheme == "http", f"{name}.{setting}"
            assert parts.hostname == target, f"{name}.{setting}: {url}"
            assert parts.port == tree.one("Service", target)["spec"]["ports"][0]["port"]
            if setting == "session_jwks_url":
                assert parts.path == "/.well-known/jwks.json"


def test_the_values_parts_must_share_agree(tree: Tree, monkeypatch: pytest.MonkeyPatch) -> None:
    s = {name: settings_of(tree, name, monkeypatch) for name in PARTS}
    assert s["gateway"].session_key_prefix == s["session"].redis_key_prefix
    for name in ("gateway", "identity"):
        assert (s[name].token_issuer, s[name].token_audience) == (
            s["session"].issuer,
            s["session"].audience,
        )
    assert s["identity"].stream == s["otp-delivery"].stream
    assert s["identity"].nats_url == s["session"].nats_url == s["otp-delivery"].nats_url

    def key(name: str, variable: str) -> str:
        (var,) = [v for v in tree.container(name)["env"] if v["name"] == variable]
        return str(var["valueFrom"]["secretKeyRef"]["key"])

    internal = "TESSERA_IDENTITY_INTERNAL_TOKEN", "TESSERA_SESSION_INTERNAL_TOKEN"
    assert key("identity", internal[0]) == key("session", internal[1])
    assert key("gateway", "TESSERA_GATEWAY_INTERNAL_TOKEN") == key("identity", internal[0])
    redis = "TESSERA_GATEWAY_REDIS_URL", "TESSERA_SESSION_REDIS_URL"
    assert key("gateway", redis[0]) == key("session", redis[1]), "one Redis for sessions"
    database = "TESSERA_IDENTITY_DATABASE_URL"
    assert key("identity", database) == key(MIGRATION, database)


def test_session_reads_its_signing_keys_from_the_mounted_secret(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_of(tree, "session", monkeypatch)
    assert not settings.signing_key_pem, "one way: the folder (it can hold several keys)"
    spec = tree.workload("session")["spec"]["template"]["spec"]
    (mount,) = [m for m in tree.container("session")["volumeMounts"] if m["name"] != "tmp"]
    (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    assert mount["mountPath"] == settings.signing_keys_dir
    assert mount["readOnly"] is True
    assert volume["secret"]["secretName"] == SIGNING_KEYS_SECRET
    mode = volume["secret"]["defaultMode"]
    assert mode & 0o040, "readable by the fsGroup"
    assert not mode & 0o007, "not readable by others"
    assert spec["securityContext"]["fsGroup"] == spec["securityContext"]["runAsGroup"]


# --- Pods: security, resources, scaling -----------------------------------------------------


@pytest.mark.parametrize("name", workloads())
def test_every_pod_runs_locked_down(tree: Tree, name: str) -> None:
    spec = tree.workload(name)["spec"]["template"]["spec"]
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert isinstance(pod["runAsUser"], int), "a numeric id: kubelet checks it is not root"
    assert pod["runAsUser"] > 0
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    assert spec["enableServiceLinks"] is False, "service links inject *_PORT variables"
    for container in spec["containers"] + spec.get("initContainers", []):
        ctx = container["securityContext"]
        assert ctx["allowPrivilegeEscalation"] is False
        assert ctx["readOnlyRootFilesystem"] is True
        assert ctx["capabilities"] == {"drop": ["ALL"]}
        (tmp,) = [m for m in container["volumeMounts"] if m["mountPath"] == TMP]
        (volume,) = [v for v in spec["volumes"] if v["name"] == tmp["name"]]
        assert "emptyDir" in volume


@pytest.mark.parametrize("name", workloads())
def test_every_container_has_requests_within_limits(tree: Tree, name: str) -> None:
    resources = tree.container(name)["resources"]
    requests, limits = resources["requests"], resources["limits"]
    assert cpu_cores(requests["cpu"]) <= cpu_cores(limits["cpu"])
    assert mebibytes(requests["memory"]) <= mebibytes(limits["memory"])


def test_identitys_hashing_threads_fit_its_cpu_and_memory(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_of(tree, "identity", monkeypatch)
    limits = tree.container("identity")["resources"]["limits"]
    threads = settings.argon2_workers * settings.workers
    assert threads <= cpu_cores(limits["cpu"]), "more hashing threads than cores only queue"
    assert threads >= cpu_cores(tree.container("identity")["resources"]["requests"]["cpu"])
    hashing = threads * settings.argon2_memory_kib / 1024
    assert mebibytes(limits["memory"]) >= hashing + 192 * settings.workers


def test_identitys_database_connections_fit_the_budget(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_of(tree, "identity", monkeypatch)
    most_pods = tree.one("HorizontalPodAutoscaler", "identity")["spec"]["maxReplicas"]
    # Each server process: its pool, plus the outbox relay's LISTEN connection. Plus the Job.
    connections = most_pods * settings.workers * (settings.database_pool_max + 1) + 1
    assert connections <= POSTGRES_CONNECTION_BUDGET
    assert str(POSTGRES_CONNECTION_BUDGET) in (DEPLOY / "README.md").read_text()


@pytest.mark.parametrize("name", list(PARTS))
def test_each_part_scales_by_an_autoscaler_and_has_a_disruption_budget(
    tree: Tree, name: str
) -> None:
    deployment = tree.workload(name)
    assert "replicas" not in deployment["spec"], "the HPA owns the count; apply would reset it"
    hpas = tree.all("HorizontalPodAutoscaler")
    (hpa,) = [h for h in hpas if h["spec"]["scaleTargetRef"]["name"] == name]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    for metric in hpa["spec"]["metrics"]:
        resource = metric["resource"]["name"]
        assert resource in tree.container(name)["resources"]["requests"], "utilization needs it"
    (pdb,) = [p for p in tree.all("PodDisruptionBudget") if p["metadata"]["name"] == name]
    assert matches(pdb["spec"]["selector"], pod_labels(tree, name))
    assert matches(deployment["spec"]["selector"], pod_labels(tree, name))


def allowed_disruptions(pdb: dict[str, Any], pods: int) -> int:
    """Pods a PodDisruptionBudget lets a drain evict when `pods` are healthy (integers only)."""
    spec = pdb["spec"]
    if "maxUnavailable" in spec:
        return min(pods, int(spec["maxUnavailable"]))
    return max(0, pods - int(spec["minAvailable"]))


@pytest.mark.parametrize("name", list(PARTS))
def test_each_disruption_budget_keeps_one_pod_and_lets_a_drain_proceed(
    tree: Tree, production: Tree, name: str
) -> None:
    for rendered in (tree, production):
        (pdb,) = [p for p in rendered.all("PodDisruptionBudget") if p["metadata"]["name"] == name]
        assert pdb["apiVersion"] == "policy/v1"
        assert set(pdb["spec"]) & {"minAvailable", "maxUnavailable"}
        hpa = rendered.one("HorizontalPodAutoscaler", name)
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
        for pods in range(max(2, hpa["spec"]["minReplicas"]), hpa["spec"]["maxReplicas"] + 1):
            evictable = allowed_disruptions(pdb, pods)
            assert evictable >= 1, f"{name}: a drain would wait forever at {pods} pods"
            assert pods - evictable >= 1, f"{name}: a drain could take every pod at {pods}"
            assert evictable == 1, f"{name}: at {pods} pods one at a time, not {evictable}"
    assert production.one("HorizontalPodAutoscaler", name)["spec"]["minReplicas"] >= 2


def test_the_migration_job_uses_the_parts_image_and_namespace(tree: Tree) -> None:
    job = tree.workload(MIGRATION)
    assert tree.container(MIGRATION)["image"] == tree.container("identity")["image"]
    assert job["metadata"].get("namespace") == tree.workload("identity")["metadata"].get(
        "namespace"
    )
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert "activeDeadlineSeconds" not in job["spec"], "a killed migration leaves its lock"


# --- Production ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", workloads())
def test_production_runs_every_part_in_production_mode(
    production: Tree, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_of(production, name, monkeypatch)
    image = production.container(name)["image"]
    assert image.rpartition(":")[2] not in ("dev", "latest"), image
    if name == MIGRATION:
        return
    assert settings.environment == "production"
    assert production.workload(name)["metadata"]["namespace"] == "tessera"
    if name == "session":
        assert settings.cookie_secure is True
    if name == "gateway":
        assert settings.trusted_proxies, "TLS ends at the ingress controller"


@pytest.mark.parametrize("name", list(PARTS))
def test_production_spreads_replicas_and_gives_more_resources(production: Tree, name: str) -> None:
    hpa = production.one("HorizontalPodAutoscaler", name)
    assert hpa["spec"]["minReplicas"] >= 2, "one pod is no redundancy"
    spec = production.workload(name)["spec"]["template"]["spec"]
    keys = {c["topologyKey"] for c in spec["topologySpreadConstraints"]}
    assert keys == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    for constraint in spec["topologySpreadConstraints"]:
        assert matches(constraint["labelSelector"], pod_labels(production, name))
    base = Tree("base", render(BASE), render(BASE / "migrate"))
    ours, theirs = production.container(name)["resources"], base.container(name)["resources"]
    for kind in ("requests", "limits"):
        assert cpu_cores(ours[kind]["cpu"]) >= cpu_cores(theirs[kind]["cpu"])
        assert mebibytes(ours[kind]["memory"]) >= mebibytes(theirs[kind]["memory"])


def test_the_ingress_routes_only_the_public_paths_to_the_gateway(tree: Tree) -> None:
    (ingress,) = tree.all("Ingress")
    routes = set()
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            service = path["backend"]["service"]
            assert service["name"] == "gateway"
            ports = tree.one("Service", "gateway")["spec"]["ports"]
            assert service["port"] in [{"name": p["name"]} for p in ports]
            routes.add((path["path"], path["pathType"]))
    assert routes == {("/v1", "Prefix"), ("/auth", "Prefix"), ("/.well-known/jwks.json", "Exact")}


# --- Network policies ------------------------------------------------------------------------


@dataclass(frozen=True)
class Peer:
    """A traffic source or destination: a pod (with its namespace) or an address outside."""

    name: str
    namespace: str | None
    labels: dict[str, str] = field(default_factory=dict, hash=False)


OUTSIDE = Peer("outside", None)


def peers(tree: Tree) -> dict[str, Peer]:
    namespace = tree.workload("gateway")["metadata"].get("namespace", "default")
    found = {name: Peer(name, namespace, pod_labels(tree, name)) for name in workloads()}
    found["neighbour"] = Peer("neighbour", namespace, {"app.kubernetes.io/name": "other"})
    for other in ("monitoring", "ingress-nginx", "elsewhere"):
        found[other] = Peer(other, other, {"app": other})
    found["outside"] = OUTSIDE
    return found


def _peer_matches(rule_peer: Obj, peer: Peer, namespace: str) -> bool:
    if peer.namespace is None or "ipBlock" in rule_peer:
        if "ipBlock" in rule_peer:
            raise AssertionError("ipBlock peers are not modelled here")
        return False
    if "namespaceSelector" in rule_peer:
        ns_labels = {"kubernetes.io/metadata.name": peer.namespace}
        if not matches(rule_peer["namespaceSelector"], ns_labels):
            return False
    elif peer.namespace != namespace:
        return False
    return "podSelector" not in rule_peer or matches(rule_peer["podSelector"], peer.labels)


def _allows(tree: Tree, subject: Peer, other: Peer, port: int, protocol: str, way: str) -> bool:
    """Whether the policies on `subject` let this traffic in (Ingress) or out (Egress)."""
    key, peer_key = ("ingress", "from") if way == "Ingress" else ("egress", "to")
    policies = [
        p
        for p in tree.all("NetworkPolicy")
        if subject.namespace == p["metadata"].get("namespace", "default")
        and way in p["spec"]["policyTypes"]
        and matches(p["spec"]["podSelector"], subject.labels)
    ]
    if subject.namespace is None or subject.namespace != peers(tree)["gateway"].namespace:
        return True  # outside Tessera's namespace: not governed by these policies
    if not policies:
        return True
    for policy in policies:
        for rule in policy["spec"].get(key, []):
            ports = rule.get("ports")
            if ports and not any(
                p["port"] == port and p.get("protocol", "TCP") == protocol for p in ports
            ):
                continue
            if peer_key not in rule or any(
                _peer_matches(r, other, policy["metadata"].get("namespace", "default"))
                for r in rule[peer_key]
            ):
                return True
    return False


def allowed(tree: Tree, source: Peer, target: Peer, port: int, protocol: str = "TCP") -> bool:
    return _allows(tree, source, target, port, protocol, "Egress") and _allows(
        tree, target, source, port, protocol, "Ingress"
    )


def test_ingress_is_denied_by_default_in_the_namespace(tree: Tree) -> None:
    assert any(
        p["spec"]["podSelector"] == {}
        and p["spec"]["policyTypes"] == ["Ingress"]
        and not p["spec"].get("ingress")
        for p in tree.all("NetworkPolicy")
    )


@pytest.mark.parametrize("name", workloads())
def test_every_pod_is_covered_by_ingress_and_egress_policies(tree: Tree, name: str) -> None:
    labels = pod_labels(tree, name)
    for way in ("Ingress", "Egress"):
        assert any(
            way in p["spec"]["policyTypes"]
            and p["spec"]["podSelector"] != {}
            and matches(p["spec"]["podSelector"], labels)
            for p in tree.all("NetworkPolicy")
        ), f"{name}: no {way} policy of its own"


def test_the_parts_reach_each_other_only_along_the_documented_calls(tree: Tree) -> None:
    known = peers(tree)
    ports = {"gateway": 8080, "identity": 8001, "session": 8002, "otp-delivery": 8003}
    expected = {
        ("gateway", "identity"),
        ("gateway", "session"),
        ("session", "identity"),  # internal API
        ("identity", "session"),  # JWKS and the internal revoke API
        ("ingress-nginx", "gateway"),
        ("monitoring", "otp-delivery"),  # metrics
        ("monitoring", "identity"),
        ("monitoring", "session"),
        ("monitoring", "gateway"),
    }
    if tree.name == "base":  # the base lets anything reach the gateway; production does not
        expected |= {(s, "gateway") for s in known if s not in workloads()}
    for source in known.values():
        for target, port in ports.items():
            want = (source.name, target) in expected and source.name != target
            got = allowed(tree, source, known[target], port)
            assert got == want, f"{source.name} -> {target}:{port} allowed={got}"


def test_each_part_reaches_dns_and_only_its_own_data_stores(tree: Tree) -> None:
    known = peers(tree)
    stores = {"postgres": 5432, "redis": 6379, "nats": 4222, "smtp": 587, "https": 443}
    needs = {
        "gateway": {"redis"},
        "identity": {"postgres", "nats"},
        "session": {"redis", "nats"},
        "otp-delivery": {"nats", "smtp", "https"},
        MIGRATION: {"postgres"},
    }
    for name, wanted in needs.items():
        assert allowed(tree, known[name], OUTSIDE, 53, "UDP"), f"{name}: DNS"
        for store, port in stores.items():
            got = allowed(tree, known[name], OUTSIDE, port)
            assert got == (store in wanted), f"{name} -> {store}:{port} allowed={got}"
