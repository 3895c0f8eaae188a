"""Routes: Alertmanager's matcher semantics, route order with `continue`, errors that name the route."""

import pytest

from aegis.notifier.routing import RoutesError, parse_matcher, parse_routes


def test_matchers_follow_alertmanager_semantics() -> None:
    """Regexes are anchored, negations hold for absent labels, quoted values keep escapes."""
    assert parse_matcher('service=~"pay.*"').matches({"service": "payment"})
    assert not parse_matcher('service=~"pay"').matches({"service": "payment"})
    assert parse_matcher('env!="prod"').matches({})
    assert not parse_matcher('env!~"prod|stage"').matches({"env": "stage"})
    assert parse_matcher('msg="a \\"quoted\\" word"').matches({"msg": 'a "quoted" word'})


def test_routes_are_ordered_and_continue_goes_on() -> None:
    """The first match stops unless it says continue; each chat is named once."""
    text = """
routes:
  - {name: a, matchers: ['team="x"'], chats: [oc_a, oc_b], continue: true}
  - {name: b, matchers: ['team="x"'], chats: [oc_b, oc_c]}
  - {name: c, matchers: [], chats: [oc_never]}
"""
    routes = parse_routes(text, "t")
    matched = [r.name for r in routes if r.matches({"team": "x"})]
    assert matched == ["a", "b", "c"]
    assert routes[0].proceed
    assert not routes[1].proceed


@pytest.mark.parametrize(
    ("route", "named"),
    [
        ("{name: bad, matchers: ['team~x'], chats: [oc_a]}", "route 1 'bad'"),
        ("{name: bad, matchers: ['team=~\"(\"'], chats: [oc_a]}", "bad regex"),
        ("{name: bad, chats: [general]}", "chats.0"),
        ("{name: bad, chats: [oc_a], mention: {label: owner, who: x}}", "mention.who"),
        ("{name: bad, chats: []}", "chats"),
    ],
)
def test_an_invalid_route_is_named(route: str, named: str) -> None:
    """Each kind of mistake is reported with the route's position and name."""
    with pytest.raises(RoutesError) as raised:
        parse_routes(f"routes:\n  - {route}\n", "routes.yaml")
    assert "routes file routes.yaml: route 1 'bad'" in str(raised.value)
    assert named in str(raised.value)
