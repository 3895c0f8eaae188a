"""What Aegis is run against outside production, shared by the tests, the benchmarks and the demo.

`fakes` answer the way Feishu and the model servers do (only where nothing real can run); `harness`
starts the real servers (nats-server, Prometheus, Alertmanager, Loki, VictoriaTraces, llama-server)
and the four services as processes. A distribution of its own, so `python -m demo` and `bench/` run
from installed wheels and nothing imports from `tests/`.
"""
