"""Invitations, responses and their answers."""

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import TypedDict

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, Relationship, SQLModel


class Invitation(SQLModel, table=True):
    """A single-use link to a survey for one organisation.

    Only a SHA-256 digest of the token is stored: a copy of the database does not give anyone a
    working link. For an anonymous survey the invitation is only marked used; nothing on the
    response points back to it.
    """

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="survey.id", index=True)
    #: The wave the invitation is to answer; it works only while that wave is the survey's
    #: current one and open.
    wave_id: int = Field(foreign_key="wave.id", index=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    token_sha256: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime
    #: When the invitation was used; for an anonymous survey only the date, so the time of use
    #: cannot be matched to a response's time.
    used_at: datetime | None = None
    #: The invitee's address, to send the link and reminders to. Kept only while the wave is
    #: open: closing the wave (by hand or by its date) clears it.
    email: str | None = Field(default=None, max_length=320)
    #: When the invitation was emailed, and when last reminded (UTC).
    sent_at: datetime | None = None
    reminded_at: datetime | None = None


class Response(SQLModel, table=True):
    __table_args__ = (
        Index("ix_response_survey_org", "survey_id", "organisation_id"),
        # Also the index for a wave's responses (its leading column).
        Index("ix_response_wave_org", "wave_id", "organisation_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="survey.id")
    #: The wave of the survey the response answered.
    wave_id: int = Field(foreign_key="wave.id")
    #: The organisation the response is about: the placement, or the leader's ICB.
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    #: UTC. For an anonymous survey only the date (midnight UTC), so that no response can be matched
    #: to an invitation by the moment it was used.
    submitted_at: datetime
    #: The respondent agreed to be quoted by name (only asked by surveys that ask it).
    on_record: bool = False
    #: The question id of likert_values' first character; None if the survey had no Likert
    #: questions when the response was stored.
    likert_first_question_id: int | None = None
    #: The response's Likert answers as `likert_vector_columns` wrote them from its answers
    #: when it was stored, for the summaries to read one row per response; the Answer rows stay
    #: the record. None only if stored without them, which the summaries refuse.
    likert_values: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    #: The random key of the form page the answers were sent from, so a form sent again (after
    #: a lost connection, or a double click) is recognised instead of stored twice. Drawn
    #: afresh for every page shown, it says nothing about who answered. None for imports.
    submission_key: str | None = Field(default=None, max_length=64, unique=True, index=True)

    answers: list["Answer"] = Relationship(
        back_populates="response", sa_relationship_kwargs={"cascade": "all, delete-orphan"}
    )


class Answer(SQLModel, table=True):
    """One answered question of a response; unanswered questions have no row."""

    __table_args__ = (
        Index("ix_answer_response_question", "response_id", "question_id", unique=True),
        Index("ix_answer_question_value", "question_id", "value"),
    )

    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="response.id", ondelete="CASCADE")
    question_id: int = Field(foreign_key="question.id")
    #: The scale value of a Likert answer.
    value: int | None = None
    option_id: int | None = Field(default=None, foreign_key="choiceoption.id")
    text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))

    response: "Response" = Relationship(back_populates="answers")


class SavedAnswers(SQLModel, table=True):
    """The answers an invitee has given so far and not yet sent, so that the same link
    resumes the survey in any browser.

    While it exists it ties answers to an invitation, so it never outlives the answering: it is
    deleted in the transaction that stores the response and marks the invitation used, and when
    the invitation's wave closes.
    """

    id: int | None = Field(default=None, primary_key=True)
    invitation_id: int = Field(
        foreign_key="invitation.id", unique=True, index=True, ondelete="CASCADE"
    )
    #: A JSON object: each answered form field's name and its value as the form sent it.
    answers: str = Field(sa_column=Column(Text, nullable=False))
    #: The first page (from 0) the invitee has not completed, where the link resumes; the
    #: number of pages means every page was completed and "check your answers" is next.
    page: int = 0
    #: UTC.
    saved_at: datetime


class HeldSubmission(SQLModel, table=True):
    """An invited answer to an anonymous survey, sealed until it is released into `response`.

    The claim stores it in the transaction that marks the invitation used, so the two rows share
    that transaction; the response and answers are written later by a release, in batches of
    submissions shuffled together, by a transaction that touches no invitation. It therefore
    holds no invitation reference and no time finer than the date, and its id is random.
    """

    #: 32 random hexadecimal digits: says nothing about order.
    id: str = Field(primary_key=True, max_length=32)
    survey_id: int = Field(foreign_key="survey.id")
    wave_id: int = Field(foreign_key="wave.id", index=True)
    #: The organisation the answers are about, as on the response (and in the payload): the
    #: response-rate dashboard counts held answers in its scope with the responses.
    organisation_id: int = Field(foreign_key="organisation.id")
    #: As `Response.submission_key`: the page sent again is recognised while it is held.
    submission_key: str | None = Field(default=None, max_length=64, unique=True, index=True)
    #: The whole submission as one JSON object: the organisation, the date, on_record, the
    #: Likert vector and every answer (`survey_app.services.holding` writes and reads it).
    payload: str = Field(sa_column=Column(Text, nullable=False))


#: In Response.likert_values an answer v is the character chr(LIKERT_ZERO + v), so "0" is no
#: answer and a five-point scale reads as its digits; ASCII holds values up to MAX_LIKERT_VALUE.
LIKERT_ZERO = ord("0")
MAX_LIKERT_VALUE = ord("~") - LIKERT_ZERO


class LikertVectorColumns(TypedDict):
    """The `Response` columns that `likert_vector_columns` fills."""

    likert_first_question_id: int | None
    likert_values: str


def likert_vector_columns(
    likert_question_ids: Collection[int], values: Mapping[int, int]
) -> LikertVectorColumns:
    """The `Response` columns ``likert_first_question_id`` and ``likert_values`` of a response
    giving `values` (question id: scale value) to a survey whose Likert questions are now
    `likert_question_ids`.

    Character i of the vector is the answer to question ``first + i``, "0" where there is none:
    a slot belongs to a question id, not to a position in the survey, so reloading a definition
    never moves one. A question added later has a higher id, past the end of older vectors (read
    as unanswered, as it was); one removed or retyped had no answers, so its slot holds "0";
    ids of other surveys' questions inside the range hold "0" too.

    Refuses (ValueError) a value for a question not among `likert_question_ids` and a value
    outside 1..MAX_LIKERT_VALUE.
    """
    if not likert_question_ids:
        if values:
            raise ValueError(f"Likert answers to questions {sorted(values)} of no Likert question")
        return {"likert_first_question_id": None, "likert_values": ""}
    first = min(likert_question_ids)
    vector = bytearray(b"0" * (max(likert_question_ids) - first + 1))
    for question_id, value in values.items():
        if question_id not in likert_question_ids:
            raise ValueError(f"question {question_id} is not one of the survey's Likert questions")
        if not 1 <= value <= MAX_LIKERT_VALUE:
            raise ValueError(
                f"question {question_id}: the value {value} is outside 1..{MAX_LIKERT_VALUE}"
            )
        vector[question_id - first] = LIKERT_ZERO + value
    return {"likert_first_question_id": first, "likert_values": vector.decode("ascii")}
