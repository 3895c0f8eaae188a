"""Feishu inbound gateway: turns @mentions and card clicks into question events.

Only the distribution exists so far; the service arrives with issue 5. It will send nothing to
Feishu itself: the notifier is the only sender.
"""
