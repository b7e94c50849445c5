"""The `rapport` command line: import, whoknows, serve, sync."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.logs import configure_logging
from bot.settings import Settings, SettingsError, load_settings
from storage.connection import StorageError

logger = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    configure_logging(verbose=args.verbose, serving=args.run is _run_serve)
    try:
        settings = load_settings()
        if args.db:
            settings = _with_db(settings, args.db)
        return asyncio.run(args.run(settings, args))
    except SettingsError as exc:
        print(f"rapport: configuration error: {exc}", file=sys.stderr)
        return 2
    except (UsageError, StorageError) as exc:
        print(f"rapport: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`| head`): not an error worth a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print(
            "rapport: interrupted; everything committed so far is kept", file=sys.stderr
        )
        return 130


SYNC_SOURCES = ("slack", "gmail", "calendar")


class UsageError(Exception):
    """Bad command-line input, explained to the user."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rapport", description="Relationship intelligence for your firm, in Slack."
    )
    parser.add_argument("--db", help="SQLite file (default: $RAPPORT_DB or rapport.db)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--version", action="version", version=f"rapport {_version()}")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    imp = sub.add_parser(
        "import",
        help="import metadata from a file export",
        description="Import who-wrote-to-whom metadata (never bodies or subjects)."
        " Importing the same file again changes nothing.",
    )
    imp.add_argument(
        "kind",
        choices=["mbox", "maildir", "slack-export"],
        help="mbox: a Gmail/Takeout mbox file or a folder of them; maildir: a tree"
        " of one-message files; slack-export: a workspace export zip or folder",
    )
    imp.add_argument("path", type=Path, help="the file or folder to import")
    imp.set_defaults(run=_run_import)

    who = sub.add_parser("whoknows", help="who knows a company, domain or person")
    who.add_argument("query", nargs="+", help="a company, domain, address or name")
    who.add_argument("--as-of", type=_parse_as_of, help="evaluate recency at DATE")
    who.add_argument(
        "--limit", type=int, default=5, help="how many colleagues (default 5)"
    )
    who.add_argument("--json", action="store_true", help="print one JSON object")
    who.set_defaults(run=_run_whoknows)

    org = sub.add_parser("org", help="manage organisations")
    org_sub = org.add_subparsers(required=True, metavar="ACTION")
    rename = org_sub.add_parser("rename", help="give an organisation a proper name")
    rename.add_argument("domain", help="one of its domains, e.g. bankofamerica.com")
    rename.add_argument("name", help='the new name, e.g. "Bank of America"')
    rename.set_defaults(run=_run_org_rename)

    serve = sub.add_parser(
        "serve",
        help="run the Slack app (Socket Mode or HTTP)",
        description="Needs SLACK_BOT_TOKEN, and SLACK_APP_TOKEN (Socket Mode) or"
        " SLACK_SIGNING_SECRET (HTTP on PORT, path /slack/events).",
    )
    serve.set_defaults(run=_run_serve)

    sync = sub.add_parser(
        "sync",
        help="capture from Slack, Gmail and Calendar once",
        description="Slack needs SLACK_BOT_TOKEN; Gmail and Calendar need"
        " RAPPORT_GOOGLE_SERVICE_ACCOUNT_FILE or RAPPORT_GOOGLE_OAUTH_TOKENS_DIR.",
    )
    sync.add_argument(
        "source", nargs="?", default="all", choices=["all", *SYNC_SOURCES]
    )
    sync.set_defaults(run=_run_sync)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rapport")
    except PackageNotFoundError:
        return "unknown"


