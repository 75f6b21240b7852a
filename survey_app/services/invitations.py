"""Single-use invitations: created in batches, looked up by the token in their link."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlmodel import Session, select

from survey_app.models import Invitation, Organisation, Survey
from survey_app.services import ServiceError
from survey_app.services.responses import utcnow

#: 32 random bytes: 256 bits, well over the 128 bits a token must carry.
TOKEN_BYTES = 32
MAX_INVITATIONS_PER_BATCH = 100_000


@dataclass(frozen=True, slots=True)
class IssuedInvitation:
    token: str
    url: str


def token_digest(token: str) -> str:
    """The SHA-256 under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_invitations(
    session: Session, survey: Survey, organisation: Organisation, count: int, public_url: str
) -> list[IssuedInvitation]:
    """`count` new single-use invitations for `organisation`, committed; the tokens are only
    ever in the returned list (the database keeps their digests).

    Refuses (ServiceError) a count outside 1..100,000 and an organisation at a level the
    survey does not take responses for.
    """
    if not 1 <= count <= MAX_INVITATIONS_PER_BATCH:
        raise ServiceError(f"--count must be from 1 to {MAX_INVITATIONS_PER_BATCH:,}, not {count}")
    if organisation.level.value not in survey.levels:
        raise ServiceError(
            f"{organisation.code} is a {organisation.level.value}; {survey.slug} takes "
            f"responses about a {' or '.join(survey.levels)}"
        )
    now = utcnow()
    issued = []
    for _ in range(count):
        token = secrets.token_urlsafe(TOKEN_BYTES)
        session.add(
            Invitation(
                survey_id=survey.id,
                organisation_id=organisation.id,  # type: ignore[arg-type]
                token_sha256=token_digest(token),
                created_at=now,
            )
        )
        issued.append(IssuedInvitation(token, f"{public_url}/s/{survey.slug}/{token}"))
    session.commit()
    return issued


def find_invitation(session: Session, survey: Survey, token: str) -> Invitation | None:
    """The invitation of `survey` whose token is `token`, used or not; None if there is none."""
    if not 20 <= len(token) <= 100:
        return None
    return session.exec(
        select(Invitation).where(
            Invitation.survey_id == survey.id, Invitation.token_sha256 == token_digest(token)
        )
    ).first()
