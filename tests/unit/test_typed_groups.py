"""The ceremony's confirmation reads typing as quorum entry does: O for 0, I or L for 1, any case."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hsmconsole.alphabet import ALPHABET, as_typed
from hsmconsole.ceremony.plan import Ceremony, CeremonyPlan, paper_rows
from hsmconsole.custody.sharecode import decode_text, encode_text

LOOKS = {"0": "Oo", "1": "IiLl"}


def _as_a_person_types(group: str, data: st.DataObject, *, spaced: bool = True) -> str:
    # Drawn independently of the (random) group, so hypothesis sees the same shape each time.
    picks = data.draw(st.lists(st.integers(0, 11), min_size=len(group), max_size=len(group)))
    out = []
    for ch, pick in zip(group, picks, strict=True):
        choices = [ch, ch.lower(), *LOOKS.get(ch, "")]
        out.append(choices[pick % len(choices)])
    return data.draw(st.sampled_from(["", " ", "-"] if spaced else [""])).join(out)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_confirmation_accepts_what_quorum_entry_accepts(data: st.DataObject) -> None:
    plan = CeremonyPlan.single_group(("Alice", "Bob"), 2)
    c = Ceremony(plan)
    c.generate()
    turn = c.turns[0]
    c.reveal("Alice")
    ch = c.challenge("Alice")
    typed = []
    for part in ch.parts:
        issued = turn.shares[part.page]
        group = paper_rows(issued.text, passphrase=False)[part.line - 1][part.column - 1]
        typed.append(_as_a_person_types(group, data))
    assert c.confirm("Alice", typed) == (True,) * len(typed)
    c.abort()


@given(st.binary(min_size=1, max_size=24), st.data())
def test_the_share_decoder_and_as_typed_agree_on_look_alikes(body: bytes, data: st.DataObject) -> None:
    text = encode_text(body)
    typed = " ".join(_as_a_person_types(g, data, spaced=False) for g in text.split())
    assert decode_text(typed, "share") == decode_text(text, "share")  # quorum entry
    assert as_typed(typed) == as_typed(text)  # confirmation and --expect-set
    assert set(as_typed(typed)) <= set(ALPHABET)


def test_o_for_zero_in_a_confirmation_group() -> None:
    assert as_typed("o1-lI") == "0111"
