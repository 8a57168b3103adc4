"""Whose figures a person may see: the teams behind every report."""

from bowtie.models import Person, Team

MANAGING_ROLES = (Person.Role.MANAGER, Person.Role.REVOPS_ADMIN)
# Roles whose reports cover the whole company, leads without a team included.
ALL_TEAMS_ROLES = (Person.Role.REVOPS_ADMIN, Person.Role.MARKETING_OPS)


def managed_teams(person: Person):
    """Teams a manager heads, their sub-teams and their own; RevOps sees all."""
    if person.role == Person.Role.REVOPS_ADMIN:
        return Team.objects.all()
    headed = Team.objects.filter(head=person)
    return Team.objects.filter(
        pk__in=headed.values("pk").union(
            Team.objects.filter(parent__in=headed).values("pk"),
            Team.objects.filter(pk=person.team_id).values("pk"),
        )
    )


def dashboard_teams(person: Person):
    """Teams whose figures a person may see: all, the managed ones, or their own."""
    if person.role in ALL_TEAMS_ROLES:
        return Team.objects.all()
    if person.role == Person.Role.MANAGER:
        return managed_teams(person)
    return Team.objects.filter(pk=person.team_id)
