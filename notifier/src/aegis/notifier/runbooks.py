"""Runbook and dashboard links from Alertmanager annotations, for the alert card's buttons.

Alert rules carry `runbook_url` and `dashboard` / `dashboard_url` annotations by convention
(kube-prometheus, Grafana's mixins). Pure: an annotation is only a link when it is an absolute
http(s) URL, because annotations are untrusted text and a card button opens whatever it is given.
"""

from urllib.parse import urlsplit

from aegis.shared.alerts import AlertGroupEvent

RUNBOOK_KEYS = ("runbook_url", "runbook")
DASHBOARD_KEYS = ("dashboard_url", "dashboard")


def _link(event: AlertGroupEvent, keys: tuple[str, ...]) -> str | None:
    for annotations in (event.common_annotations, *(a.annotations for a in event.alerts)):
        for key in keys:
            value = annotations.get(key, "").strip()
            parts = urlsplit(value)
            if parts.scheme in ("http", "https") and parts.netloc and len(value) <= 2000:
                return value
    return None


def runbook_url(event: AlertGroupEvent) -> str | None:
    """The group's runbook: the common annotation first, else the first alert that has one."""
    return _link(event, RUNBOOK_KEYS)


def dashboard_url(event: AlertGroupEvent) -> str | None:
    """The group's dashboard, chosen the same way."""
    return _link(event, DASHBOARD_KEYS)
