"""Who may publish and subscribe to what on NATS: one user per service, least privilege.

Anything on the pod network could once publish an @all card into the on-call chat. Now each
service connects as its own user and may publish only the subjects it owns (alert-ingest: alerts,
API questions and their cancels; gateway-feishu: Feishu questions; rca-worker: progress and
results; notifier: its KV bucket and dead letters), plus the JetStream API calls its own streams,
consumers and buckets need. `python -m aegis.shared.nats_access` writes the server's `authorization` block,
committed at `deploy/helm/aegis/files/nats-authorization.conf`; the chart's bundled NATS, the
compose stack and the tests' nats-server all load that file, and a test fails when it is stale.
Passwords are never in it: each is read by nats-server from an environment variable
(`NATS_PASSWORD_<SERVICE>`, from the Secret).
"""

import sys
from dataclasses import dataclass

from aegis.shared import subjects
from aegis.shared.consumers import CONSUMERS
from aegis.shared.streams import (
    ALERTS_STREAM,
    CLAIMS_BUCKET,
    DLQ_STREAM,
    FEISHU_EVENTS_BUCKET,
    INCIDENTS_BUCKET,
    MESSAGES_BUCKET,
    QUESTIONS_STREAM,
    RCA_STREAM,
    SESSIONS_BUCKET,
)

_STREAMS = (ALERTS_STREAM, QUESTIONS_STREAM, RCA_STREAM, DLQ_STREAM)


@dataclass(frozen=True)
class ServiceAccess:
    """One NATS user: what it may publish and what it may subscribe to."""

    user: str
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]

    @property
    def password_variable(self) -> str:
        """The environment variable nats-server reads this user's password from."""
        return "NATS_PASSWORD_" + self.user.upper().replace("-", "_")


def _declaring() -> tuple[str, ...]:
    """Every service declares the streams idempotently at start-up (info, create, update)."""
    return tuple(
        f"$JS.API.STREAM.{verb}.{name}" for name in _STREAMS for verb in ("INFO", "CREATE", "UPDATE")
    )


def _bucket(name: str) -> tuple[str, ...]:
    stream = f"KV_{name}"
    return (
        f"$KV.{name}.>",
        f"$JS.API.STREAM.INFO.{stream}",
        f"$JS.API.STREAM.CREATE.{stream}",
        f"$JS.API.STREAM.MSG.GET.{stream}",
        f"$JS.API.DIRECT.GET.{stream}",
        f"$JS.API.DIRECT.GET.{stream}.>",
    )


def _reading(name: str) -> tuple[str, ...]:
    """Declare and read a bucket another service writes (no `$KV.<bucket>.>` publish: no writes)."""
    return tuple(grant for grant in _bucket(name) if not grant.startswith("$KV."))


def _consuming(service: str) -> tuple[str, ...]:
    """Create, inspect and pull from the service's own durables, and ack what they deliver."""
    granted: list[str] = []
    for spec in CONSUMERS:
        if spec.service != service:
            continue
        where = f"{spec.stream}.{spec.durable}"
        granted += [
            f"$JS.API.CONSUMER.CREATE.{where}",
            f"$JS.API.CONSUMER.CREATE.{where}.>",
            f"$JS.API.CONSUMER.DURABLE.CREATE.{where}",
            f"$JS.API.CONSUMER.INFO.{where}",
            f"$JS.API.CONSUMER.MSG.NEXT.{where}",
            f"$JS.ACK.{where}.>",
        ]
    return tuple(granted)


def _dead_letters(*consumed: str) -> tuple[str, ...]:
    return tuple(subjects.dead_letter_subject(subject) for subject in consumed)


# Replies to requests (JetStream publish acks, API answers, pulled messages) come to an inbox.
_INBOX = ("_INBOX.>",)
_ACCOUNT_INFO = ("$JS.API.INFO",)

ACCESS: tuple[ServiceAccess, ...] = (
    ServiceAccess(
        "alert-ingest",
        publish=(
            subjects.ALERTS.replace(">", "*"),
            subjects.question_subject("api"),
            subjects.cancel_subject("*"),
            *_ACCOUNT_INFO,
            *_declaring(),
        ),
        subscribe=(*_INBOX, subjects.progress_subject("*"), subjects.result_subject("api")),
    ),
    ServiceAccess(
        "gateway-feishu",
        publish=(
            subjects.question_subject("feishu"),
            *_ACCOUNT_INFO,
            *_declaring(),
            *_bucket(FEISHU_EVENTS_BUCKET),
            *_bucket(CLAIMS_BUCKET),
            *_reading(MESSAGES_BUCKET),
        ),
        subscribe=_INBOX,
    ),
    ServiceAccess(
        "rca-worker",
        publish=(
            subjects.progress_subject("*"),
            *(subjects.result_subject(source) for source in ("feishu", "api", "cli")),
            *_dead_letters(subjects.QUESTIONS),
            *_ACCOUNT_INFO,
            *_declaring(),
            *_bucket(SESSIONS_BUCKET),
            *_consuming("rca-worker"),
            f"$JS.API.STREAM.MSG.GET.{QUESTIONS_STREAM}",  # was this question cancelled before it started?
        ),
        # Feishu questions as they are published: API work makes way before the consumer hands one over.
        subscribe=(*_INBOX, subjects.cancel_subject("*"), subjects.question_subject("feishu")),
    ),
    ServiceAccess(
        "notifier",
        publish=(
            *_dead_letters(
                subjects.ALERTS, subjects.question_subject("feishu"), subjects.result_subject("feishu")
            ),
            *_ACCOUNT_INFO,
            *_declaring(),
            *_bucket(MESSAGES_BUCKET),
            *_reading(CLAIMS_BUCKET),
            *_bucket(INCIDENTS_BUCKET),
            *_consuming("notifier"),
        ),
        subscribe=(*_INBOX, subjects.progress_subject("*")),
    ),
    # People: `aegis publish alert | ask | tail | dlq replay`. Everything, like an administrator.
    ServiceAccess("operator", publish=(">",), subscribe=(">",)),
)


def access_of(user: str) -> ServiceAccess:
    """The entry of `user`."""
    return next(access for access in ACCESS if access.user == user)


def _quoted(items: tuple[str, ...]) -> str:
    return ", ".join(f'"{item}"' for item in items)


def authorization_block() -> str:
    """The nats-server `authorization { users = [...] }` block, passwords read from the environment."""
    lines = [
        "# Generated by `python -m aegis.shared.nats_access` from aegis.shared.nats_access; do not edit.",
        "# Each password comes from the environment variable named next to it (the Secret).",
        "authorization {",
        "  users = [",
    ]
    for access in ACCESS:
        lines += [
            "    {",
            f'      user: "{access.user}"',
            f"      password: ${access.password_variable}",
            "      permissions: {",
            f"        publish: {{ allow: [{_quoted(access.publish)}] }}",
            f"        subscribe: {{ allow: [{_quoted(access.subscribe)}] }}",
            "      }",
            "    }",
        ]
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(authorization_block())
