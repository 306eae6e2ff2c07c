"""Answer measures: a quantity question asks for money, an age, a duration, a percent or a size."""

from newsdesk.answer.answer_types import asked_measure, gives_measure


def test_measure_asked_and_given() -> None:
    assert asked_measure("How much money did the film make ?") == "money"
    assert gives_measure("money", "It took in $ 5 million .")
    assert not gives_measure("money", "It opened in 5 cities .")
    assert asked_measure("How old is the suspect ?") == "age"
    assert gives_measure("age", "The suspect , 24 , was held .")
    assert asked_measure("How long was he in prison ?") == "duration"
    assert gives_measure("duration", "He served three years .")
    assert asked_measure("Who won the race ?") is None
