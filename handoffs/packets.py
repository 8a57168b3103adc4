"""Check a packet against its template: what is missing, and how complete it is.

Pure functions over the template's items and the packet's JSON, so the rule
is the same for the browser, the API, an import and the admin, and tests need
no database.

- A text item is present when it holds more than white space.
- A rows item is present when it has a row and every row has every part
  filled in; a row with a part missing is named, part by part.
- Completeness is the share of required items present, in whole percent; a
  template with nothing required is complete.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Missing:
    key: str
    text: str


@dataclass(frozen=True)
class Assessment:
    missing: list[Missing]
    required_count: int
    present_count: int

    @property
    def is_complete(self) -> bool:
        return not self.missing

    @property
    def completeness(self) -> int:
        if not self.required_count:
            return 100
        return self.present_count * 100 // self.required_count


def filled(value) -> bool:
    """Text or a number with something in it; lists, objects and flags not."""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int | float):
        return True
    return isinstance(value, str) and value.strip() != ""


def row_gaps(item, rows) -> list[str]:
    """For each row, the labels of its empty parts."""
    gaps = []
    for number, row in enumerate(rows, start=1):
        row = row if isinstance(row, dict) else {}
        empty = [
            part["label"] for part in item.parts if not filled(row.get(part["key"]))
        ]
        if empty:
            gaps.append(f"row {number} lacks {', '.join(empty)}")
    return gaps


def assess_packet(items, packet: dict) -> Assessment:
    """Name every required item the packet lacks; count what it has."""
    missing = []
    required = present = 0
    for item in items:
        value = packet.get(item.key)
        if item.kind == "rows":
            rows = value if isinstance(value, list) else []
            gaps = row_gaps(item, rows)
            is_present = bool(rows) and not gaps
            problem = (
                f"{item.section}: {item.label}: {'; '.join(gaps)}."
                if gaps
                else f"{item.section}: {item.label}: add at least one."
            )
        else:
            is_present = filled(value)
            problem = f"{item.section}: {item.label}: missing."

        if not item.is_required:
            continue
        required += 1
        if is_present:
            present += 1
        else:
            missing.append(Missing(item.key, problem))
    return Assessment(missing=missing, required_count=required, present_count=present)
