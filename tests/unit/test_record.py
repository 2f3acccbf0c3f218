"""The record on the HAVIP's tags is a security boundary: only entries this function signed, for
this HAVIP and this node, with this value, are trusted; anything else is ignored with a reason,
and nothing a tag holds can make parsing fail."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from havip_failover import record
from havip_failover.record import Forced, RecordKey, Removal

KEY = RecordKey("k" * 32 + "-the-function's-own-record-key")
OTHER_KEY = RecordKey("an-attacker's-guess-of-the-key-0123456789")
HAVIP = "havip-bp1pair0000000001"
NODE = "i-bp1master000000001"
STANDBY = "i-bp1standby00000001"
NOW = 1_800_000_000.0


def removal(**kw: object) -> Removal:
    fields: dict[str, object] = {
        "node": NODE,
        "state": "removed",
        "at": NOW - 600,
        "held": 2,
        "left": record.left_digest([STANDBY]),
        "up_since": None,
    }
    fields.update(kw)
    return Removal(**fields)  # type: ignore[arg-type]


def signed(tag: str, body: str) -> str:
    return f"{body};{KEY.sign(HAVIP, tag, body)}"


def parse(*tags: tuple[str, str], key: RecordKey = KEY, havip: str = HAVIP, now: float = NOW) -> record.Record:
    return record.parse(tags, havip, key, now)


def test_an_entry_the_function_wrote_is_read_back_as_written() -> None:
    r = removal(up_since=NOW - 60)
    rec = parse(record.removal_tag(KEY, HAVIP, r), record.forced_tag(KEY, HAVIP, Forced(NOW - 600, NODE)))
    assert rec.removals == {NODE: r}
    assert rec.forced == Forced(NOW - 600, NODE)
    assert rec.ignored == ()


def test_the_pair_state_and_a_drill_are_read_back_and_cannot_be_forged() -> None:
    pair = record.PairState("degraded", NOW - 60)
    drill = record.Drill(NOW - 5, STANDBY)
    rec = parse(record.pair_tag(KEY, HAVIP, pair), record.drill_tag(KEY, HAVIP, drill))
    assert (rec.pair, rec.drill, rec.ignored) == (pair, drill, ())
    assert rec.public()["pair"] == {"state": "degraded", "since": "2027-01-15T07:59:00Z"}
    forged = parse(
        record.pair_tag(OTHER_KEY, HAVIP, pair),
        record.drill_tag(KEY, "havip-bp1other000000001", drill),
    )
    assert (forged.pair, forged.drill, len(forged.ignored)) == (None, None, 2)


def test_a_tag_value_fits_the_tag_service() -> None:
    eni = "eni-" + "a" * 40
    tag, value = record.removal_tag(KEY, HAVIP, removal(node=eni, held=10, up_since=NOW, state="removing"))
    assert len(tag) <= 128 and len(value) <= record.MAX_VALUE
    assert "http://" not in value and not value.lower().startswith(("aliyun", "acs:"))


@pytest.mark.parametrize(
    ("tags", "why"),
    [
        # class 1: a tag someone else wrote (anyone who may tag the HAVIP)
        ([(record.REMOVED + NODE, "1800000000/2")], "not an entry of this function"),
        ([(record.FORCED, "1800000000")], "not an entry of this function"),
        # signed with another key
        ([record.removal_tag(OTHER_KEY, HAVIP, removal())], "does not verify"),
        # a genuine entry copied from another HAVIP
        ([record.removal_tag(KEY, "havip-bp1other000000001", removal())], "does not verify"),
        # a genuine value moved to another node's key
        ([(record.REMOVED + STANDBY, record.removal_tag(KEY, HAVIP, removal())[1])], "does not verify"),
        # a genuine entry with its value edited (a later time, a larger size, another state)
        (
            [(record.REMOVED + NODE, record.removal_tag(KEY, HAVIP, removal())[1].replace(";2;", ";3;"))],
            "does not verify",
        ),
        (
            [(record.REMOVED + NODE, record.removal_tag(KEY, HAVIP, removal())[1].replace("removed", "removing"))],
            "does not verify",
        ),
        # class 2: a size that str.isdigit() accepts and int() does not (a superscript two), unsigned
        # and even signed with the key (which the function itself never writes)
        ([(record.REMOVED + NODE, "v1;removed;2027-01-15T08:00:00Z;\u00b2;a83bba058011;-;" + "A" * 22)], "verify"),
        (
            [
                (
                    record.REMOVED + NODE,
                    signed(record.REMOVED + NODE, "v1;removed;2027-01-15T08:00:00Z;\u00b2;a83bba058011;-"),
                )
            ],
            "malformed",
        ),
        (
            [(record.REMOVED + NODE, signed(record.REMOVED + NODE, "v1;gone;2027-01-15T08:00:00Z;2;a83bba058011;-"))],
            "unknown state",
        ),
        (
            [(record.REMOVED + NODE, signed(record.REMOVED + NODE, "v1;removed;1800000000;2;a83bba058011;-"))],
            "not a time",
        ),
        (
            [
                (
                    record.REMOVED + NODE,
                    signed(
                        record.REMOVED + NODE, "v1;removed;2027-01-15T08:00:00Z;2;a83bba058011;2027-01-15T07:00:00Z"
                    ),
                )
            ],
            "before it was removed",
        ),
        ([(record.REMOVED + "not-a-node", "whatever")], "not an instance or ENI id"),
        ([(record.PREFIX + "up:" + NODE, "1800000000")], "not a key this function writes"),
        ([(record.REMOVED + NODE, "x" * 500)], "longer than a tag value"),
    ],
)
def test_an_entry_it_cannot_trust_is_ignored_with_the_reason(tags: list[tuple[str, str]], why: str) -> None:
    rec = parse(*tags)
    assert rec.removals == {} and rec.forced is None
    assert len(rec.ignored) == 1 and why in rec.ignored[0].why


def test_entries_written_up_to_the_clock_skew_ahead_still_count() -> None:
    # one FC instance's clock a few seconds (or minutes) ahead of another's
    ahead = removal(at=NOW + 5, state="removing")
    rec = parse(record.removal_tag(KEY, HAVIP, ahead))
    assert NODE in rec.removals and rec.in_flight(NOW) == {NODE}
    edge = removal(at=NOW + record.CLOCK_SKEW - 1, state="removing")
    assert NODE in parse(record.removal_tag(KEY, HAVIP, edge)).removals


def test_an_entry_from_far_in_the_future_is_absurd() -> None:
    far = removal(at=NOW + record.CLOCK_SKEW + 60)
    rec = parse(record.removal_tag(KEY, HAVIP, far), record.forced_tag(KEY, HAVIP, Forced(NOW + 3600, NODE)))
    assert rec.removals == {} and rec.forced is None
    assert all("in the future" in i.why for i in rec.ignored) and len(rec.ignored) == 2


def test_only_an_unconfirmed_recent_removal_is_in_flight() -> None:
    rec = parse(
        record.removal_tag(KEY, HAVIP, removal(node=NODE, state="removing", at=NOW - 10)),
        record.removal_tag(KEY, HAVIP, removal(node=STANDBY, state="removed", at=NOW - 10)),
        record.removal_tag(KEY, HAVIP, removal(node="i-bp1third0000000001", state="removing", at=NOW - 400)),
    )
    assert rec.in_flight(NOW) == {NODE}
    assert rec.in_flight(NOW, besides=NODE) == frozenset()


def test_a_rotated_key_keeps_trusting_what_the_previous_one_signed() -> None:
    old = RecordKey("the-old-record-key-0123456789abcdef")
    written = record.removal_tag(old, HAVIP, removal())
    rotating = RecordKey("the-new-record-key-0123456789abcdef", "the-old-record-key-0123456789abcdef")
    assert NODE in parse(written, key=rotating).removals
    # and once the previous key is dropped, those entries are no longer trusted
    assert parse(written, key=RecordKey("the-new-record-key-0123456789abcdef")).removals == {}
    # new entries are signed with the new key
    assert (
        NODE
        in parse(
            record.removal_tag(rotating, HAVIP, removal()), key=RecordKey("the-new-record-key-0123456789abcdef")
        ).removals
    )


def test_the_key_is_never_shown() -> None:
    assert "k" * 32 not in repr(KEY)
    with pytest.raises(ValueError, match="at least 32"):
        RecordKey("short")


def test_the_public_record_shows_times_for_people() -> None:
    rec = parse(record.removal_tag(KEY, HAVIP, removal(up_since=NOW - 60)), ("havip-failover:removed:i-x1", "bad"))
    public = rec.public()
    entry = public["removed"][NODE]  # type: ignore[index]
    assert entry["at"] == "2027-01-15T07:50:00Z" and entry["atEpoch"] == int(NOW - 600)
    assert entry["upSince"] == "2027-01-15T07:59:00Z"
    assert public["ignored"] == [{"key": "havip-failover:removed:i-x1", "why": rec.ignored[0].why}]


@settings(max_examples=300, deadline=None)
@given(
    tags=st.lists(
        st.tuples(
            st.one_of(
                st.sampled_from([record.FORCED, record.REMOVED + NODE, record.PREFIX + "x"]), st.text(max_size=40)
            ),
            st.one_of(
                st.text(max_size=200),
                st.builds(
                    ";".join,
                    st.lists(
                        st.one_of(st.sampled_from(["v1", "removed", "removing", "-", "2"]), st.text(max_size=30)),
                        max_size=9,
                    ),
                ),
            ),
        ),
        max_size=25,
    )
)
def test_no_tag_makes_the_record_fail_or_trusts_a_forgery(tags: list[tuple[str, str]]) -> None:
    rec = parse(*tags)  # never raises, whatever the tags hold
    assert rec.removals == {} and rec.forced is None  # nothing unsigned is ever trusted
    assert {i.key for i in rec.ignored} <= {k for k, _ in tags}
