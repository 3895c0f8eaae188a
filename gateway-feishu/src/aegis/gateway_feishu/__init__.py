"""Feishu inbound gateway: turns @mentions and "Analyse" card clicks into question events.

Events arrive over lark-oapi's long connection (default) or Feishu's HTTP event callback; each
becomes at most one `QuestionEvent` on `aegis.question.feishu`. The gateway sends nothing to
Feishu itself: the notifier is the only sender.
"""
