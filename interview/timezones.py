"""The learner's time zone: times are stored in UTC and shown in the learner's own zone.

The zone is the one saved in Settings, else the browser's (app.js keeps it in the `tz` cookie),
else UTC. Only names from the IANA database are accepted, from either source."""
from __future__ import annotations

from datetime import date, datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from interview.models import User

COOKIE = "tz"


@lru_cache(maxsize=1)
def names() -> tuple[str, ...]:
    """Every zone name a learner can choose, sorted (the IANA database that Python ships or finds)."""
    return tuple(sorted(n for n in available_timezones() if "/" in n or n == "UTC"))


def valid(name: str | None) -> bool:
    return bool(name) and name in set(names())


def zone_for(user: User | None, browser_zone: str | None = None) -> ZoneInfo:
    """The zone to show this learner's times in."""
    for name in ((user.time_zone if user is not None else None), browser_zone):
        if name and valid(name):
            return ZoneInfo(name)
    return ZoneInfo("UTC")


def local(moment: datetime, zone: ZoneInfo) -> datetime:
    """A stored moment (naive means UTC) in the learner's zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(zone)


def today(now: datetime, zone: ZoneInfo) -> date:
    """The learner's own date at `now`: what 'today' means for their interview date."""
    return local(now, zone).date()
