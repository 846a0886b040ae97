from typing import Annotated, Literal

import msgspec
import pytest

from tessera_shared.config import ConfigError, load_config, require_secrets


class Demo(msgspec.Struct, kw_only=True, frozen=True):
    database_url: str
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 8001
    debug: bool = False
    mode: Literal["a", "b"] = "a"


def test_values_are_read_from_prefixed_variables_and_converted():
    env = {"X_DATABASE_URL": "postgresql://db", "X_PORT": "9000", "X_DEBUG": "true"}
    config = load_config(Demo, "X_", env)
    assert config == Demo(database_url="postgresql://db", port=9000, debug=True)


def test_defaults_apply_and_foreign_variables_are_ignored():
    env = {"X_DATABASE_URL": "u", "Y_PORT": "1", "X_UNKNOWN": "z"}
    assert load_config(Demo, "X_", env).port == 8001


def test_a_missing_required_value_names_the_variable():
    with pytest.raises(ConfigError) as caught:
        load_config(Demo, "X_", {})
    assert str(caught.value) == "X_DATABASE_URL is required but not set"


@pytest.mark.parametrize(
    ("variable", "value"),
    [("X_PORT", "eighty"), ("X_PORT", "70000"), ("X_DEBUG", "maybe"), ("X_MODE", "c")],
)
def test_a_malformed_value_names_the_variable_on_one_line_without_echoing_it(variable, value):
    with pytest.raises(ConfigError) as caught:
        load_config(Demo, "X_", {"X_DATABASE_URL": "u", variable: value})
    message = str(caught.value)
    assert message.startswith(f"{variable} is invalid: ")
    assert "\n" not in message
    assert value not in message


class Secrets(msgspec.Struct, kw_only=True, frozen=True):
    environment: str = "development"
    key: str = "dev-key"


@pytest.mark.parametrize("value", ["dev-key", "short"])
def test_production_refuses_a_development_or_short_secret_naming_the_variable(value):
    with pytest.raises(ConfigError, match=r"^X_KEY must be set to a secret of at least 32"):
        require_secrets(Secrets(environment="production", key=value), "X_", {"key": "dev-key"})


def test_development_accepts_the_development_secret_and_production_a_real_one():
    require_secrets(Secrets(), "X_", {"key": "dev-key"})
    require_secrets(Secrets(environment="production", key="k" * 32), "X_", {"key": "dev-key"})
