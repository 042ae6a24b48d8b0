"""Functions of one domain share their schema's inbox, keyed by the event's (source, id).

Two of them taking the same event type would each skip the other's delivery as a
duplicate, unless all but one name their own `consumer` (`shared.subscriber.Subscriber`).
The manifests cannot say which function names one, so this test pins the overlaps that
exist, each with the functions that take it: a new one fails here, to be given a consumer
(and its test: the function test that delivers one event to both) before it is added."""

from __future__ import annotations

from collections import defaultdict

from tooling.manifests import load_topology

# Per domain, each event type more than one function takes: the functions. Every one but
# post-ledger-entry names itself as the consumer (payables.subscriber, receivables.subscriber;
# tests/functions/test_payables.py and test_receivables.py check main.py's wiring).
SHARED = {
    "finance": {
        "com.acougue.inventory.movement.registered": {"post-ledger-entry", "payables"},
        "com.acougue.payment.approved": {"post-ledger-entry", "receivables"},
        "com.acougue.payment.refunded": {"post-ledger-entry", "receivables"},
        "com.acougue.sale.returned": {"post-ledger-entry", "receivables"},
    },
}


def shared_event_types() -> dict[str, dict[str, set[str]]]:
    topology = load_topology()
    taken: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for trigger in topology.triggers:
        event_type = trigger.filter.get("type")
        target = trigger.subscriber.service
        if event_type is None or target not in topology.services:
            continue  # the event log takes every event, into its own table
        domain = topology.services[target].domain
        taken[domain][event_type].add(target)
    return {
        domain: {kind: names for kind, names in types.items() if len(names) > 1}
        for domain, types in taken.items()
        if any(len(names) > 1 for names in types.values())
    }


def test_event_types_two_functions_of_one_domain_take_are_the_known_ones() -> None:
    assert shared_event_types() == SHARED
