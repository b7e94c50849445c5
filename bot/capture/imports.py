"""Running a file import end to end: reader → importer → one summary."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

from bot.capture.email_import import EmailImporter, Exclusions, ImportSummary
from bot.capture.raw_message import FileSkipped, RawMessage
from bot.settings import Settings
from storage.connection import open_db, transaction
from storage.interactions import record_import_run
from storage.people import now_iso, promote_internal_people

logger = logging.getLogger(__name__)


def exclusions_from(settings: Settings) -> Exclusions:
    return Exclusions(
        addresses=frozenset(settings.excluded_addresses),
        domains=settings.excluded_domains,
    )


async def run_file_import(
    settings: Settings, *, kind: str, path: Path
) -> ImportSummary:
    """Import one export file or folder into the database named by settings."""
    async with open_db(settings.db_path) as db:
        async with transaction(db):
            promoted = await promote_internal_people(db, settings.internal_domains)
        if promoted:
            logger.warning(
                "%d people on the firm's domains are now colleagues", promoted
            )
        if kind == "slack-export":
            from bot.capture.slack_export import import_slack_export

            return await import_slack_export(db, path, settings=settings)
        importer = EmailImporter(
            db,
            source=kind,
            internal_domains=settings.internal_domains,
            exclusions=exclusions_from(settings),
        )
        started = now_iso()
        with tqdm(
            desc=f"importing {path.name}", unit=" msg", disable=not sys.stderr.isatty()
        ) as progress:
            messages = _messages(kind, path, on_skip=importer.summary.file_skipped)
            summary = await importer.add_all(messages, progress=progress)
        await record_import_run(
            db,
            source=kind,
            target=str(path),
            started_at=started,
            finished_at=now_iso(),
            counts={
                "imported": summary.imported,
                "duplicates": summary.duplicates,
                "automated": summary.automated,
                "bad": sum(summary.bad.values()),
            },
            details=summary.line(),
        )
    logger.info("%s", summary.line())
    return summary


def _messages(kind: str, path: Path, *, on_skip: FileSkipped) -> Iterator[RawMessage]:
    """Messages of the file or tree at ``path``; what cannot be read goes to on_skip."""
    if kind == "maildir":
        from bot.capture.maildir import iter_maildir

        return iter_maildir(path, on_skip=on_skip)
    from bot.capture.mbox import iter_mbox_tree

    return iter_mbox_tree(path, on_skip=on_skip)
