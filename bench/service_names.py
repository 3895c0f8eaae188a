"""How long "which known services does this text name" takes, on the ranking's hot path.

    .venv/bin/python -m bench.service_names [--services 55] [--samples 2000] [--runs 5]

The ranking asks it of every log sample of a bundle (a caller's line "调用payment失败" blames
payment), the guard of every rewritten sentence, the gateway and the scope step of every question.
Prints the best of `--runs` passes as microseconds per text, over `--samples` log-like lines in
Chinese and English naming one of `--services` known names.
"""

import argparse
import random
import time

from aegis.shared.service_names import services_named


def _texts(names: list[str], count: int) -> list[str]:
    rng = random.Random(1)
    lead = ("调用", "call to ", "dial tcp ")
    tail = ("失败", ":8080: connection refused", " failed: status 503")
    return [f"ERROR {rng.choice(lead)}{rng.choice(names)}{rng.choice(tail)} id={i}" for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=55)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    names = [
        *(f"svc-{i}" for i in range(max(0, args.services - 5))),
        "payment",
        "pay",
        "checkout",
        "cart",
        "ad",
    ]
    texts = _texts(names, args.samples)
    best = float("inf")
    for _ in range(args.runs):
        began = time.perf_counter()
        for text in texts:
            services_named(text, names)
        best = min(best, time.perf_counter() - began)
    print(f"services_named: {best / len(texts) * 1e6:.1f} µs per text, {len(names)} known services")


if __name__ == "__main__":
    main()
