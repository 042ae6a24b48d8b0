"""Trigger filters: exact equality on every listed attribute, as a `x-match: all` binding."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tooling.broker.filters import matches

EVENT = {
    "specversion": "1.0",
    "id": "e-1",
    "source": "/acougue/complete-sale",
    "type": "com.acougue.sale.completed",
    "actor": "u-1",
}

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)
attributes = st.dictionaries(names, st.text(max_size=20), min_size=1, max_size=8)


def test_no_filter_matches_every_event() -> None:
    assert matches({}, EVENT)
    assert matches({}, {})


def test_every_listed_attribute_must_be_equal() -> None:
    assert matches({"type": "com.acougue.sale.completed"}, EVENT)
    assert matches({"type": "com.acougue.sale.completed", "actor": "u-1"}, EVENT)
    assert not matches({"type": "com.acougue.sale.completed", "actor": "u-2"}, EVENT)


def test_extensions_count_as_attributes() -> None:
    assert matches({"actor": "u-1"}, EVENT)
    assert not matches({"actor": "u-1"}, {k: v for k, v in EVENT.items() if k != "actor"})


def test_equality_is_exact_not_prefix_nor_case_insensitive() -> None:
    assert not matches({"type": "com.acougue.sale"}, EVENT)
    assert not matches({"type": "COM.ACOUGUE.SALE.COMPLETED"}, EVENT)
    assert not matches({"type": "com.acougue.sale.completed "}, EVENT)


@given(attributes, st.data())
def test_any_subset_of_an_events_attributes_matches_it(
    event: dict[str, str], data: st.DataObject
) -> None:
    chosen = data.draw(st.lists(st.sampled_from(sorted(event)), unique=True))
    assert matches({name: event[name] for name in chosen}, event)


@given(attributes, st.data())
def test_changing_one_filtered_value_stops_the_match(
    event: dict[str, str], data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(sorted(event)))
    assert not matches({name: event[name] + "x"}, event)
