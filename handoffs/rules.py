"""Routing-rule conditions: checking them when saved, matching them on leads.

Pure functions over plain dicts, so the rules need no database to test.
Text comparisons ignore case; "in" compares whole values, never substrings.
"""

ROUTABLE_FIELDS = frozenset(
    {
        "country",
        "language",
        "territory",
        "lead_type",
        "source",
        "form_type",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "referral_code",
        "industry",
        "employee_count",
        "score",
        "email_domain",
        "city",
        "company_name",
    }
)
OPERATORS = frozenset(
    {"equals", "not_equals", "in", "not_in", "gte", "lte", "is_empty", "is_not_empty"}
)
LIST_OPERATORS = frozenset({"in", "not_in"})
NUMBER_OPERATORS = frozenset({"gte", "lte"})


def check_conditions(conditions: object) -> list[str]:
    """Return what is wrong with a list of conditions, or an empty list."""
    if not isinstance(conditions, list):
        return ["Conditions must be a list."]

    problems = []
    for position, condition in enumerate(conditions, start=1):
        if not isinstance(condition, dict):
            problems.append(f"Condition {position} must be an object.")
            continue
        field = condition.get("field")
        operator = condition.get("operator")
        value = condition.get("value")
        if field not in ROUTABLE_FIELDS:
            problems.append(f"Condition {position}: unknown field {field!r}.")
        if operator not in OPERATORS:
            problems.append(f"Condition {position}: unknown operator {operator!r}.")
        elif operator in LIST_OPERATORS and not isinstance(value, list):
            problems.append(f"Condition {position}: {operator} needs a list of values.")
        elif operator in NUMBER_OPERATORS and not isinstance(value, int | float):
            problems.append(f"Condition {position}: {operator} needs a number.")
    return problems


def _fold(value: object) -> object:
    return value.casefold() if isinstance(value, str) else value


def condition_matches(condition: dict, fields: dict) -> bool:
    actual = _fold(fields.get(condition["field"]))
    expected = condition.get("value")
    operator = condition["operator"]
    is_empty = actual in (None, "")

    if operator == "is_empty":
        return is_empty
    if operator == "is_not_empty":
        return not is_empty
    if operator == "equals":
        return actual == _fold(expected)
    if operator == "not_equals":
        return actual != _fold(expected)
    if operator == "in":
        return actual in {_fold(item) for item in expected}
    if operator == "not_in":
        return actual not in {_fold(item) for item in expected}
    if is_empty:
        return False
    if operator == "gte":
        return actual >= expected
    return actual <= expected


def conditions_match(conditions: list[dict], fields: dict) -> bool:
    """True when every condition holds; an empty list matches everything."""
    return all(condition_matches(condition, fields) for condition in conditions)
