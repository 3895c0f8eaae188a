"""`aegis`: ask questions, publish test alerts, watch subjects, handle dead letters, run eval."""

import argparse
import asyncio
import sys
from collections.abc import Sequence

from nats.js.errors import NotFoundError

from aegis.cli import dead_letters, history
from aegis.cli.asking import ask, build_question, format_result, parse_since
from aegis.cli.publishing import InputError, parse_alert, publish_alert
from aegis.cli.tailing import tail
from aegis.shared.logging import configure_logging
from aegis.shared.nats import connect_nats
from aegis.shared.questions import MODEL_ALIASES
from aegis.shared.settings import AegisSettings, ConfigError, load_settings
from aegis.shared.streams import Topology, ensure_streams


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aegis", description="Aegis operator tools (NATS_URL selects the server)."
    )
    parser.add_argument("--nats-url", help="NATS server URL (default: $NATS_URL or nats://127.0.0.1:4222)")
    verbs = parser.add_subparsers(dest="verb", required=True)
    publish = verbs.add_parser("publish", help="publish an event")
    kinds = publish.add_subparsers(dest="kind", required=True)
    alert = kinds.add_parser("alert", help="an Alertmanager webhook body or an AlertGroupEvent")
    alert.add_argument("file", help="JSON file, or - for standard input")
    question = verbs.add_parser("ask", help="ask the rca-worker a question and wait for the answer")
    question.add_argument("text", help='the question, e.g. "payment 5xx 变多了，怎么回事？"')
    question.add_argument("--service", action="append", default=[], help="a service to look at (repeatable)")
    question.add_argument("--since", default="15m", help="how far back to look: 30m, 2h, 1d (default 15m)")
    question.add_argument(
        "--model", choices=MODEL_ALIASES, help="model alias (default: the worker's DEFAULT_MODEL)"
    )
    question.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the answer")
    dlq = verbs.add_parser("dlq", help="dead letters: list, show, replay")
    dlq_verbs = dlq.add_subparsers(dest="dlq_verb", required=True)
    listing = dlq_verbs.add_parser("list", help="the newest dead letters")
    listing.add_argument("--subject", help="only those from this original subject, e.g. aegis.alert.firing")
    listing.add_argument("--limit", type=int, default=50)
    show = dlq_verbs.add_parser("show", help="one dead letter in full")
    show.add_argument("seq", type=int, help="its sequence in AEGIS_DLQ (from `aegis dlq list`)")
    again = dlq_verbs.add_parser("replay", help="put dead letters back on their original subject")
    again.add_argument("seq", type=int, nargs="*", help="sequences to replay")
    again.add_argument(
        "--all", action="store_true", help="replay every dead letter (or every one of --subject)"
    )
    again.add_argument("--subject", help="with --all: only this original subject")
    again.add_argument("--keep", action="store_true", help="keep the letters after replaying them")
    remembered = verbs.add_parser("history", help="incident memory: past answered analyses")
    remembered_verbs = remembered.add_subparsers(dest="history_verb")
    recent = remembered_verbs.add_parser("list", help="the newest answered analyses (the default)")
    recent.add_argument("--limit", type=int, default=50)
    one = remembered_verbs.add_parser("show", help="one analysis in full")
    one.add_argument("request_id", help="its request id (from `aegis history list`)")
    verbs.add_parser(
        "eval", help="score the engine on the simulator's scenarios or RCAEval data (aegis eval --help)"
    )
    follow = verbs.add_parser("tail", help="print events on a subject as they pass")
    follow.add_argument("subject", nargs="?", default="aegis.>", help="subject or wildcard (default aegis.>)")
    follow.add_argument("--count", type=int, default=0, help="stop after this many (0: never)")
    return parser


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    with open(path, encoding="utf-8") as file:
        return file.read()


