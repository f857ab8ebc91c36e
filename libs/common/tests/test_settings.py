from dataclasses import dataclass

import pytest

from wagw_common.settings import CommonSettings, SettingsError, TokenSettings, env_field, load, variables_of

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class ExampleSettings(CommonSettings):
    qr_ttl: float = env_field("EXAMPLE_QR_TTL", "60", "help", float)


def test_defaults_then_service_defaults_then_environment():
    settings = load(ExampleSettings, {"EXAMPLE_QR_TTL": "5"}, HTTP_PORT="8081")
    assert settings.port == 8081
    assert settings.qr_ttl == 5.0
    assert settings.amqp_url.startswith("amqp://")


def test_a_bad_value_names_its_variable():
    with pytest.raises(SettingsError, match="HTTP_PORT"):
        load(ExampleSettings, {"HTTP_PORT": "eighty"})


def test_every_variable_is_documented_once():
    names = [v.name for v in variables_of(ExampleSettings)]
    assert len(names) == len(set(names))
    assert all(v.help for v in variables_of(ExampleSettings))


def test_the_published_jwt_secret_is_refused_unless_in_development_mode():
    assert "JWT_SECRET" in load(TokenSettings, {}).refusal_to_start()
    assert load(TokenSettings, {"DEVELOPMENT_MODE": "true"}).refusal_to_start() is None
    assert load(TokenSettings, {"JWT_SECRET": "s" * 40}).refusal_to_start() is None
