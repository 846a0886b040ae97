"""docker-compose.yml, the Dockerfile, .dockerignore, .env.example and deploy/otel-collector.yaml,
checked as files: the compose file against the Compose Specification's JSON schema, and all of
them against the code they run (modules, settings, ports, volumes). No Docker engine is needed.

The schema is the one check-jsonschema ships (pinned in tessera-shared's `testing` extra,
`check_jsonschema/builtin_schemas/vendor/compose-spec.json`, Apache-2.0, with its checksum);
jsonschema validates against it.
"""

import base64
import hashlib
import importlib
import importlib.util
import json
import os
import re
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import jsonschema
import msgspec
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENV_EXAMPLE = ROOT / ".env.example"
SCHEMA_PACKAGE = "check_jsonschema.builtin_schemas.vendor"

Doc = dict[str, Any]


@dataclass(frozen=True)
class Part:
    service: str
    """Its service in docker-compose.yml and its target in the Dockerfile."""
    module: str
    config: str
    """The module with the settings struct, `PREFIX` and `load_settings`."""
    struct: str

    @property
    def settings(self) -> type[msgspec.Struct]:
        return getattr(importlib.import_module(self.config), self.struct)  # type: ignore[no-any-return]

    @property
    def prefix(self) -> str:
        return importlib.import_module(self.config).PREFIX  # type: ignore[no-any-return]

    def load(self) -> Any:
        return importlib.import_module(self.config).load_settings()


PARTS = {
    part.service: part
    for part in (
        Part("identity", "tessera_identity", "tessera_identity.config", "IdentitySettings"),
        Part("session", "tessera_session", "tessera_session.config", "SessionSettings"),
        Part(
            "otp-delivery",
            "tessera_otp_delivery",
            "tessera_otp_delivery.config",
            "OtpDeliverySettings",
        ),
        Part("gateway", "tessera_gateway", "tessera_gateway.config", "GatewaySettings"),
    )
}
# Services that run a part's image with another command, and the part whose settings they read.
JOBS = {"migrate": "identity"}
SECRETS = (
    "TESSERA_POSTGRES_PASSWORD",
    "TESSERA_INTERNAL_TOKEN",
    "TESSERA_IDENTITY_OTP_HMAC_KEY",
    "TESSERA_SESSION_REFRESH_KEY",
    "TESSERA_IDENTITY_TOTP_KEYS",
)
# The ports the third-party servers listen on inside the compose network.
SERVER_PORTS = {"postgres": 5432, "redis": 6379, "nats": 4222, "mailpit": 1025, "jaeger": 4317}


# --- Reading the files ----------------------------------------------------------------------


class StrictLoader(yaml.SafeLoader):  # type: ignore[misc]
    """PyYAML keeps the last of two equal keys; Compose refuses them, and so does this."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return dict(super().construct_mapping(node, deep=deep))


def load_yaml(path: Path) -> Doc:
    doc: Doc = yaml.load(path.read_text(), Loader=StrictLoader)  # noqa: S506 (a SafeLoader)
    return doc


@pytest.fixture(scope="module")
def compose() -> Doc:
    return load_yaml(COMPOSE)


def services(doc: Doc) -> dict[str, Doc]:
    return doc["services"]  # type: ignore[no-any-return]


# Compose's interpolation: $$, $NAME, ${NAME}, ${NAME:-default}, ${NAME-default},
# ${NAME:?error}, ${NAME?error}, ${NAME:+alt}, ${NAME+alt}.
_VARIABLE = re.compile(
    r"\$(?:(?P<escape>\$)|\{(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_]\w*))"
)


class MissingVariableError(Exception):
    pass


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """`value` with every variable replaced from `env`, as `docker compose` would."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match["escape"]:
            return "$"
        name = match["name"] or match["bare"]
        op, arg, found = match["op"], match["arg"] or "", env.get(name)
        if op in (":?", "?") and (found is None or (op == ":?" and not found)):
            raise MissingVariableError(f"{name}: {arg}")
        if op == ":-":
            return found or arg
        if op == "-":
            return arg if found is None else found
        if op == ":+":
            return arg if found else ""
        if op == "+":
            return "" if found is None else arg
        return found or ""

    return _VARIABLE.sub(replace, value)


