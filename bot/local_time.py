"""Wall-clock moments in a person's own time zone, correct across DST changes."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

logger = logging.getLogger(__name__)


@lru_cache(maxsize=512)
def zone(name: str | None, default: str) -> ZoneInfo:
    """The person's zone, or `default` when Slack gave none or one we cannot read."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            logger.warning("Unknown time zone %r; using %s", name, default)
    return ZoneInfo(default)


def at_hour(day: date, hour: int, tz: ZoneInfo) -> datetime:
    """`hour`:00 local on `day`, as an aware datetime.

    Built from the calendar day and the zone rather than by adding hours to
    another moment, so 9:00 stays 9:00 on both sides of a DST change. An hour
    skipped by a spring-forward change lands one hour later (zoneinfo's fold=0).
    """
    return datetime.combine(day, time(hour), tzinfo=tz)


def last_weekly(now: datetime, *, tz: ZoneInfo, weekday: int, hour: int) -> datetime:
    """The latest `weekday` at `hour`:00 local that is not after `now`."""
    local = now.astimezone(tz)
    day = local.date() - timedelta(days=(local.weekday() - weekday) % 7)
    moment = at_hour(day, hour, tz)
    if moment > now:
        moment = at_hour(day - timedelta(days=7), hour, tz)
    return moment
