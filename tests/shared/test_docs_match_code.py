"""The README documents every environment variable the services read."""

from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from aegis.alert_ingest.settings import IngestSettings
from aegis.gateway_feishu.settings import GatewaySettings
from aegis.notifier.settings import NotifierSettings
from aegis.rca_worker.settings import WorkerSettings
from aegis.shared.settings import AegisSettings

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize(
    "settings",
    [AegisSettings, IngestSettings, NotifierSettings, GatewaySettings, WorkerSettings],
)
def test_every_setting_is_in_the_readme(settings: type[BaseSettings]) -> None:
    """Each field of each settings class appears in README's configuration table."""
    readme = README.read_text()
    missing = [name.upper() for name in settings.model_fields if f"| `{name.upper()}` |" not in readme]
    assert not missing, f"README.md lacks {missing}"
