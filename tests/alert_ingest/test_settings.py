"""alert-ingest reads its environment once; bad values stop start-up with a sentence naming the variable."""

import pytest

from aegis.alert_ingest.__main__ import main
from aegis.alert_ingest.settings import IngestSettings
from aegis.shared.settings import ConfigError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "HTTP_HOST",
        "HTTP_PORT",
        "AEGIS_WEBHOOK_TOKEN",
        "WEBHOOK_MAX_BODY_BYTES",
        "NATS_PUBLISH_TIMEOUT_S",
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults() -> None:
    """Unset variables give 0.0.0.0:8080, no token, a 1 MiB body limit and a 2 s publish timeout."""
    settings = load_settings(IngestSettings)

    assert (settings.http_host, settings.http_port) == ("0.0.0.0", 8080)
    assert settings.aegis_webhook_token is None
    assert settings.webhook_max_body_bytes == 1024 * 1024
    assert settings.nats_publish_timeout_s == 2.0


def test_values_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each variable is read by its documented name."""
    monkeypatch.setenv("HTTP_HOST", "127.0.0.1")
    monkeypatch.setenv("HTTP_PORT", "9000")
    monkeypatch.setenv("AEGIS_WEBHOOK_TOKEN", "tok")
    monkeypatch.setenv("WEBHOOK_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("NATS_PUBLISH_TIMEOUT_S", "0.5")

    settings = load_settings(IngestSettings)

    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 9000)
    assert settings.aegis_webhook_token is not None
    assert settings.aegis_webhook_token.get_secret_value() == "tok"
    assert (settings.webhook_max_body_bytes, settings.nats_publish_timeout_s) == (2048, 0.5)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HTTP_PORT", "eighty"),
        ("HTTP_PORT", "70000"),
        ("WEBHOOK_MAX_BODY_BYTES", "0"),
        ("NATS_PUBLISH_TIMEOUT_S", "soon"),
    ],
)
def test_malformed_value_is_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    """A malformed value → ConfigError whose message names the variable and shows the value."""
    monkeypatch.setenv(name, value)

    with pytest.raises(ConfigError) as raised:
        load_settings(IngestSettings)

    assert name in str(raised.value)
    assert repr(value) in str(raised.value)


def test_blank_token_means_authentication_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """A blank AEGIS_WEBHOOK_TOKEN (a chart rendering an unset secret) means unset, not an empty token."""
    monkeypatch.setenv("AEGIS_WEBHOOK_TOKEN", "  ")

    assert load_settings(IngestSettings).aegis_webhook_token is None


def test_token_is_not_shown_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    """The token stays a secret when the settings are printed."""
    monkeypatch.setenv("AEGIS_WEBHOOK_TOKEN", "very-secret")

    assert "very-secret" not in repr(load_settings(IngestSettings))


def test_main_exits_2_with_the_sentence(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The console script prints the configuration error to stderr and exits with status 2."""
    monkeypatch.setenv("HTTP_PORT", "eighty")

    with pytest.raises(SystemExit) as exited:
        main()

    assert exited.value.code == 2
    assert "HTTP_PORT" in capsys.readouterr().err
