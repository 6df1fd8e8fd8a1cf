"""Property tests: the fast paths find exactly what the brute-force reference finds.

``ClashEngine.scan`` (interval sweep within buckets) must equal
``brute_force_scan`` (all pairs), and ``check`` of each event against an
``IntervalIndex`` of the others must give exactly the clashes ``scan`` reports
for that event, for random occurrences, rule parameters and hub time zones
(including one with a DST change inside the generated dates).
"""

from __future__ import annotations

from engine_strategies import by_id, configs, occurrence_sets
from hypothesis import HealthCheck, given, settings

from calhub.engine import (
    AudienceParser,
    ClashEngine,
    EngineConfig,
    IntervalIndex,
    Occurrence,
    brute_force_scan,
)
from calhub.engine.titles import TitleFolder


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(occurrences=occurrence_sets(), config=configs())
def test_scan_equals_brute_force(occurrences: list[Occurrence], config: EngineConfig) -> None:
    assert by_id(ClashEngine(config).scan(occurrences)) == by_id(
        brute_force_scan(config, occurrences)
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(occurrences=occurrence_sets(), config=configs())
def test_check_finds_what_scan_reports_for_each_event(
    occurrences: list[Occurrence], config: EngineConfig
) -> None:
    engine = ClashEngine(config)
    everything = by_id(engine.scan(occurrences))
    for event in {occ.event_key for occ in occurrences}:
        mine = [occ for occ in occurrences if occ.event_key == event]
        others = IntervalIndex(occ for occ in occurrences if occ.event_key != event)
        expected = {
            cid: clash
            for cid, clash in everything.items()
            if any(occ.event_key == event for occ in clash.occurrences)
        }
        assert by_id(engine.check(mine, others)) == expected
        # a lookup that still holds the event itself gives the same answer
        assert by_id(engine.check(mine, IntervalIndex(occurrences))) == expected


@settings(max_examples=60, deadline=None)
@given(occurrences=occurrence_sets(), config=configs())
def test_scan_is_order_independent(occurrences: list[Occurrence], config: EngineConfig) -> None:
    engine = ClashEngine(config)
    assert engine.scan(occurrences) == engine.scan(list(reversed(occurrences)))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(occurrences=occurrence_sets(), config=configs())
def test_every_partner_is_admitted_by_its_rules_narrowing(
    occurrences: list[Occurrence], config: EngineConfig
) -> None:
    """The promise that lets the hub's index leave occurrences out of a lookup."""
    rules = {rule.name: rule for rule in ClashEngine(config).rules}
    fold_title = TitleFolder(AudienceParser(config.groups))
    for clash in brute_force_scan(config, occurrences):
        rule = rules[clash.rule]
        for first in clash.occurrences:
            for second in clash.occurrences:
                assert rule.narrowing(first).admits(second, fold_title), (clash, first, second)
