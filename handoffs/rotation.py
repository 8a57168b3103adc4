"""The order in which a team's members take leads. Pure functions.

A team's rotation is a fixed sequence of member ids built from their weights
(each member once under plain round-robin). The team stores one counter; the
next lead goes to the first eligible member at or after it, and the counter
moves on to just past that member. Skipped members are not owed anything: a
rep who comes back from leave simply rejoins the sequence, with no burst of
catch-up leads.

The move of the counter depends only on where it stands and on who is
eligible, so it can be written down ahead of time as one step per place in the
sequence (`rotation_steps`). Routing hands those steps to the database, which
moves the counter in a single statement; the member taken is then the one just
before the new counter (`member_before`). That is what lets concurrent intakes
share a rotation without holding the team's row while they write.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Member:
    person_id: int
    weight: int = 1
    open_count: int = 0
    capacity: int | None = None


def weighted_sequence(members: list[Member]) -> list[int]:
    """Interleave members by weight (smooth weighted round-robin).

    Weights 3 and 1 give A A B A rather than A A A B, so a heavy member does
    not take a run of consecutive leads.
    """
    ordered = sorted(members, key=lambda member: member.person_id)
    total = sum(member.weight for member in ordered)
    current = {member.person_id: 0 for member in ordered}
    sequence = []
    for _ in range(total):
        for member in ordered:
            current[member.person_id] += member.weight
        chosen = max(
            ordered, key=lambda member: (current[member.person_id], -member.person_id)
        )
        current[chosen.person_id] -= total
        sequence.append(chosen.person_id)
    return sequence


def rotation_steps(sequence: list[int], eligible: set[int]) -> list[int]:
    """Return how far the counter moves from each place of the sequence.

    From place i the counter moves past the first eligible member at or after
    i, wrapping round: 1 when the member at i is eligible, more for each
    ineligible one skipped. Empty when nobody in the sequence is eligible.
    """
    size = len(sequence)
    steps = [0] * size
    distance = None
    # Walk backwards twice round, so the last places see eligible members
    # at the start of the sequence.
    for index in reversed(range(2 * size)):
        if sequence[index % size] in eligible:
            distance = 0
        elif distance is not None:
            distance += 1
        if index < size:
            if distance is None:
                return []
            steps[index] = distance + 1
    return steps


def member_before(sequence: list[int], position: int) -> int:
    """The member a counter now at `position` has just moved past."""
    return sequence[(position - 1) % len(sequence)]


def next_in_rotation(
    sequence: list[int], position: int, eligible: set[int]
) -> tuple[int | None, int]:
    """Return the next eligible person and the counter after taking them."""
    steps = rotation_steps(sequence, eligible)
    if not steps:
        return None, position
    position += steps[position % len(sequence)]
    return member_before(sequence, position), position


def most_spare_capacity(
    members: list[Member], sequence: list[int], position: int, eligible: set[int]
) -> tuple[int | None, int]:
    """Pick the eligible member with the largest free share of capacity.

    Ties go to whoever is next in the rotation, so equal members still share.
    """
    by_id = {member.person_id: member for member in members}

    def free_share(person_id: int) -> float:
        member = by_id[person_id]
        if not member.capacity:
            return 1.0
        return 1 - member.open_count / member.capacity

    candidates = [person_id for person_id in eligible if person_id in by_id]
    if not candidates:
        return None, position
    best_share = max(free_share(person_id) for person_id in candidates)
    best = {
        person_id for person_id in candidates if free_share(person_id) == best_share
    }
    return next_in_rotation(sequence, position, best)
