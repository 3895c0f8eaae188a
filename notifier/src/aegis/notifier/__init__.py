"""The notifier: the only Aegis component that sends to Feishu.

Alert cards (with @all), digests in a storm, resolve patches; later also acknowledgements,
progress and RCA replies. Keeping every send in one place is what makes the chat's rate limit,
idempotency and retries enforceable.
"""
