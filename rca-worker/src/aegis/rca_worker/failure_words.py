"""The words by which a log line says that something failed, and one that says it may be about to.

One vocabulary, two uses: the ranking asks of a log template whether it reports a failure
(`FAILURE_WORDS`, a Python regex), and the Loki evidence tool reads only the lines worth reading
(`LOKI_LINE_FILTER`, a LogQL line filter: the failure words and warnings, since a WARN line often
says what is slow before anything fails). Both are built from `FAILURE_TERMS` and `WARNING_TERMS`,
so a word added here is read from Loki and weighed by the ranking alike.

Each term is a regular expression that means the same to Python's `re` (with `re.ASCII`) and to
RE2, which Loki uses: no lookarounds. Words that end a class name (`NullPointerException`,
`IOError`) have no leading word boundary; short or common words (`oom`, `fail`) have one, so that
`room` or `failover` say nothing.
"""

import re

from aegis.rca_worker.backends.loki import logql_string

FAILURE_TERMS: tuple[str, ...] = (
    r"exception",  # Java/Python class names: NullPointerException, SocketTimeoutException
    r"error",  # IOError, RuntimeError, "error:", "level=error"
    r"\bfail(?:ed|ure|ures|s|ing)?\b",
    r"\bfatal\b",
    r"\bpanic(?:ked|s)?\b",
    r"\btimed? ?outs?\b",  # timeout, timed out, time out
    r"\brefused\b",
    r"\bunavailable\b",
    r"\boom",  # oom, OOMKilled, oom-killer
    r"\bkilled\b",
)
WARNING_TERMS: tuple[str, ...] = (r"\bwarn(?:ing|ings)?\b",)


def _alternatives(terms: tuple[str, ...]) -> str:
    return "(?:" + "|".join(terms) + ")"


FAILURE_WORDS = re.compile(_alternatives(FAILURE_TERMS), re.IGNORECASE | re.ASCII)
"""Whether a line or template reports a failure (`FAILURE_WORDS.search(text)`)."""

LINES_WORTH_READING = "(?i)" + _alternatives(FAILURE_TERMS + WARNING_TERMS)
"""The RE2 pattern of a line that reports a failure or a warning."""


LOKI_LINE_FILTER = f"|~ {logql_string(LINES_WORTH_READING)}"
"""The LogQL line filter that keeps those lines (the pattern quoted as a LogQL string)."""
