"""The rotation sequence and pointer: pure functions, no database."""

from itertools import combinations

from handoffs.rotation import (
    Member,
    member_before,
    most_spare_capacity,
    next_in_rotation,
    rotation_steps,
    weighted_sequence,
)


def take(sequence, position, eligible, count):
    """Give `count` leads one after the other; return who took them."""
    taken = []
    for _ in range(count):
        person_id, position = next_in_rotation(sequence, position, eligible)
        taken.append(person_id)
    return taken, position


def test_weighted_sequence_is_each_member_once_by_id_when_weights_are_equal():
    members = [Member(30), Member(10), Member(20)]

    assert weighted_sequence(members) == [10, 20, 30]


def test_weighted_sequence_interleaves_a_heavy_member():
    members = [Member(1, weight=3), Member(2, weight=1)]

    assert weighted_sequence(members) == [1, 1, 2, 1]


def test_weighted_sequence_gives_each_member_its_weight():
    members = [Member(1, weight=2), Member(2, weight=1), Member(3, weight=3)]

    sequence = weighted_sequence(members)

    assert sequence == [3, 1, 2, 3, 1, 3]
    assert [sequence.count(person_id) for person_id in (1, 2, 3)] == [2, 1, 3]


def test_weighted_sequence_is_empty_when_the_team_has_nobody():
    assert weighted_sequence([]) == []


def test_next_in_rotation_goes_round_in_order():
    taken, position = take([1, 2, 3], 0, {1, 2, 3}, 7)

    assert taken == [1, 2, 3, 1, 2, 3, 1]
    assert position == 7


def test_next_in_rotation_continues_from_a_stored_position():
    assert next_in_rotation([1, 2, 3], 5, {1, 2, 3}) == (3, 6)


def test_next_in_rotation_skips_ineligible_members():
    assert next_in_rotation([1, 2, 3], 0, {3}) == (3, 3)


def test_next_in_rotation_finds_nobody_and_keeps_position_when_none_eligible():
    assert next_in_rotation([1, 2, 3], 4, set()) == (None, 4)


def test_next_in_rotation_finds_nobody_when_sequence_is_empty():
    assert next_in_rotation([], 2, {1}) == (None, 2)


def test_returning_member_gets_no_catch_up_burst():
    sequence = [1, 2, 3]

    while_away, position = take(sequence, 0, {1, 3}, 4)
    after_return, position = take(sequence, position, {1, 2, 3}, 6)

    assert while_away == [1, 3, 1, 3]
    assert after_return == [1, 2, 3, 1, 2, 3]


def test_rotation_steps_are_one_where_the_member_is_eligible():
    assert rotation_steps([1, 2, 3], {1, 2, 3}) == [1, 1, 1]


def test_rotation_steps_skip_ineligible_members_and_wrap_round():
    assert rotation_steps([1, 2, 3, 4], {1, 3}) == [1, 2, 1, 2]


def test_rotation_steps_are_empty_when_nobody_is_eligible():
    assert rotation_steps([1, 2, 3], set()) == []
    assert rotation_steps([], {1}) == []


def test_member_before_names_the_member_the_counter_just_passed():
    assert member_before([1, 2, 3], 1) == 1
    assert member_before([1, 2, 3], 3) == 3
    assert member_before([1, 2, 3], 7) == 1


def test_one_step_takes_the_member_a_walk_along_the_sequence_finds():
    sequence = weighted_sequence(
        [Member(1, weight=2), Member(2, weight=1), Member(3, weight=3)]
    )
    eligible_sets = [
        set(group) for size in (1, 2, 3) for group in combinations((1, 2, 3), size)
    ]

    for eligible in eligible_sets:
        steps = rotation_steps(sequence, eligible)
        for position in range(2 * len(sequence)):
            walked = position
            while sequence[walked % len(sequence)] not in eligible:
                walked += 1
            moved = position + steps[position % len(sequence)]

            assert moved == walked + 1
            assert member_before(sequence, moved) == sequence[walked % len(sequence)]


def test_most_spare_capacity_picks_the_largest_free_share():
    members = [
        Member(1, open_count=1, capacity=2),
        Member(2, open_count=1, capacity=4),
        Member(3, open_count=0, capacity=1),
    ]

    chosen = most_spare_capacity(members, [1, 2, 3], 0, {1, 2})

    assert chosen == (2, 2)


def test_most_spare_capacity_counts_no_limit_as_all_free():
    members = [Member(1, open_count=0, capacity=5), Member(2, open_count=40)]

    assert most_spare_capacity(members, [1, 2], 0, {1, 2}) == (1, 1)
    assert most_spare_capacity(members, [1, 2], 1, {1, 2}) == (2, 2)


def test_most_spare_capacity_breaks_ties_by_rotation():
    members = [Member(1, open_count=1, capacity=2), Member(2, open_count=2, capacity=4)]

    first = most_spare_capacity(members, [1, 2], 0, {1, 2})
    second = most_spare_capacity(members, [1, 2], first[1], {1, 2})

    assert first == (1, 1)
    assert second == (2, 2)


def test_most_spare_capacity_finds_nobody_when_none_eligible():
    members = [Member(1, capacity=3)]

    assert most_spare_capacity(members, [1], 3, set()) == (None, 3)