async def _run(args: argparse.Namespace, settings: AegisSettings, text: str) -> int:
    if args.verb == "publish":
        try:
            event = parse_alert(text)
        except InputError as error:
            print(f"aegis publish alert: {error}", file=sys.stderr)
            return 2
        client = await connect_nats(settings, "aegis-cli", attempts=3)
        try:
            await ensure_streams(
                client.jetstream(), Topology(settings.aegis_stream_replicas, settings.alert_dedup_window_s)
            )
            duplicate = await publish_alert(client, event)
        finally:
            await client.close()
        state = "already published (deduplicated)" if duplicate else "published"
        print(
            f"{state}: {event.status} {event.alertname} event_id={event.event_id} alerts={len(event.alerts)}"
        )
        return 0
    if args.verb == "ask":
        return await _ask(args, settings)
    if args.verb == "dlq":
        return await _dlq(args, settings)
    if args.verb == "history":
        return await _history(args, settings)
    client = await connect_nats(settings, "aegis-cli", attempts=3)
    try:
        await tail(client, args.subject, args.count, sys.stdout)
    finally:
        await client.close()
    return 0


async def _ask(args: argparse.Namespace, settings: AegisSettings) -> int:
    try:
        since = parse_since(args.since)
    except ValueError as error:
        print(f"aegis ask: {error}", file=sys.stderr)
        return 2
    question = build_question(args.text, args.service, since, args.model)
    client = await connect_nats(settings, "aegis-cli", attempts=3)
    try:
        await ensure_streams(
            client.jetstream(), Topology(settings.aegis_stream_replicas, settings.alert_dedup_window_s)
        )
        result = await ask(client, question, args.timeout, sys.stdout)
    finally:
        await client.close()
    if result is None:
        print(f"aegis ask: no answer within {args.timeout:g}s (is an rca-worker running?)", file=sys.stderr)
        return 1
    print(format_result(result))
    return 0 if not result.failed else 1


async def _dlq(args: argparse.Namespace, settings: AegisSettings) -> int:
    client = await connect_nats(settings, "aegis-cli", attempts=3)
    try:
        js = client.jetstream()
        await ensure_streams(js, Topology(settings.aegis_stream_replicas, settings.alert_dedup_window_s))
        if args.dlq_verb == "list":
            dead_letters.print_list(await dead_letters.letters(js, args.subject, args.limit), sys.stdout)
            return 0
        if args.dlq_verb == "show":
            dead_letters.print_letter(await dead_letters.load(js, args.seq), sys.stdout)
            return 0
        if args.all == bool(args.seq):
            print("aegis dlq replay: give sequences, or --all", file=sys.stderr)
            return 2
        chosen = (
            await dead_letters.letters(js, args.subject, limit=1_000_000)
            if args.all
            else [await dead_letters.load(js, seq) for seq in args.seq]
        )
        for stored in chosen:
            again = await dead_letters.replay(js, stored, args.keep)
            note = " (already replayed before)" if again else ""
            print(f"replayed {stored.seq} onto {stored.letter.subject}{note}")
        return 0
    except NotFoundError:
        print("aegis dlq: no such dead letter", file=sys.stderr)
        return 1
    finally:
        await client.close()


async def _history(args: argparse.Namespace, settings: AegisSettings) -> int:
    client = await connect_nats(settings, "aegis-cli", attempts=3)
    try:
        js = client.jetstream()
        if args.history_verb == "show":
            found = await history.record(js, args.request_id)
            if found is None:
                print(f"aegis history: nothing remembered for {args.request_id}", file=sys.stderr)
                return 1
            history.print_record(found, sys.stdout)
            return 0
        history.print_list(await history.records(js, getattr(args, "limit", 50)), sys.stdout)
        return 0
    finally:
        await client.close()


def _eval(argv: list[str]) -> int:
    """`aegis eval …` is the simulator's accuracy benchmark; it ships in aegis-simulator."""
    try:
        from aegis.simulator.eval import main as evaluate
    except ImportError:
        print(
            "aegis eval needs the aegis-simulator distribution (pip install aegis-cli[eval])", file=sys.stderr
        )
        return 2
    return evaluate(argv)


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["eval"]:
        return _eval(words[1:])
    args = build_parser().parse_args(words)
    overrides = {"nats_url": args.nats_url} if args.nats_url else {}
    try:
        settings = load_settings(AegisSettings) if not overrides else AegisSettings(**overrides)
    except ConfigError as error:
        print(f"aegis: {error}", file=sys.stderr)
        return 2
    configure_logging("WARNING", settings.log_format)
    try:
        text = _read(args.file) if args.verb == "publish" else ""
    except OSError as error:
        print(f"aegis: cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_run(args, settings, text))
    except KeyboardInterrupt:
        return 130
    except OSError as error:
        print(f"aegis: cannot reach NATS at {settings.nats_url}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
