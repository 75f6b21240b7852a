"""The codebook matcher: word forms, spellings, exclusions and negation, as an analyst reads."""

from __future__ import annotations

import pytest

from reports.text_coding import ThemeRules, code_answer, tokenise, word_forms

HUBS = ThemeRules(
    "training-hubs",
    "Training hubs",
    ("training hub", "training and education hub", "hub"),
    exclude=("hub and spoke",),
    negation=True,
)
FUNDING = ThemeRules("funding", "Funding", ("fund*", "money", "budget"), exclude=("fundamental*",))
SPACE = ThemeRules("space", "Rooms and space", ("room", "space"), exclude=("room for improvement",))
IT = ThemeRules("it-access", "IT access", ("=IT", "smartcard", "log in", "emis"))
SUPERVISION = ThemeRules(
    "supervision", "Supervision", ("supervis*", "supervisor"), ("unsupported",)
)
VARIETY = ThemeRules("variety", "Variety", ("range ... patients",))


@pytest.mark.parametrize(
    "answer",
    [
        "Our Training Hub is excellent",
        "the training-hub runs it",
        "We fund the traininghub",
        "The training hubs work with universities",
        "Through the hub's fellowship scheme",
        "The Training and Education Hub coordinates placements",
        "The traning hub supports practices",  # one letter missing
        "Our Trainig Hub is small",
        "Not just the training hub but the whole system",
        "We have no money, but the training hub helps",  # "no" is in another clause
    ],
)
def test_training_hub_mentions_in_their_many_spellings(answer: str) -> None:
    assert HUBS.is_mentioned_in(answer)


@pytest.mark.parametrize(
    "answer",
    [
        "We have no training hub at present",
        "We don't have a training hub",
        "We do not have a training hub",
        "Lack of a training hub has held us back",
        "Without any training hub",
        "Our ICB has never had a training hub",
        "A hub and spoke model for urgent care",
        "Training is hard to hubble",  # a longer word is no form of "hub"
    ],
)
def test_negated_and_excluded_hub_mentions_do_not_count(answer: str) -> None:
    assert not HUBS.is_mentioned_in(answer)


def test_negation_applies_only_to_themes_that_ask_for_it() -> None:
    # A complaint about money is a mention of funding, negated or not.
    assert FUNDING.is_mentioned_in("No additional money this year")
    assert FUNDING.is_mentioned_in("Not enough funding for practices")


@pytest.mark.parametrize(
    ("answer", "mentioned"),
    [
        ("Funding is the biggest issue", True),
        ("Underfunded? No: we are funded, just late", True),
        ("Our budgets were cut", True),
        ("Fundng is short", True),  # a misspelling of a word the prefix starts
        ("Fundamentally, practices cannot recruit", False),
        ("The fundamental problem is workload", False),
        ("Finding locums is impossible", False),  # an English word, not a misspelling
    ],
)
def test_funding_word_forms_misspellings_and_other_senses(answer: str, mentioned: bool) -> None:
    assert FUNDING.is_mentioned_in(answer) is mentioned


@pytest.mark.parametrize(
    ("answer", "mentioned"),
    [
        ("There was no room for me to see patients", True),
        ("Rooms were hard to come by", True),
        ("Room for improvement in the rota", False),
        ("Plenty of space to work", True),
        ("A great place to learn", False),  # "place" is a word, not a misspelt "space"
    ],
)
def test_rooms_and_room_for_improvement(answer: str, mentioned: bool) -> None:
    assert SPACE.is_mentioned_in(answer) is mentioned


@pytest.mark.parametrize(
    ("answer", "mentioned"),
    [
        ("IT access was slow", True),
        ("It was a great placement", False),  # "=IT": capitals only
        ("Their I.T. was slow", True),
        ("My smart card took weeks", True),  # a phrase word matches two words written apart
        ("Log-in problems every day", True),
        ("Couldn't login for a week", True),  # a phrase matches its words written as one
        ("EMIS was not set up", True),
        ("Each session was booked", False),  # two words read as one only exactly
    ],
)
def test_it_access_case_joined_and_hyphenated_forms(answer: str, mentioned: bool) -> None:
    assert IT.is_mentioned_in(answer) is mentioned


def test_unsupported_is_not_supervision_and_misspelt_supervision_is() -> None:
    assert not SUPERVISION.is_mentioned_in("I felt completely unsupported")
    assert SUPERVISION.is_mentioned_in("Supervison was patchy")
    assert SUPERVISION.is_mentioned_in("My supervisors were great")


def test_a_gap_allows_a_few_words_within_the_clause() -> None:
    assert VARIETY.is_mentioned_in("A wide range of very different patients")
    assert not VARIETY.is_mentioned_in("A range of learning; patients were kind")
    assert not VARIETY.is_mentioned_in("A range of things to do, and then much later some patients")


def test_answers_are_read_with_case_apostrophes_hyphens_and_contractions_normalised() -> None:
    words = [
        token.lower for token in tokenise("We can\u2019t use the hub\u2019s A.R.R.S money-pot")
    ]
    assert words == ["we", "can", "not", "use", "the", "hub", "arrs", "money", "pot"]


def test_word_forms_are_regular_inflections() -> None:
    assert {"hub", "hubs", "hubbed", "hubbing"} <= word_forms("hub")
    assert {"retire", "retired", "retiring", "retires"} <= word_forms("retire")
    assert {"vacancy", "vacancies"} <= word_forms("vacancy")


def test_an_answer_is_coded_with_every_theme_it_mentions() -> None:
    answer = "The training hub has no budget and there is no room for learners"
    assert code_answer(answer, (HUBS, FUNDING, SPACE, IT)) == {"training-hubs", "funding", "space"}


@pytest.mark.parametrize(
    ("phrases", "exclude", "message"),
    [
        ((), (), "phrases: give at least one phrase"),
        (("training hub$",), (), "phrases[0]: 'training hub$': 'hub$' is not a word"),
        (("hub", "... hub"), (), "phrases[1]: '... hub': a phrase cannot start or end"),
        (("hub",), ("  ",), "exclude[0]: a phrase needs at least one word"),
    ],
)
def test_refusals_name_the_phrase(phrases: tuple, exclude: tuple, message: str) -> None:
    with pytest.raises(ValueError) as refused:
        ThemeRules("x", "X", phrases, exclude)
    assert str(refused.value).startswith("theme 'x': " + message)
