"""HTTP clients of the observability backends, all behind one read-only gate (`readonly`)."""
