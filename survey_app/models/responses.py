"""Invitations, responses and their answers."""

from datetime import datetime

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
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    token_sha256: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime
    #: When the invitation was used; for an anonymous survey only the date, so the time of use
    #: cannot be matched to a response's time.
    used_at: datetime | None = None


class Response(SQLModel, table=True):
    __table_args__ = (Index("ix_response_survey_org", "survey_id", "organisation_id"),)

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="survey.id")
    #: The organisation the response is about: the placement, or the leader's ICB.
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    #: UTC. For an anonymous survey only the date (midnight UTC), so that no response can be matched
    #: to an invitation by the moment it was used.
    submitted_at: datetime
    #: The respondent agreed to be quoted by name (only asked by surveys that ask it).
    on_record: bool = False

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
