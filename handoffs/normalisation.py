"""Turn a raw lead submission into clean field values, or say what is wrong.

Every intake door (form, API, CSV import, CRM webhook) calls this one function,
so a value refused in one door is refused in all of them. Pure: no database.
"""

import re
from dataclasses import dataclass, field

import pycountry
from email_validator import EmailNotValidError, validate_email

from bowtie.countries import recognise_country
from bowtie.domains import registered_domain

# Values that forms and CRM exports store when nobody answered.
PLACEHOLDERS = frozenset(
    {"select", "unknown", "n/a", "na", "none", "null", "-", "--", "?", "not provided"}
)
TRUE_WORDS = frozenset({"yes", "y", "true", "t", "1", "on"})
FALSE_WORDS = frozenset({"no", "n", "false", "f", "0", "off", ""})

TEXT_FIELDS = {
    "first_name": 100,
    "last_name": 100,
    "company_name": 200,
    "job_title": 150,
    "phone": 40,
    "city": 120,
    "industry": 100,
    "source": 80,
    "form_type": 40,
    "utm_source": 120,
    "utm_medium": 120,
    "utm_campaign": 200,
    "referral_code": 60,
    "external_source": 60,
    "external_id": 100,
}
ENGAGEMENT_FIELDS = ("visits", "time_on_site_seconds", "page_views_per_visit")
ENGAGEMENT_TEXT_FIELDS = ("last_activity",)
BOOLEAN_FIELDS = ("do_not_email", "do_not_call")
# Lower-cased, so "Google" and "google" are one source.
LOWERCASE_FIELDS = ("source", "form_type", "utm_source", "utm_medium")

ACCEPTED_FIELDS = frozenset(
    {"email", "country", "language", "employee_count", "third_party_intent"}
    | set(TEXT_FIELDS)
    | set(ENGAGEMENT_FIELDS)
    | set(ENGAGEMENT_TEXT_FIELDS)
    | set(BOOLEAN_FIELDS)
)


@dataclass
class CleanSubmission:
    values: dict = field(default_factory=dict)
    engagement: dict = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def add_error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


def blank_if_placeholder(value: object) -> str:
    text = "" if value is None else re.sub(r"\s+", " ", str(value)).strip()
    return "" if text.casefold() in PLACEHOLDERS else text


def recognise_language(text: str) -> str | None:
    """Return the ISO 639-1 code for a language tag ("de-AT") or name."""
    primary = re.split(r"[-_]", text, maxsplit=1)[0].casefold()
    # Codes first: a name lookup of "en" finds the En language, not English.
    language = pycountry.languages.get(alpha_2=primary) or pycountry.languages.get(
        alpha_3=primary
    )
    if language is None:
        try:
            language = pycountry.languages.lookup(text)
        except LookupError:
            return None
    return getattr(language, "alpha_2", None)


def parse_boolean(text: str) -> bool | None:
    folded = text.casefold()
    if folded in TRUE_WORDS:
        return True
    if folded in FALSE_WORDS:
        return False
    return None


def parse_number(text: str) -> float | None:
    try:
        number = float(text.replace(",", ""))
    except ValueError:
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return number


def normalise_submission(raw: dict) -> CleanSubmission:
    """Clean every known field of a submission; unknown fields are refused."""
    clean = CleanSubmission()

    for name in sorted(set(raw) - ACCEPTED_FIELDS):
        clean.add_error(name, "Unknown field.")

    text = {name: blank_if_placeholder(raw.get(name)) for name in ACCEPTED_FIELDS}
    _refuse_control_characters(text, clean)

    _clean_email(text["email"], clean)
    _clean_text_fields(text, clean)
    _clean_country_and_language(text, clean)
    _clean_numbers(text, clean)
    _clean_flags(text, clean)

    if not clean.values.get("email") and not clean.values.get("external_id"):
        if "email" not in clean.errors:
            clean.add_error("email", "This field is required.")
    if clean.values.get("external_id") and not clean.values.get("external_source"):
        clean.add_error("external_source", "Required when external_id is given.")
    return clean


# Whitespace is folded to spaces before this check; what is left of C0 and
# DEL is never part of a name or a company, and PostgreSQL stores no NUL.
CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")


def _refuse_control_characters(text: dict, clean: CleanSubmission) -> None:
    for name, value in text.items():
        found = CONTROL_CHARACTER.search(value)
        if found:
            clean.add_error(
                name, f"Contains the control character U+{ord(found[0]):04X}."
            )
            text[name] = ""


def _clean_email(email: str, clean: CleanSubmission) -> None:
    clean.values["email"] = ""
    clean.values["email_domain"] = ""
    if not email:
        return
    try:
        checked = validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        clean.add_error("email", f"Not a valid e-mail address: {error}")
        return
    clean.values["email"] = checked.normalized.lower()
    clean.values["email_domain"] = registered_domain(checked.domain) or checked.domain


def _clean_text_fields(text: dict, clean: CleanSubmission) -> None:
    for name, max_length in TEXT_FIELDS.items():
        value = text[name]
        if len(value) > max_length:
            clean.add_error(name, f"At most {max_length} characters.")
            continue
        clean.values[name] = value.lower() if name in LOWERCASE_FIELDS else value


def _clean_country_and_language(text: dict, clean: CleanSubmission) -> None:
    clean.values["country"] = ""
    if text["country"]:
        code = recognise_country(text["country"])
        if code is None:
            clean.add_error("country", f"{text['country']!r} is not a known country.")
        else:
            clean.values["country"] = code

    clean.values["language"] = ""
    if text["language"]:
        code = recognise_language(text["language"])
        if code is None:
            clean.add_error(
                "language", f"{text['language']!r} is not a known language."
            )
        else:
            clean.values["language"] = code


def _clean_numbers(text: dict, clean: CleanSubmission) -> None:
    clean.values["employee_count"] = None
    if text["employee_count"]:
        number = parse_number(text["employee_count"])
        if number is None or number < 0 or number != int(number):
            clean.add_error("employee_count", "Must be a whole number, 0 or more.")
        else:
            clean.values["employee_count"] = int(number)

    clean.values["third_party_intent"] = None
    if text["third_party_intent"]:
        number = parse_number(text["third_party_intent"])
        if number is None or not 0 <= number <= 100:
            clean.add_error("third_party_intent", "Must be a number from 0 to 100.")
        else:
            clean.values["third_party_intent"] = round(number)

    for name in ENGAGEMENT_FIELDS:
        if not text[name]:
            continue
        number = parse_number(text[name])
        if number is None or number < 0:
            clean.add_error(name, "Must be a number, 0 or more.")
        else:
            clean.engagement[name] = number
    for name in ENGAGEMENT_TEXT_FIELDS:
        if text[name]:
            clean.engagement[name] = text[name][:200]


def _clean_flags(text: dict, clean: CleanSubmission) -> None:
    for name in BOOLEAN_FIELDS:
        flag = parse_boolean(text[name])
        if flag is None:
            clean.add_error(name, "Must be yes or no.")
        clean.values[name] = bool(flag)
