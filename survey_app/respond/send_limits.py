"""How many answers a survey's open link takes: per client address and per survey, counted
only when answers are sent (not page views or moves between sections), and never for an
invitation, whose link is single-use already.

The limits (`OPEN_LINK_LIMIT_PER_CLIENT`, `OPEN_LINK_LIMIT_PER_SURVEY`) bound how fast anyone
can pad a small practice with answers of known values (docs/data-protection.md, "Padding").
They are counted in the rate limiter's storage (`RATELIMIT_STORAGE_URI`), as the sign-in
limits are.
"""

from __future__ import annotations

import enum
import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many

from survey_app.security import limiter
from survey_app.services.mailing import uk_date_and_time

log = logging.getLogger(__name__)


class Busy(enum.StrEnum):
    """Which limit refused a send."""

    #: Many answers came from the respondent's address (a shared network, say).
    CLIENT = "client"
    #: Many answers came to the survey from everywhere.
    SURVEY = "survey"


@dataclass(frozen=True, slots=True)
class SendRefused:
    """An open-link send the limits refused: which one, and when the next send can go."""

    busy: Busy
    #: UTC, when every limit that refused the send has room again.
    retry_at: datetime

    @property
    def retry_at_text(self) -> str:
        """`retry_at` as a person reads it, in UK time, at the next whole minute (so never too
        early): "Monday 7 December 2026 at 3:05pm"."""
        minute = math.ceil(self.retry_at.timestamp() / 60) * 60
        return uk_date_and_time(datetime.fromtimestamp(minute, UTC))

    @property
    def retry_after_seconds(self) -> int:
        """Seconds from now until `retry_at`, at least 1 (the Retry-After header)."""
        return max(1, math.ceil(self.retry_at.timestamp() - time.time()))


def _limits(setting: str) -> list[RateLimitItem]:
    return parse_many(current_app.config[setting])


def count_open_link_send(slug: str) -> SendRefused | None:
    """Count one open-link send of answers to the survey `slug` against the per-client and the
    per-survey limits; a `SendRefused` when either has no room left (the refused send is not
    counted, unless it raced another for the last place), None when the send may be stored.

    A send is counted before it is stored, so two racing sends cannot both take the last
    place. With rate limits off (`RATELIMIT_ENABLED`) nothing is counted. Should the limits'
    storage fail, the send is let through and the failure logged: answers lost to an outage of
    the counter would be worse than a few sends uncounted.
    """
    if not current_app.config["RATELIMIT_ENABLED"]:
        return None
    client = get_remote_address()
    checks = [
        (Busy.CLIENT, _limits("OPEN_LINK_LIMIT_PER_CLIENT"), ("open-link", slug, client)),
        (Busy.SURVEY, _limits("OPEN_LINK_LIMIT_PER_SURVEY"), ("open-link", slug)),
    ]
    strategy = limiter.limiter
    try:
        for busy, items, keys in checks:
            full = [item for item in items if not strategy.test(item, *keys)]
            if full:
                return _refused(busy, full, keys)
        for busy, items, keys in checks:
            for item in items:
                if not strategy.hit(item, *keys):
                    # Another send took the last place since the test above.
                    return _refused(busy, [item], keys)
    except Exception:  # the storage's own errors (Redis's, say) share no base class
        log.exception("the open-link limits could not be counted; the send is let through")
    return None


def _refused(busy: Busy, full: list[RateLimitItem], keys: tuple[str, ...]) -> SendRefused:
    reset = max(limiter.limiter.get_window_stats(item, *keys).reset_time for item in full)
    return SendRefused(busy, datetime.fromtimestamp(reset, UTC))
