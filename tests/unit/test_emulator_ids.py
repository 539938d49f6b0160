"""One identifier rule in the emulator: stored records and requests are judged by the same function."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hsmconsole.emulator import handlers_common, hsm_types
from hsmconsole.emulator.errors import ApiError
from hsmconsole.emulator.handlers_common import valid_id, valid_user_id
from hsmconsole.emulator.hsm_types import id_problem, is_valid_id, is_valid_user_id

ID_ALPHABET = st.sampled_from("aZ09_.-~é \n/")


@given(st.text(ID_ALPHABET, max_size=6) | st.text(max_size=3) | st.text("ab", min_size=126, max_size=130))
def test_requests_and_stored_records_follow_one_rule(text: str) -> None:
    problem = id_problem(text)
    assert is_valid_id(text) is (problem is None)
    if problem is None:
        assert valid_id(text) == text
    else:
        with pytest.raises(ApiError) as raised:
            valid_id(text)
        assert (raised.value.status, raised.value.message) == (400, problem)
    # User ids (`ns~id`) too.
    try:
        valid_user_id(text)
        accepted = True
    except ApiError:
        accepted = False
    assert accepted is is_valid_user_id(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "ID cannot be shorter than 1 character."),
        ("a" * 129, "ID cannot be longer than 128 characters."),
        ("a b", "ID may only contain alphanumeric characters, underscores, dashes, and dots."),
        ("é", "ID may only contain alphanumeric characters, underscores, dashes, and dots."),
        ("_a", "ID cannot start with underscore, dash, or dot."),
        ("-" * 129, "ID cannot be longer than 128 characters."),  # the device's order of checks
    ],
)
def test_the_device_messages_in_its_order(text: str, message: str) -> None:
    assert id_problem(text) == message
    assert id_problem("a" * 128) is None and id_problem("a.b-c_9") is None


def test_the_rule_is_written_once() -> None:
    # The request validator has no pattern of its own: it asks the model's rule.
    assert not [name for name in vars(handlers_common) if name.startswith("_ID")]
    assert handlers_common.id_problem is hsm_types.id_problem
