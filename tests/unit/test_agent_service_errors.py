"""answer_turn shows only a UserFacingError's text; any other exception becomes an apology (details in the log)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from agent.models import TurnRequest
from agent.service import FRIENDLY_FAILURE, answer_turn
from salesbot.errors import UserFacingError

SECRET = "sqlite:////srv/salesbot/internal.db"


class _Quote(BaseModel):
    quantity: int


def _validation_error() -> ValidationError:
    try:
        _Quote(quantity=SECRET)  # type: ignore[arg-type]
    except ValidationError as error:
        return error
    raise AssertionError("expected a ValidationError")


class _FailingGraph:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def invoke(self, *args: Any, **kwargs: Any) -> Any:
        raise self.error


@pytest.mark.parametrize("make_error", [_validation_error, lambda: ValueError(f"bad value in {SECRET}"),
                                        lambda: KeyError(SECRET)])
@pytest.mark.parametrize(("text", "language"), [("华东人民医院的质保期是多久？", "zh"), ("What is the warranty?", "en")])
def test_an_internal_error_inside_a_turn_never_reaches_the_users_text(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, make_error: Any, text: str, language: str
) -> None:
    monkeypatch.setattr("agent.service.compiled_graph", lambda: _FailingGraph(make_error()))
    result = answer_turn(TurnRequest(text=text, thread_id="t-errors"))
    assert result.answer == FRIENDLY_FAILURE[language] and result.route == "error"
    assert SECRET not in result.model_dump_json() and "validation error" not in result.answer
    assert SECRET in caplog.text  # the details go to the log


def test_a_value_error_while_deciding_a_typed_command_is_hidden_too(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_decision(*args: Any, **kwargs: Any) -> Any:
        raise _validation_error()

    monkeypatch.setattr("agent.service.decide_action", failing_decision)
    result = answer_turn(TurnRequest(text="确认 A7K2Q", thread_id="t-errors"))
    assert result.answer == FRIENDLY_FAILURE["zh"] and SECRET not in result.answer


def test_a_user_facing_error_is_shown_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("agent.service.compiled_graph",
                        lambda: _FailingGraph(UserFacingError("roles.yaml: users: unknown role 'chief'")))
    result = answer_turn(TurnRequest(text="What is the warranty?", thread_id="t-errors"))
    assert result.answer == "roles.yaml: users: unknown role 'chief'"
    edit = answer_turn(TurnRequest(text="edit A7K2Q", thread_id="t-errors"))  # a command without changes
    assert edit.answer.startswith("Say what to change") and edit.language == "en"