def _parse_as_of(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        moment = moment.astimezone(UTC)
        moment.timestamp()
    except (ValueError, OverflowError, OSError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date like 2001-06-30 or 2001-06-30T12:00"
        ) from None
    if not 1970 <= moment.year <= 2200:
        raise argparse.ArgumentTypeError(f"{text!r} is outside 1970–2200")
    return moment


def _with_db(settings: Settings, db: str) -> Settings:
    from dataclasses import replace

    return replace(settings, db_path=Path(db))


async def _run_import(settings: Settings, args: argparse.Namespace) -> int:
    from bot.capture.imports import run_file_import

    if not args.path.exists():
        raise UsageError(f"{args.path} does not exist")
    if not settings.internal_domains:
        print(
            "rapport: warning: RAPPORT_INTERNAL_DOMAINS is not set, so nobody counts"
            " as a colleague yet; set it (e.g. firm.com) and import again",
            file=sys.stderr,
        )
    from bot.capture.slack_export import SlackExportError
    from storage.connection import StorageError

    try:
        summary = await run_file_import(settings, kind=args.kind, path=args.path)
    except (SlackExportError, StorageError) as exc:
        raise UsageError(str(exc)) from exc
    print(summary.line())
    if getattr(summary, "seen", None) == 0:
        print(
            f"rapport: no messages found in {args.path}; is it a {args.kind}?",
            file=sys.stderr,
        )
        return 1
    return 0


async def _run_whoknows(settings: Settings, args: argparse.Namespace) -> int:
    from bot.answer_text import answer_as_text
    from bot.graph import build_graph
    from bot.queries import build_index, who_knows
    from storage.connection import open_db

    if not 1 <= args.limit <= 100:
        raise UsageError("--limit must be between 1 and 100")
    if str(settings.db_path) != ":memory:" and not settings.db_path.is_file():
        raise UsageError(
            f"no database at {settings.db_path}: import something first "
            "(rapport import mbox PATH) or point RAPPORT_DB / --db at one"
        )
    async with open_db(settings.db_path) as db:
        graph = await build_graph(
            db, as_of=args.as_of, config=settings_scoring(settings)
        )
    answer = who_knows(
        graph, build_index(graph), " ".join(args.query), limit=args.limit
    )
    if args.json:
        print(json.dumps(answer.to_json(), indent=2, ensure_ascii=False))
    else:
        print(answer_as_text(answer))
    return 0 if answer.match else 1


async def _run_org_rename(settings: Settings, args: argparse.Namespace) -> int:
    from bot.identity.organisations import name_key, organisation_domain
    from storage import people
    from storage.connection import open_db

    name = " ".join(args.name.split())
    if not name or len(name) > 200:
        raise UsageError("the new name must be 1 to 200 characters")
    domain = organisation_domain(args.domain) or args.domain.lower()
    async with open_db(settings.db_path) as db:
        org_id = await people.org_id_for_domain(db, domain)
        if org_id is None:
            raise UsageError(f"no organisation has the domain {domain}")
        await people.rename_organisation(db, org_id, name, name_key(name))
    print(f"{domain} is now called {name}")
    return 0


def settings_scoring(settings: Settings):
    from bot.scoring import ScoringConfig

    return ScoringConfig(half_life_days=settings.half_life_days)


async def _run_serve(settings: Settings, args: argparse.Namespace) -> int:
    from bot.server import StartupError, serve

    settings.require_slack()
    try:
        await serve(settings, host=settings.host)
    except StartupError as exc:
        raise UsageError(str(exc)) from exc
    return 0


async def _run_sync(settings: Settings, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from bot.capture.sync import run_capture
    from bot.scheduler import capture_exclusively
    from bot.services import create_services

    sources = SYNC_SOURCES if args.source == "all" else (args.source,)
    services = await create_services(settings)
    try:
        with tqdm(unit=" items", disable=not sys.stderr.isatty()) as bar:

            def progress(source: str, done: int) -> None:
                bar.set_description(source, refresh=False)
                bar.update(done)

            # The same lease as the scheduled capture in `rapport serve`, so
            # a sync by hand never runs beside it on the same database.
            async with capture_exclusively(services) as acquired:
                if not acquired:
                    raise UsageError(
                        "a capture is already running on this database; try later"
                    )
                summaries = await run_capture(
                    services, sources=sources, progress=progress, refresh=False
                )
    finally:
        await services.db.close()
    for summary in summaries:
        print(summary.line())
    return 0 if all(summary.ok for summary in summaries) else 1


if __name__ == "__main__":
    sys.exit(main())
