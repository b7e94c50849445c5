"""Logging set-up: our own lines at the chosen level, libraries kept quiet.

Several libraries log payloads at DEBUG or INFO (slack_sdk response bodies,
Bolt's rejected request bodies, aiosqlite's SQL with parameters). Those may
carry message text or tokens, so they stay at WARNING even with --verbose.
"""

from __future__ import annotations

import logging

_QUIET = ("aiosqlite", "slack_sdk", "slack_bolt", "urllib3", "google", "apscheduler")
# Bolt reads SLACK_BOT_TOKEN itself and warns that our own client wins; it does,
# on purpose (the client carries SLACK_API_URL), so the warning is only noise.
_NOISE = "As you gave `client` as well, `token` will be unused."


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _NOISE


def configure_logging(*, verbose: bool, serving: bool) -> None:
    level = logging.DEBUG if verbose else logging.INFO if serving else logging.WARNING
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    for handler in logging.getLogger().handlers:
        handler.addFilter(_DropNoise())
