"""Mentions through the real lark-oapi contact client against the Feishu fake's contact API."""

from aegis.devkit.fakes.feishu import CONTACT_BATCH_GET_ID_PATH, FakeFeishu
from aegis.devkit.harness.alerts import alert_event
from aegis.notifier.mentions import FeishuContacts, MentionResolver
from aegis.notifier.routing import MentionSpec, Target
from aegis.notifier.sinks import FeishuSink


def _resolver(feishu: FakeFeishu) -> MentionResolver:
    sink = FeishuSink(feishu.app_id, feishu.app_secret, feishu.base_url, 5.0)
    return MentionResolver(FeishuContacts(sink.config), ttl_s=3600)


async def test_emails_become_open_ids_once_and_unknown_users_are_named(feishu: FakeFeishu) -> None:
    """Known emails are mentioned by open_id (looked up once, then cached); unknown ones stay as text."""
    feishu.directory = {f"user{i}@example.com": f"ou_user{i}" for i in range(60)}
    emails = tuple(f"user{i}@example.com" for i in range(60))
    spec = MentionSpec(label="owner", users=(*emails, "ghost@example.com", "li_wei"))
    target = Target("oc_team", "team", spec)
    event = alert_event()
    resolver = _resolver(feishu)
    first = await resolver.mentions(target, event)
    again = await resolver.mentions(target, event)
    assert first == again
    assert first[0] == "<at id=ou_user0></at>"
    assert first[59] == "<at id=ou_user59></at>"
    assert first[60:] == ("@ghost@example.com", "<at id=li_wei></at>")
    assert len(feishu.calls(CONTACT_BATCH_GET_ID_PATH)) == 2  # 60 emails: two batches of at most 50


async def test_without_the_contact_scope_users_are_named_in_plain_text(feishu: FakeFeishu) -> None:
    """Feishu's 99991672 (scope missing) leaves the card with names, not mentions, and no lost user."""
    feishu.contact_scope_granted = False
    feishu.directory = {"alice@example.com": "ou_alice"}
    target = Target("oc_team", "team", MentionSpec(users=("alice@example.com", "ou_bob")))
    marks = await _resolver(feishu).mentions(target, alert_event())
    assert marks == ("@alice@example.com", "<at id=ou_bob></at>")
    assert await _resolver(feishu).mentions(target, alert_event(status="resolved")) == ()
