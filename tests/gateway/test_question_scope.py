"""Reading the window, a model override and service names from what people type."""

from datetime import UTC, datetime, timedelta

import pytest

from aegis.gateway_feishu.question_scope import model_from_text, services_from_text, window_from_text
from aegis.shared.questions import ModelAlias

# 02:00 UTC is 10:00 in Shanghai.
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
CN = timedelta(hours=8)


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("payment 5xx 变多了，过去30分钟怎么回事？", timedelta(minutes=30)),
        ("过去1小时", timedelta(hours=1)),
        ("过去 10 分钟", timedelta(minutes=10)),
        ("最近2小时", timedelta(hours=2)),
        ("最近一个小时的错误", timedelta(hours=1)),
        ("过去半小时", timedelta(minutes=30)),
        ("近3天", timedelta(days=3)),
        ("1小时内有没有重启", timedelta(hours=1)),
        ("last 30m", timedelta(minutes=30)),
        ("看看last 45 min的日志", timedelta(minutes=45)),
        ("errors over the last 2 hours", timedelta(hours=2)),
        ("since 1h", timedelta(hours=1)),
        ("in the last hour", timedelta(hours=1)),
        ("past 1.5h", timedelta(minutes=90)),
        ("过去30天", timedelta(days=7)),  # capped
        ("payment 挂了吗", timedelta(minutes=15)),  # default
        ("近日 payment 慢", timedelta(minutes=15)),  # "recently", not a span
        ("the last deploy broke it", timedelta(minutes=15)),
    ],
)
def test_relative_windows_end_when_the_message_was_written(text: str, span: timedelta) -> None:
    """Relative phrases count back from the message's own time and are chosen; none: the last 15 minutes."""
    window, chosen = window_from_text(text, NOW)
    assert (window.end, window.end - window.start) == (NOW, span)
    assert chosen == (span != timedelta(minutes=15))


@pytest.mark.parametrize(
    ("text", "start_in_shanghai"),
    [
        ("昨晚10点以后", datetime(2026, 11, 23, 22, 0)),
        ("昨天下午3点半之后", datetime(2026, 11, 23, 15, 30)),
        ("今天早上8点以后", datetime(2026, 11, 24, 8, 0)),
        ("9点以后", datetime(2026, 11, 24, 9, 0)),
        ("11点以后", datetime(2026, 11, 23, 11, 0)),  # not yet 11 today: yesterday's
        ("22:30之后", datetime(2026, 11, 23, 22, 30)),
        ("凌晨两点开始", datetime(2026, 11, 24, 2, 0)),
        ("前天晚上十一点以来", datetime(2026, 11, 22, 23, 0)),
    ],
)
def test_chinese_wall_clock_phrases_read_in_shanghai_time(text: str, start_in_shanghai: datetime) -> None:
    """ "昨晚10点以后" and friends start at that wall-clock time in Asia/Shanghai and end now."""
    window, chosen = window_from_text(text, NOW)
    assert (window.start.replace(tzinfo=None) + CN, window.end) == (start_in_shanghai, NOW)
    assert chosen


@pytest.mark.parametrize(
    ("text", "model"),
    [
        ("用 deepseek 看看", "deepseek"),
        ("用deepseek", "deepseek"),
        ("model=doubao", "doubao"),
        ("请model：glm分析", "glm"),
        ("use qwen please", "qwen"),
        ("换成豆包", "doubao"),
        ("不用大模型，直接给结论", "none"),
        ("no llm", "none"),
        ("用户反馈 payment 慢", None),
        ("deepseek 是什么", None),
    ],
)
def test_model_override(text: str, model: ModelAlias | None) -> None:
    """A model named as a choice overrides DEFAULT_MODEL; merely mentioning one does not."""
    assert model_from_text(text) == model


@pytest.mark.parametrize(
    ("text", "services"),
    [
        ("payment 5xx 变多了", ["payment"]),
        ("Cart 和 payment 都慢", ["cart", "payment"]),
        ("service=checkout,auth 报错", ["checkout", "auth"]),
        ("服务：search 超时", ["search"]),
        ("payment-gateway 慢", ["payment-gateway"]),
        ("payments 页面打不开", []),
        ("没有服务名", []),
    ],
)
def test_service_names(text: str, services: list[str]) -> None:
    """Known names match as whole words (any case); `service=` names any service."""
    assert services_from_text(text, ["payment", "cart", "payment-gateway"]) == services
