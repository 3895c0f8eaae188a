"""Which chats an alert group goes to, and whom its card mentions: the routes file.

Teams share one Alertmanager but not one chat. The routes file (YAML, path in
`NOTIFIER_ROUTES_FILE`, mounted from the chart's ConfigMap) lists ordered routes; each has
Alertmanager-syntax matchers on any label (`team="payments"`, `service=~"pay.*"`, `!=`, `!~`),
the chat(s) to send to, whom to mention, and `continue` to go on matching. A group no route takes
goes to `FEISHU_DEFAULT_CHAT_ID`. Pure: loading validates everything at start-up and names the
bad route; matching is a function of the labels.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, cast

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aegis.shared.alerts import AlertGroupEvent, Labels

# Alertmanager's matcher syntax: a label name, an operator, a (quoted or bare) value.
_MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^"\s]*))\s*$')
Operator = Literal["=", "!=", "=~", "!~"]


class RoutesError(ValueError):
    """The routes file cannot be used; the message names the file and the route."""


@dataclass(frozen=True)
class Matcher:
    """One label matcher; regexes are anchored at both ends, as in Alertmanager."""

    name: str
    op: Operator
    value: str
    pattern: re.Pattern[str] | None = None

    def matches(self, labels: Labels) -> bool:
        actual = labels.get(self.name, "")
        if self.pattern is not None:
            found = self.pattern.fullmatch(actual) is not None
            return found if self.op == "=~" else not found
        return (actual == self.value) if self.op == "=" else (actual != self.value)


def parse_matcher(text: str) -> Matcher:
    """`team="payments"` → a Matcher; raises ValueError saying what is wrong."""
    found = _MATCHER.match(text)
    if found is None:
        raise ValueError(f"matcher {text!r} is not name=value, name!=value, name=~regex or name!~regex")
    name, op, quoted, bare = found.groups()
    value = re.sub(r'\\(["\\])', r"\1", quoted) if quoted is not None else bare
    if op in ("=~", "!~"):
        try:
            return Matcher(name, cast(Operator, op), value, re.compile(f"(?:{value})"))
        except re.error as error:
            raise ValueError(f"matcher {text!r}: bad regex: {error}") from None
    return Matcher(name, cast(Operator, op), value)


class MentionSpec(BaseModel):
    """Whom a route's cards @: a label holding a Feishu user, fixed users, @all for some severities.

    A user is an open_id (`ou_…`), a user_id, or an email (looked up through the contact API).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str | None = None
    users: tuple[Annotated[str, Field(min_length=1, max_length=200)], ...] = ()
    at_all_severities: tuple[str, ...] = ()

    def who(self, labels: Labels) -> tuple[str, ...]:
        """The users to mention for a group with these labels (label value first, no repeats)."""
        named = [labels[self.label]] if self.label and labels.get(self.label) else []
        seen: dict[str, None] = {}
        for user in [*named, *self.users]:
            for part in user.split(","):
                if part.strip():
                    seen.setdefault(part.strip(), None)
        return tuple(seen)


class RouteSpec(BaseModel):
    """One route as written in the file."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: Annotated[str, Field(min_length=1, max_length=80)]
    matchers: tuple[str, ...] = ()
    chats: Annotated[
        tuple[Annotated[str, Field(pattern=r"^oc_[A-Za-z0-9_-]{1,100}$")], ...], Field(min_length=1)
    ]
    mention: MentionSpec = MentionSpec()
    continue_: bool = Field(default=False, alias="continue")

    @field_validator("matchers")
    @classmethod
    def _parse(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            parse_matcher(text)
        return value


@dataclass(frozen=True)
class Route:
    """A validated route, its matchers parsed."""

    name: str
    matchers: tuple[Matcher, ...]
    chats: tuple[str, ...]
    mention: MentionSpec
    proceed: bool

    def matches(self, labels: Labels) -> bool:
        return all(m.matches(labels) for m in self.matchers)


@dataclass(frozen=True)
class Target:
    """One card to send: the chat, the route that chose it, whom to mention there."""

    chat_id: str
    route: str
    mention: MentionSpec


DEFAULT_ROUTE = "default"


class Router:
    """Ordered routes and the default chat; `targets(event)` is where the group's cards go."""

    def __init__(self, routes: tuple[Route, ...], default_chat: str, default_mention: MentionSpec) -> None:
        self.routes = routes
        self.default = Target(default_chat, DEFAULT_ROUTE, default_mention)

    def targets(self, event: AlertGroupEvent) -> tuple[Target, ...]:
        """Each chat once, in route order; the default chat when no route matches."""
        labels = event.common_labels or event.alerts[0].labels
        chosen: dict[str, Target] = {}
        for route in self.routes:
            if not route.matches(labels):
                continue
            for chat in route.chats:
                chosen.setdefault(chat, Target(chat, route.name, route.mention))
            if not route.proceed:
                break
        return tuple(chosen.values()) or (self.default,)


def parse_routes(text: str, source: str) -> tuple[Route, ...]:
    """The routes of a routes file's text; RoutesError names `source` and the bad route."""
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise RoutesError(f"routes file {source}: not YAML: {error}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("routes", []), list):
        raise RoutesError(f"routes file {source}: expected a mapping with a list under 'routes'")
    routes: list[Route] = []
    names: set[str] = set()
    for index, item in enumerate(raw.get("routes", []), start=1):
        label = item.get("name") if isinstance(item, dict) else None
        where = f"routes file {source}: route {index}" + (f" {label!r}" if label else "")
        try:
            spec = RouteSpec.model_validate(item)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'route'}: {e['msg']}" for e in error.errors()
            )
            raise RoutesError(f"{where}: {problems}") from None
        if spec.name in names:
            raise RoutesError(f"{where}: the name is used by an earlier route")
        names.add(spec.name)
        matchers = tuple(parse_matcher(m) for m in spec.matchers)
        routes.append(Route(spec.name, matchers, spec.chats, spec.mention, spec.continue_))
    return tuple(routes)


def load_routes(path: str | None) -> tuple[Route, ...]:
    """The routes file at `path` (none when unset); RoutesError when it is missing or invalid."""
    if not path:
        return ()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise RoutesError(f"routes file {path}: cannot be read: {error.strerror or error}") from None
    return parse_routes(text, path)