def variables(value: Any) -> Iterator[tuple[str, str | None]]:
    """(name, operator) of every variable the document reads."""
    if isinstance(value, dict):
        for item in value.values():
            yield from variables(item)
    elif isinstance(value, list):
        for item in value:
            yield from variables(item)
    elif isinstance(value, str):
        for match in _VARIABLE.finditer(value):
            if not match["escape"]:
                yield match["name"] or match["bare"], match["op"]


def env_example() -> dict[str, tuple[str, bool]]:
    """NAME: (value, commented out) of every `NAME=value` line of .env.example."""
    found = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.fullmatch(r"(#\s*)?([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            found[match[2]] = (match[3], bool(match[1]))
    return found


def operator_env(**overrides: str) -> dict[str, str]:
    """What a filled-in .env gives: .env.example's values, the secrets generated as its
    comments say (openssl rand -hex 32; k1: + 32 random bytes in base64)."""
    env = {name: value for name, (value, commented) in env_example().items() if not commented}
    env.update(
        TESSERA_POSTGRES_PASSWORD=secrets.token_hex(32),
        TESSERA_INTERNAL_TOKEN=secrets.token_hex(32),
        TESSERA_IDENTITY_OTP_HMAC_KEY=secrets.token_hex(32),
        TESSERA_SESSION_REFRESH_KEY=secrets.token_hex(32),
        TESSERA_IDENTITY_TOTP_KEYS="k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
    )
    env.update(overrides)
    return env


def environment(service: Doc) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {key: "" if value is None else str(value) for key, value in raw.items()}


def part_of(name: str) -> Part:
    return PARTS[JOBS.get(name, name)]


def port_setting(part: Part, env: Mapping[str, str]) -> int:
    """The port a part listens on: its PORT variable, else its settings' default."""
    default = {f.name: f.default for f in msgspec.structs.fields(part.settings)}["port"]
    return int(env.get(f"{part.prefix}PORT", default))


@pytest.fixture
def settings_from(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, Doc], Any]:
    """A part's settings as its own `load_settings` reads them from a service's environment."""

    def load(name: str, service: Doc) -> Any:
        part = part_of(name)
        for key in [key for key in os.environ if key.startswith("TESSERA_")]:
            monkeypatch.delenv(key)
        for key, value in environment(service).items():
            monkeypatch.setenv(key, value)
        return part.load()

    return load


def probed_url(code: str, env: Mapping[str, str]) -> str:
    """Run a health check's `python -c` code with `urlopen` caught: the URL it asks."""
    asked: list[str] = []

    def urlopen(url: str, *args: Any, **kwargs: Any) -> None:
        asked.append(url)

    with (
        mock.patch.dict("os.environ", env, clear=True),
        mock.patch("urllib.request.urlopen", urlopen),
    ):
        exec(code, {})  # noqa: S102 (our own health-check code)
    (url,) = asked
    return url


def published(service: Doc) -> Iterator[tuple[str, int]]:
    """(host address, container port) of every port a service publishes."""
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            yield entry.get("host_ip", "0.0.0.0"), int(str(entry["target"]).split("/")[0])
            continue
        spec = str(entry).split("/")[0]
        address = "0.0.0.0"
        if spec.startswith("["):
            address, _, spec = spec[1:].partition("]:")
        parts = spec.split(":")
        if len(parts) == 3:
            address = parts[0]
        yield address, int(parts[-1].split("-")[0])


