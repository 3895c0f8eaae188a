"""Recognising commands that change or destroy something, so they never read as routine next actions.

A model may recommend `kubectl delete namespace production` in the same breath as "check the
dashboard". Aegis cannot run either, but an engineer at 3 a.m. may paste the first one. A next
action that contains a command which writes — any `kubectl` verb that is not a read, `helm
uninstall/rollback/upgrade`, SQL `DROP/TRUNCATE/DELETE FROM/ALTER/UPDATE … SET`, `rm -rf`,
`terraform destroy/apply`, `docker rm/kill`, `systemctl stop/restart`, `kill -9`, Redis `FLUSHALL` —
is marked as needing a human's review, with what it would change.
"""

import re

from aegis.shared.messages import message
from aegis.shared.settings import Locale

# kubectl verbs (and `rollout`/`auth`/`config` sub-verbs) that only read.
_KUBECTL_READS = {
    "get", "describe", "logs", "log", "top", "explain", "api-resources", "api-versions", "version",
    "events", "cluster-info", "diff", "wait", "completion", "plugin", "options", "auth", "config",
    "rollout status", "rollout history",
}  # fmt: skip
# Flags before the verb are skipped (with their value), so that `-n prod delete` finds `delete`.
_KUBECTL = re.compile(
    r"\bkubectl\s+((?:-{1,2}[\w-]+(?:[= ](?!-)\S+)?\s+)*)([a-z][\w-]*)(?:\s+([a-z][\w-]*))?"
)
_OTHERS = re.compile(
    r"\bhelm\s+(?:uninstall|delete|del|rollback|upgrade|install)\b"
    r"|\b(?:DROP|TRUNCATE)\s+(?:TABLE|DATABASE|SCHEMA|INDEX|USER|KEYSPACE)\b|\bDELETE\s+FROM\b|\bALTER\s+TABLE\b"
    r"|\bUPDATE\s+\w+\s+SET\b|\brm\s+-\w*[rf]|\bterraform\s+(?:destroy|apply|taint)\b"
    r"|\bdocker\s+(?:rm|rmi|kill|stop|system\s+prune)\b|\bsystemctl\s+(?:stop|restart|disable|mask)\b"
    r"|\bkill\s+-(?:9|KILL)\b|\b(?:FLUSHALL|FLUSHDB)\b|\betcdctl\s+(?:del|defrag|snapshot\s+restore)\b"
    r"|\bistioctl\s+(?:uninstall|x\s+uninstall)\b|\bargocd\s+app\s+(?:delete|sync|rollback)\b",
    re.IGNORECASE,
)


def destructive_command(text: str) -> str | None:
    """The first command in `text` that would change something, or None when it only reads."""
    for match in _KUBECTL.finditer(text):
        verb, sub = match.group(2).lower(), (match.group(3) or "").lower()
        if verb not in _KUBECTL_READS and f"{verb} {sub}" not in _KUBECTL_READS:
            return match.group(0).strip()
    found = _OTHERS.search(text)
    return found.group(0) if found else None


def marked_for_review(action: str, locale: Locale) -> str:
    """`action`, with the review mark in front when it holds a destructive command."""
    mark = message(locale, "guard.review")
    if destructive_command(action) is None or action.startswith(mark):
        return action
    return mark + action
