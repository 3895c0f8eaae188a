"""The "Analyse" button's value: what the notifier puts on an alert card and the gateway reads back.

Feishu returns a button's `value` object unchanged in the `card.action.trigger` event, so these
key names are a contract between two services; it lives here so neither imports the other.
"""

ACTION_KEY = "aegis_action"
ANALYSE = "analyse"
LABELS_KEY = "labels"
STARTS_AT_KEY = "starts_at"
ALERT_EVENT_ID_KEY = "event_id"
CHAT_ID_KEY = "chat_id"