def named_volume(doc: Doc, service: Doc, target: str) -> str:
    """The named volume (declared at the top) mounted at `target`, else fail."""
    for entry in service.get("volumes", []):
        if isinstance(entry, dict):
            source, mounted, kind = entry.get("source"), entry["target"], entry.get("type")
        else:
            source, _, rest = str(entry).partition(":")
            mounted, kind = rest.split(":")[0], "volume"
        if mounted.rstrip("/") == target.rstrip("/"):
            message = f"{target} must be on a named volume, not {entry!r}"
            assert kind == "volume", message
            assert source in (doc.get("volumes") or {}), message
            return str(source)
    raise AssertionError(f"nothing is mounted at {target}")


# --- The Dockerfile -------------------------------------------------------------------------


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]]

    def all(self, keyword: str) -> list[str]:
        return [rest for kw, rest in self.instructions if kw == keyword]

    def last(self, keyword: str) -> str | None:
        found = self.all(keyword)
        return found[-1] if found else None


def dockerfile() -> dict[str, Stage]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for line in (line.strip() for line in text.splitlines()):
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            match = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
            assert match, f"FROM {rest}"
            current = Stage(match[2] or str(len(stages)), match[1], [])
            stages[current.name] = current
        else:
            assert current, f"{keyword} before FROM"
            current.instructions.append((keyword, rest.strip()))
    return stages


def lineage(stages: dict[str, Stage], name: str) -> list[Stage]:
    """The stage and the stages it is built on, nearest first."""
    chain = [stages[name]]
    while chain[-1].base in stages:
        chain.append(stages[chain[-1].base])
    return chain


def inherited(stages: dict[str, Stage], name: str, keyword: str) -> str | None:
    for stage in lineage(stages, name):
        value = stage.last(keyword)
        if value is not None:
            return value
    return None


def exec_form(rest: str) -> list[str]:
    assert rest.startswith("["), f"exec form expected (no shell): {rest}"
    return json.loads(rest)  # type: ignore[no-any-return]


def stage_env(stages: dict[str, Stage], name: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for stage in reversed(lineage(stages, name)):
        for rest in stage.all("ENV"):
            env.update(re.findall(r"(\w+)=(\S+)", rest))
    return env


# --- .dockerignore (the rules of moby's patternmatcher) -------------------------------------


def _pattern(pattern: str) -> re.Pattern[str]:
    regex, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                i += 1
                regex += "(.*/)?"
            else:
                regex += ".*"
            continue
        regex += {"*": "[^/]*", "?": "[^/]"}.get(char, re.escape(char))
        i += 1
    return re.compile(regex)


def ignored_by_docker(path: str) -> bool:
    """Whether .dockerignore keeps `path` (relative to the repository) out of the context."""
    rules = []
    for line in DOCKERIGNORE.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        cleaned = str(Path(line.lstrip("!").strip())).lstrip("/")
        rules.append((negated, _pattern(cleaned)))
    parents = path.split("/")[:-1]
    excluded = False
    for negated, regex in rules:
        if negated != excluded:  # an exception only matters once excluded, and vice versa
            continue
        match = regex.fullmatch(path) or any(
            regex.fullmatch("/".join(parents[: i + 1])) for i in range(len(parents))
        )
        if match:
            excluded = not negated
    return excluded


# --- The compose file against the Compose Specification -------------------------------------


def compose_schema() -> Doc:
    schema: Doc = json.loads(
        resources.files(SCHEMA_PACKAGE).joinpath("compose-spec.json").read_text()
    )
    return schema


def schema_errors(doc: Doc) -> list[str]:
    schema = compose_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in validator.iter_errors(doc)
    ]


def test_the_schema_is_the_compose_specification_as_check_jsonschema_ships_it() -> None:
    vendor = resources.files(SCHEMA_PACKAGE)
    data = vendor.joinpath("compose-spec.json").read_bytes()
    expected = vendor.joinpath("sha256", "compose-spec.sha256").read_text().split()[0]
    assert hashlib.sha256(data).hexdigest() == expected
    assert "Apache License" in vendor.joinpath("licenses", "LICENSE.compose-spec").read_text()
    schema = json.loads(data)
    assert schema["title"] == "Compose Specification"
    assert schema["$schema"].endswith("/draft/2020-12/schema")


