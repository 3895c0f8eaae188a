"""The bodies of the graph's steps, one module each."""
