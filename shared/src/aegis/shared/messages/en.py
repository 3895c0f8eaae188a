"""Every sentence and label users read in English, keyed; `zh.py` has the same keys."""

MESSAGES: dict[str, str] = {
    # Alert cards (notifier)
    "alert_card.firing": "FIRING",
    "alert_card.resolved": "RESOLVED",
    "alert_card.alerts": "alerts",
    "alert_card.started": "started",
    "alert_card.ended": "ended",
    "alert_card.source": "Source",
    "alert_card.runbook": "Runbook",
    "alert_card.dashboard": "Dashboard",
    "alert_card.silence": "Silence",
    "alert_card.analyse": "Analyse",
    "alert_card.more": "{n} more not listed",
    "alert_card.digest": "Alert digest: {n} groups (coalesced to respect the chat's rate limit)",
    "alert_card.no_at_all": (
        "⚠️ This group does not let the bot @all, so nobody was mentioned "
        "(a group owner can allow everyone to @all in the group settings)"
    ),
    # Answer cards (notifier)
    "reply_card.analysing": "⏳ Analysing",
    "reply_card.answer": "🔎 Root-cause analysis",
    "reply_card.failed": "❌ Analysis failed",
    "reply_card.actions": "Next steps for a human (Aegis never changes the cluster)",
    "reply_card.gaps": "Evidence gaps",
    "reply_card.degraded": "⚠️ Degraded answer",
    "reply_card.model": "model",
    "reply_card.took": "took",
    "reply_card.confidence": "confidence",
    "step.scope": "scope",
    "step.collect": "collect evidence",
    "step.rank": "rank",
    "step.reason": "reason",
    "step.guard": "check",
    # Incident timeline (notifier)
    "timeline.title": "Timeline: {alert}",
    "timeline.fired": "🔥 Fired",
    "timeline.analysed": "🔍 Analysed",
    "timeline.claimed": "🙋 Claimed",
    "timeline.resolved": "✅ Resolved",
    "timeline.lasted": "⏱ Lasted",
    "timeline.none": "—",
    "timeline.by": "{who} at {when}",
    "timeline.cause": "root cause {service} (confidence {confidence:.0%})",
    # Claiming an alert (notifier and gateway)
    "claim.button": "I'm on it",
    "claim.line": "{icon} <at id={open_id}></at> is on it · {when}",
    "claim.by_other": "Already claimed at {when}; the card shows who has it",
    "claim.yours": "You have it; the card now says so",
    "claim.missing": "Cannot claim this card",
    "claim.unrecorded": "Could not claim; retry",
    # Clicking "analyse" on an alert card (gateway)
    "card_click.question": "analyse alert {alertname}",
    "card_click.accepted": "Analysis started; the answer follows here",
    "card_click.refused": "Could not start the analysis; please retry shortly",
    # Remembered incidents
    "ago.day": "{n} day ago",
    "ago.days": "{n} days ago",
    "ago.hour": "{n} hour ago",
    "ago.hours": "{n} hours ago",
    "ago.minute": "{n} minute ago",
    "ago.minutes": "{n} minutes ago",
    "ago.now": "just now",
    "incident.recall": "🧠 Last time: {what} root cause **{cause}** ({when}, confidence {confidence:.0%})",
    "incident.open": " [open]({link})",
    # Analysis progress (rca-worker)
    "scope.line": "{what}, last {minutes} min, model {model}{memo}",
    "scope.with_callees": "{named} and {extra} services they call",
    "scope.every_service": "every service",
    "scope.follow_up": " (following up on this conversation)",
    "collect.counts": "{series} series, {log_templates} log templates, {trace_origins} failing traces",
    "collect.gaps": "; {gaps} gaps",
    "guard.corrections": "{notes} corrections",
    # Answers (rca-worker)
    "answer.usage": (
        'Tell me what to look at, for example: "payment 5xx went up, why?", "checkout latency over the '
        'last hour", "use deepseek on cart". I read Prometheus, Loki and Jaeger (read-only) and answer '
        "with the 1–3 most likely root causes and their evidence."
    ),
    "answer.failed": (
        "The analysis could not be completed after {attempts} attempts: {reason}. Please ask again "
        "later, or narrow the time window or name the service."
    ),
    "answer.top": "Most likely root cause: {service} (confidence {confidence:.0%}).",
    "answer.no_anomaly": "No clear anomaly in the evidence.",
    "answer.check": "A human should check recent changes, resources and logs of {service}",
    "answer.language": "English",
    # Ranked candidates' hypotheses (rca-worker)
    "hypothesis.anomalous": "{service} turned anomalous at {at} UTC",
    "hypothesis.signals": ": {signals}",
    "hypothesis.origins": "the deepest error of {origins} failing traces starts in {service}",
    "hypothesis.log_burst": "log pattern '{template}' burst",
    "hypothesis.log_stopped": "{operation} is still called but no longer logs '{template}'",
    "hypothesis.blamed": "its callers' logs name {service}",
    "hypothesis.cause": ". Its callers' symptoms most likely follow from it.",
    "hypothesis.downstream": ". It may only be suffering from {downstream} downstream.",
    "signal.error_ratio": "error ratio",
    "signal.latency_p95": "p95 latency",
    "signal.latency_p99": "p99 latency",
    "signal.request_rate": "request rate",
    "signal.cpu": "CPU usage",
    "signal.memory": "memory usage",
    "signal.restarts": "restarts",
    "signal.self_time": "self-time in traces",
    "signal.call_gap": "time between its callers and it in traces",
    "signal.calls_stopped": "calls it always made that stopped, in traces",
    "signal.absent": "metrics went silent",
    "signal.error_source": "error ratio, while nothing it calls moved",
    "change.before_onset": "{minutes} min before the anomaly",
    "change.at": "at {clock} UTC",
    "change.rollout": "{service} was rolled out {when} ({detail})",
    "change.oom_killed": "{service}'s container was OOMKilled and restarted at {clock} UTC",
    "change.other": "{service} at {clock} UTC: {detail}",
    "change.aliases": "{service} is named {listed}",
    "change.end": ". ",
    # What the model added (rca-worker)
    "model_line.head": "Model {model}: ",
    "model_line.end": ".",
    "model_line.disagrees": "disagrees with the ranking: puts {first} before {ranked}, citing {against}",
    "model_line.reordered": "reordered the candidates",
    "model_line.kept": "kept the ranking's order",
    "model_line.wrote": "wrote the summary and hypotheses",
    "model_line.looked": "looked closer {looked}×",
    "model_line.cited": " (cited {ids})",
    "model_line.dropped": "{dropped} unsupported item(s) dropped",
    # The guard (rca-worker)
    "guard.for_a_human": "Recommend a human: {action}",
    "guard.recommendation": (
        "Recommend a human decide whether to {action}{target} (Aegis is read-only and changed nothing)."
    ),
    "guard.review": "⚠️ Needs a human's review (changes or deletes resources; Aegis never runs it): ",
    "action.restart": "restart",
    "action.scale": "scale",
    "action.roll_back": "roll back",
    "action.delete": "delete",
    "action.drain": "drain",
    "action.redeploy": "redeploy",
    "action.change": "change",
    "action.carry_out": "carry out this change",
    # Lists
    "list.and": ", ",
    "list.clauses": "; ",
}