def test_the_compose_file_is_valid_against_the_compose_specification(compose: Doc) -> None:
    assert schema_errors(compose) == []
    assert schema_errors(interpolate(compose, operator_env())) == []


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda doc: doc["services"]["gateway"].update(portz=["8080:8080"]), "portz"),
        (lambda doc: doc["services"]["redis"].update(volumes="redis:/data"), "not of type"),
        (
            lambda doc: doc["services"]["identity"]["depends_on"]["migrate"].update(
                condition="service_done"
            ),
            "service_done",
        ),
    ],
)
def test_the_schema_refuses_an_unknown_key_a_wrong_type_and_a_wrong_value(
    change: Callable[[Doc], None], complaint: str
) -> None:
    doc = load_yaml(COMPOSE)
    change(doc)
    errors = schema_errors(doc)
    assert any(complaint in error for error in errors), errors


def test_two_equal_keys_in_one_mapping_are_refused_as_compose_refuses_them() -> None:
    with pytest.raises(yaml.constructor.ConstructorError, match="duplicate key 'A'"):
        yaml.load("env:\n  A: 1\n  A: 2\n", Loader=StrictLoader)  # noqa: S506
    assert yaml.load("x: &x {A: 1}\ny:\n  <<: *x\n  A: 2\n", Loader=StrictLoader)["y"] == {"A": 2}  # noqa: S506


# --- The parts in the compose file ----------------------------------------------------------


def test_every_part_and_job_runs_a_real_python_module_of_its_part(compose: Doc) -> None:
    for name in [*PARTS, *JOBS]:
        service, part = services(compose)[name], part_of(name)
        command = service["command"]
        assert command[:3] == ["python", "-m", part.module], name
        assert importlib.util.find_spec(f"{part.module}.__main__"), part.module
        if name in JOBS:
            usage = importlib.import_module(f"{part.module}.__main__").USAGE
            assert all(word in usage for word in command[3:]), (name, usage)
        else:
            assert command == ["python", "-m", part.module], "a part serves by default"


def test_every_variable_of_a_part_is_a_setting_of_that_part(compose: Doc) -> None:
    wrong = []
    for name in [*PARTS, *JOBS]:
        part = part_of(name)
        fields = {f.name for f in msgspec.structs.fields(part.settings)}
        for key in environment(services(compose)[name]):
            setting = key.removeprefix(part.prefix).lower()
            if not key.startswith(part.prefix) or setting not in fields:
                wrong.append(f"{name}: {key}")
    assert wrong == [], "not a setting of the part that gets it (typo, or another part's)"


@pytest.mark.parametrize("mode", ["development", "production"])
def test_each_part_accepts_the_settings_the_compose_file_gives_it(
    compose: Doc, settings_from: Callable[[str, Doc], Any], mode: str
) -> None:
    overrides = {"TESSERA_ENVIRONMENT": mode, "TESSERA_OTEL_EXPORTER": "otlp"}
    if mode == "production":  # what "Mode" in .env.example asks for
        overrides.update(
            TESSERA_OTP_SMS_PROVIDERS="webhook",
            TESSERA_OTP_SMS_WEBHOOK_URL="https://sms.example.com/send",
            TESSERA_GATEWAY_TRUSTED_PROXIES="172.16.0.0/12",
        )
    doc = interpolate(compose, operator_env(**overrides))
    for name in [*PARTS, *JOBS]:
        settings = settings_from(name, services(doc)[name])
        assert settings.environment == mode
        assert settings.host == "0.0.0.0", f"{name} must listen beyond the container's loopback"
        assert settings.otel_exporter == "otlp"


