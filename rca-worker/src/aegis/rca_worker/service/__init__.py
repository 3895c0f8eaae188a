"""The rca-worker service: a FastStream app on the shared `rca-worker` pull consumer."""
