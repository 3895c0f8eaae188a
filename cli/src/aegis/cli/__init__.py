"""The `aegis` command: operator tools that talk to the system only through NATS."""