def test_the_parts_agree_on_what_they_share(
    compose: Doc, settings_from: Callable[[str, Doc], Any]
) -> None:
    doc = interpolate(compose, operator_env())
    identity, session, otp, gateway = (settings_from(name, services(doc)[name]) for name in PARTS)
    assert identity.internal_token == session.internal_token == gateway.internal_token
    assert identity.token_issuer == session.issuer == gateway.token_issuer
    assert identity.token_audience == session.audience == gateway.token_audience
    assert session.redis_url == gateway.redis_url, "the gateway checks sessions in session's Redis"
    assert session.redis_key_prefix == gateway.session_key_prefix
    assert (identity.stream_name, identity.subject_prefix) == (otp.stream_name, otp.subject_prefix)
    assert identity.nats_url == session.nats_url == otp.nats_url
    session_url = f"http://session:{session.port}"
    assert identity.session_url == gateway.session_url == session_url
    jwks = f"{session_url}/.well-known/jwks.json"
    assert identity.session_jwks_url == gateway.session_jwks_url == jwks
    assert session.identity_url == gateway.identity_url == f"http://identity:{identity.port}"
    assert environment(services(doc)["migrate"]) == environment(services(doc)["identity"])


def test_every_address_a_part_is_given_names_a_service_on_its_port(compose: Doc) -> None:
    doc = interpolate(compose, operator_env(TESSERA_OTEL_EXPORTER="otlp"))
    for name in [*PARTS, *JOBS]:
        env = environment(services(doc)[name])
        for key, value in env.items():
            if key.endswith(("_URL", "_ENDPOINT")) and "://" in value:
                url = urlsplit(value)
                host, port = url.hostname, url.port
            elif key.endswith("SMTP_HOST"):
                host, port = value, int(env[key.replace("HOST", "PORT")])
            else:
                continue
            assert host in services(doc), f"{name}: {key} names no service ({host})"
            if host in PARTS:
                expected = port_setting(PARTS[host], environment(services(doc)[host]))
            elif host == "otel-collector":
                expected = collector_http_port()
            else:
                expected = SERVER_PORTS[host]
            assert port == expected, f"{name}: {key} -> {host}:{port}, which listens on {expected}"


