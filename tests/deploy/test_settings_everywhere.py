"""Every setting a service reads is configurable and documented wherever a user looks: one test,
so that .env.example, the chart's values and README's table cannot drift apart."""

from tests.deploy.catalogue import ROOT, all_settings
from tests.deploy.chart import chart_values
from tests.deploy.env_example import env_example_names

# Set by the chart itself (the bundled or external NATS, each component's port), not in `config`.
CHART_MANAGED = {"NATS_URL", "AEGIS_STREAM_REPLICAS", "HTTP_HOST", "HTTP_PORT"}


def test_every_setting_is_in_env_example_the_chart_values_and_the_readme() -> None:
    """Each variable is in .env.example (commented), values.yaml (secrets apart) and README's table."""
    settings = all_settings()
    assert len(settings) > 20
    documented = env_example_names()
    values = chart_values()
    config, secrets = set(values["config"]), set(values["secrets"])
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    problems = []
    for name, setting in sorted(settings.items()):
        if name not in documented:
            problems.append(f".env.example lacks {name}")
        elif not documented[name]:
            problems.append(f".env.example has no comment above {name}")
        if setting.secret and (name not in secrets or name in config):
            problems.append(f"values.yaml: secret {name} belongs under `secrets` (and only there)")
        elif not setting.secret and name not in config | CHART_MANAGED:
            problems.append(f"values.yaml `config` lacks {name}")
    missing_in_readme = [name for name in sorted(settings) if f"| `{name}` |" not in readme]
    if missing_in_readme:
        problems.append(f"README.md's configuration table lacks {', '.join(missing_in_readme)}")
    assert not problems, "\n".join(problems)
