"""Real servers and loopback fakes that the tests, the benchmarks and the demo run against."""