def test_health_checks_and_the_published_port_use_each_parts_port_setting(
    compose: Doc,
) -> None:
    for name, part in PARTS.items():
        service = services(compose)[name]
        env = environment(service)
        test = service["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "-c"], f"{name}: python's urllib, no curl in the image"
        url = urlsplit(probed_url(test[3], env))
        assert (url.hostname, url.port) == ("127.0.0.1", port_setting(part, env)), name
        assert url.path in ("/health/ready", "/health/live"), name
    gateway = services(compose)["gateway"]
    assert [port for _, port in published(gateway)] == [
        port_setting(PARTS["gateway"], environment(gateway))
    ]


def test_only_the_gateway_publishes_a_port_beyond_this_machine(compose: Doc) -> None:
    for name, service in services(compose).items():
        assert service.get("network_mode") != "host", name
        for address, port in published(service):
            if name != "gateway":
                assert address in ("127.0.0.1", "::1"), f"{name} publishes {port} on {address}"


def test_every_part_has_a_health_check_and_waits_for_its_dependencies(compose: Doc) -> None:
    everything = services(compose)
    for name in [*PARTS, *JOBS]:
        service = everything[name]
        if name in PARTS:
            assert service["healthcheck"].get("test"), name
            assert not service["healthcheck"].get("disable"), name
        depends = service["depends_on"]
        assert isinstance(depends, dict), f"{name}: depends_on with conditions"
        for dependency, rule in depends.items():
            checked = "healthcheck" in everything[dependency]
            if dependency in JOBS:
                expected = "service_completed_successfully"
            elif checked:
                expected = "service_healthy"
            else:
                expected = "service_started"
            assert rule["condition"] == expected, f"{name} -> {dependency}"
    assert "migrate" in everything["identity"]["depends_on"], "identity starts on a migrated db"
    assert everything["migrate"]["restart"] == "no", "a one-shot job"


def test_the_parts_are_built_from_their_dockerfile_targets(compose: Doc) -> None:
    stages = dockerfile()
    for name in [*PARTS, *JOBS]:
        service, part = services(compose)[name], part_of(name)
        build = service["build"]
        assert build["context"] == ".", name
        assert build["target"] == part.service, name
        image_command = exec_form(inherited(stages, part.service, "CMD") or "")
        assert image_command[:3] == service["command"][:3], name
        assert service["image"].startswith(f"tessera/{part.service}:"), name


def test_every_other_image_is_pinned_to_a_version(compose: Doc) -> None:
    for name, service in services(compose).items():
        if "build" in service:
            continue
        image = service["image"]
        tag = image.rpartition(":")[2] if ":" in image.rpartition("/")[2] else ""
        assert re.search(r"\d", tag), f"{name}: {image} has no version"
        assert "latest" not in tag, f"{name}: {image}"


# --- Data: PostgreSQL, Redis, NATS ----------------------------------------------------------


def test_postgres_keeps_its_cluster_on_a_named_volume_and_reports_ready(compose: Doc) -> None:
    postgres = services(compose)["postgres"]
    major = int(re.search(r":(\d+)", postgres["image"])[1])  # type: ignore[index]
    # Images of PostgreSQL 18 and later keep the cluster in /var/lib/postgresql/<major>/docker.
    named_volume(
        compose, postgres, "/var/lib/postgresql" if major >= 18 else "/var/lib/postgresql/data"
    )
    assert "pg_isready" in postgres["healthcheck"]["test"]
    assert postgres["environment"]["POSTGRES_PASSWORD"].startswith("${TESSERA_POSTGRES_PASSWORD:?")


def test_redis_writes_its_append_only_file_every_second_to_a_volume(compose: Doc) -> None:
    redis = services(compose)["redis"]
    command = redis["command"]
    assert command[0] == "redis-server"
    options = dict(zip(command[1::2], command[2::2], strict=True))
    assert options["--appendonly"] == "yes", "refresh families must survive a restart"
    assert options["--appendfsync"] == "everysec"
    assert options.get("--save") != "", "RDB snapshots (for backups) stay on"
    named_volume(compose, redis, "/data")


def test_nats_runs_jetstream_with_its_store_on_a_volume_and_a_jetstream_health_check(
    compose: Doc,
) -> None:
    nats = services(compose)["nats"]
    command = nats["command"]
    assert "-js" in command or "--jetstream" in command
    flag = next(f for f in ("-sd", "--store_dir") if f in command)
    named_volume(compose, nats, command[command.index(flag) + 1])
    monitor = command[command.index("-m") + 1]
    assert f"http://127.0.0.1:{monitor}/healthz?js-enabled-only=true" in nats["healthcheck"]["test"]
    assert not list(published(nats)), "NATS is for the parts only"


def test_session_keeps_its_signing_keys_on_a_named_volume(
    compose: Doc, settings_from: Callable[[str, Doc], Any]
) -> None:
    session = services(interpolate(compose, operator_env()))["session"]
    keys = settings_from("session", session).signing_keys_dir
    named_volume(compose, services(compose)["session"], keys)


# --- Secrets and .env.example ---------------------------------------------------------------


def test_env_example_lists_every_variable_the_compose_file_reads(compose: Doc) -> None:
    read = dict(variables(compose))
    listed = env_example()
    required = {name for name, op in variables(compose) if op in (":?", "?")}
    assert required == set(SECRETS)
    for name in required:
        assert name in listed, f"{name}= must be a line of .env.example"
        assert not listed[name][1], f"{name}= must not be commented out in .env.example"
        assert listed[name][0] == "", f"{name}: no secret in the repository, not even a sample"
    assert set(read) - set(listed) == set(), "read by docker-compose.yml, missing in .env.example"
    assert set(listed) - set(read) == set(), "in .env.example, read by nothing"


def test_compose_refuses_to_start_while_a_secret_is_missing(compose: Doc) -> None:
    for secret in SECRETS:
        with pytest.raises(MissingVariableError, match=secret):
            interpolate(compose, operator_env(**{secret: ""}))


# --- Telemetry ------------------------------------------------------------------------------


def collector_config(compose: Doc | None = None) -> Doc:
    collector = services(compose or load_yaml(COMPOSE))["otel-collector"]
    (mount,) = collector["volumes"]
    source = mount.split(":")[0]
    return load_yaml(ROOT / source)


def collector_http_port() -> int:
    endpoint = collector_config()["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    return int(endpoint.rpartition(":")[2])


def test_the_telemetry_profile_carries_the_parts_traces_to_jaeger(compose: Doc) -> None:
    everything = services(compose)
    collector, jaeger = everything["otel-collector"], everything["jaeger"]
    assert collector["profiles"] == jaeger["profiles"] == ["telemetry"]
    (mount,) = collector["volumes"]
    source, target, mode = mount.split(":")
    assert (ROOT / source).is_file()
    assert mode == "ro"
    assert f"--config={target}" in collector["command"]
    config = collector_config(compose)
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].startswith("0.0.0.0:")
    pipeline = config["service"]["pipelines"]["traces"]
    for kind in ("receivers", "processors", "exporters"):
        assert set(pipeline.get(kind, [])) <= set(config.get(kind, {})), kind
    (exporter,) = pipeline["exporters"]
    assert exporter.split("/")[0] == "otlp_grpc"
    host, _, port = config["exporters"][exporter]["endpoint"].partition(":")
    assert (host, int(port)) == ("jaeger", SERVER_PORTS["jaeger"])
    for name in PARTS:
        env = environment(everything[name])
        prefix = PARTS[name].prefix
        assert env[f"{prefix}OTEL_EXPORTER"] == "${TESSERA_OTEL_EXPORTER:-none}", (
            "off unless .env says"
        )
        endpoint = urlsplit(interpolate(env[f"{prefix}OTEL_ENDPOINT"], {}))
        assert (endpoint.hostname, endpoint.port, endpoint.path) == (
            "otel-collector",
            collector_http_port(),
            "/v1/traces",
        )
        assert not set(everything[name].get("depends_on", {})) & {"otel-collector", "jaeger"}, (
            f"{name} must start without the optional profile"
        )


# --- The Dockerfile -------------------------------------------------------------------------


def test_every_part_target_runs_its_module_as_a_non_root_user_with_a_health_check() -> None:
    stages = dockerfile()
    for target in ["tessera", *PARTS]:
        user = inherited(stages, target, "USER")
        assert user, f"{target} runs as root"
        assert user.split(":")[0] not in ("root", "0"), f"{target} runs as {user}"
        assert re.fullmatch(r"\d+(:\d+)?", user), "numeric, so runAsNonRoot can check it"
    for name, part in PARTS.items():
        stage = stages[name]
        assert exec_form(stage.last("CMD") or "") == ["python", "-m", part.module]
        check = stage.last("HEALTHCHECK")
        assert check, f"{name} has no HEALTHCHECK"
        assert "CMD" in check, f"{name}: HEALTHCHECK {check}"
        test = exec_form(check[check.index("CMD") + 3 :].strip())
        assert test[:2] == ["python", "-c"], "python's urllib: the image has no curl"
        default = port_setting(part, {})
        assert urlsplit(probed_url(test[2], {})).port == default
        assert urlsplit(probed_url(test[2], {f"{part.prefix}PORT": "9999"})).port == 9999
        assert urlsplit(probed_url(test[2], {})).path == "/health/live"
        assert stage.all("EXPOSE") == [str(default)]
        assert stage_env(stages, name)[f"{part.prefix}HOST"] == "0.0.0.0"
    gateway = exec_form(stages["gateway"].last("HEALTHCHECK").split("CMD", 1)[1].strip())  # type: ignore[union-attr]
    tls = probed_url(gateway[2], {"TESSERA_GATEWAY_TLS_CERT_FILE": "/tls/cert.pem"})
    assert tls.startswith("https://127.0.0.1:8080/"), "a gateway with TLS answers HTTPS only"
    assert stage_env(stages, "session")["TESSERA_SESSION_SIGNING_KEYS_DIR"] == "/keys"


def test_the_image_has_no_test_tools_no_build_tools_and_a_pinned_base() -> None:
    stages = dockerfile()
    text = DOCKERFILE.read_text()
    assert not re.search(r"\[\s*(testing|devservers|containers)", text), "no extras in the image"
    external = {stage.base for stage in stages.values() if stage.base not in stages}
    assert len(external) == 1
    (base,) = external
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", base), base
    for name in ["tessera", *PARTS]:
        for stage in lineage(stages, name):
            if stage.base not in stages:
                for run in stage.all("RUN"):
                    assert not re.search(r"apt-get install|pip install|pip wheel", run), run
                for copy in stage.all("COPY"):
                    assert copy.startswith("--from=build /opt/tessera "), copy
    build = stages["build"]
    for run in build.all("RUN"):
        for requirement in re.findall(r"pip install ((?:[\w.\-]+==\S+\s*)+)", run):
            assert all("==" in r for r in requirement.split()), run


def test_argon2_is_built_from_source_for_x86_64_v3_unless_the_build_argument_is_empty() -> None:
    build = dockerfile()["build"]
    assert "ARGON2_MARCH=x86-64-v3" in build.all("ARG")
    (wheel,) = [run for run in build.all("RUN") if "pip wheel" in run]
    assert 'CFLAGS="-O3 -march=$ARGON2_MARCH"' in wheel
    assert "--no-binary=argon2-cffi-bindings" in wheel
    assert "--only-binary=:all:" in wheel, "no other package built from source"
    assert '[ -n "$ARGON2_MARCH" ]' in wheel, "an empty ARGON2_MARCH takes the portable wheel"
    (install,) = [run for run in build.all("RUN") if "--find-links /wheels" in run]
    assert "--no-index" in install, "only the wheels built above"
    assert "--no-compile" in install, "no __pycache__ in the image"


def test_the_build_context_holds_the_sources_and_no_secrets_tests_or_local_data() -> None:
    for path in [
        ".venv/bin/python",
        ".data/postgres/PG_VERSION",
        ".git/HEAD",
        ".env",
        "tests-e2e/conftest.py",
        "tests-ops/test_compose.py",
        "benchmarks/gateway_bench.py",
        "tools/run_local.py",
        "services/identity/tests/unit/test_anything.py",
        "gateway/tests/integration/conftest.py",
        "libs/shared/src/tessera_shared/__pycache__/config.cpython-311.pyc",
    ]:
        assert ignored_by_docker(path), f"{path} would be sent to the build"
    sources = [
        copy.split()[0].rstrip("/")
        for copy in dockerfile()["build"].all("COPY")
        if not copy.startswith("--from")
    ]
    services_ = [f"services/{name}" for name in ("identity", "session", "otp-delivery")]
    assert sorted(sources) == sorted(["libs/verify", "libs/shared", *services_, "gateway"])
    for source in sources:
        files = [
            p for p in (ROOT / source).rglob("*") if p.is_file() and "__pycache__" not in p.parts
        ]
        kept = [p for p in files if not ignored_by_docker(str(p.relative_to(ROOT)))]
        assert (ROOT / source / "pyproject.toml") in kept, source
        assert all("tests" not in p.relative_to(ROOT / source).parts for p in kept), source
        assert any(p.suffix == ".py" and "src" in p.parts for p in kept), source
