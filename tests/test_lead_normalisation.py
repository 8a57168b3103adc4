"""Normalisation of raw lead submissions: pure, no database."""

import pytest

from handoffs.normalisation import normalise_submission


def test_email_is_lower_cased_and_trimmed():
    clean = normalise_submission({"email": "  Zoe.Doe@Example.ORG \n"})

    assert clean.errors == {}
    assert clean.values["email"] == "zoe.doe@example.org"


def test_email_domain_is_the_registered_domain_of_a_subdomain():
    clean = normalise_submission({"email": "zoe@mail.eu.Acme.co.uk"})

    assert clean.values["email_domain"] == "acme.co.uk"


def test_email_domain_is_the_domain_itself_when_registered():
    clean = normalise_submission({"email": "zoe@acme.com"})

    assert clean.values["email_domain"] == "acme.com"


def test_email_is_refused_naming_the_field_when_invalid():
    clean = normalise_submission({"email": "zoe@"})

    assert clean.errors == {
        "email": [
            "Not a valid e-mail address: There must be something after the @-sign."
        ]
    }


def test_email_is_required_when_missing_and_no_external_id():
    clean = normalise_submission({"first_name": "Zoë"})

    assert clean.errors == {"email": ["This field is required."]}


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("Germany", "DE"),
        ("germany", "DE"),
        ("DE", "DE"),
        ("de", "DE"),
        ("DEU", "DE"),
        ("Deutschland", "DE"),
        ("United Kingdom", "GB"),
        ("UK", "GB"),
        ("England", "GB"),
        ("U.S.A.", "US"),
        ("United States of America", "US"),
        ("  Österreich ", "AT"),
        ("Korea, Republic of", "KR"),
    ],
)
def test_country_is_recognised_from_names_codes_and_aliases(raw, code):
    clean = normalise_submission({"email": "zoe@acme.com", "country": raw})

    assert clean.errors == {}
    assert clean.values["country"] == code


def test_country_is_refused_naming_the_field_when_unknown():
    clean = normalise_submission({"email": "zoe@acme.com", "country": "Atlantis"})

    assert clean.errors == {"country": ["'Atlantis' is not a known country."]}
    assert clean.values["country"] == ""


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("de", "de"),
        ("de-AT", "de"),
        ("DE_ch", "de"),
        ("deu", "de"),
        ("German", "de"),
        ("en", "en"),
        ("en-GB", "en"),
        ("English", "en"),
        ("fr_CA", "fr"),
        ("pt-BR", "pt"),
        ("Swedish", "sv"),
    ],
)
def test_language_is_recognised_from_tags_codes_and_names(raw, code):
    clean = normalise_submission({"email": "zoe@acme.com", "language": raw})

    assert clean.errors == {}
    assert clean.values["language"] == code


def test_language_is_refused_naming_the_field_when_unknown():
    clean = normalise_submission({"email": "zoe@acme.com", "language": "Klingon"})

    assert clean.errors == {"language": ["'Klingon' is not a known language."]}
    assert clean.values["language"] == ""


@pytest.mark.parametrize(
    "placeholder",
    ["Select", "select", "unknown", "Unknown", " N/A ", "--", "None", "null"],
)
def test_placeholder_becomes_empty(placeholder):
    clean = normalise_submission(
        {
            "email": "zoe@acme.com",
            "country": placeholder,
            "language": placeholder,
            "job_title": placeholder,
            "city": placeholder,
            "employee_count": placeholder,
            "do_not_call": placeholder,
        }
    )

    assert clean.errors == {}
    assert clean.values["country"] == ""
    assert clean.values["language"] == ""
    assert clean.values["job_title"] == ""
    assert clean.values["city"] == ""
    assert clean.values["employee_count"] is None
    assert clean.values["do_not_call"] is False


def test_email_placeholder_counts_as_missing():
    clean = normalise_submission({"email": "unknown"})

    assert clean.errors == {"email": ["This field is required."]}


@pytest.mark.parametrize(
    ("raw", "flag"),
    [
        ("Yes", True),
        ("yes", True),
        ("No", False),
        ("True", True),
        ("false", False),
        ("1", True),
        ("0", False),
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        ("", False),
    ],
)
def test_boolean_is_parsed(raw, flag):
    clean = normalise_submission({"email": "zoe@acme.com", "do_not_email": raw})

    assert clean.errors == {}
    assert clean.values["do_not_email"] is flag


def test_boolean_is_refused_when_neither_yes_nor_no():
    clean = normalise_submission({"email": "zoe@acme.com", "do_not_call": "maybe"})

    assert clean.errors == {"do_not_call": ["Must be yes or no."]}


def test_unknown_fields_are_refused_each_by_name():
    clean = normalise_submission(
        {"email": "zoe@acme.com", "password": "x", "Email": "zoe@acme.com"}
    )

    assert clean.errors == {
        "Email": ["Unknown field."],
        "password": ["Unknown field."],
    }


@pytest.mark.parametrize(
    ("raw", "count"), [("500", 500), ("1,200", 1200), ("12.0", 12), (0, 0), (42, 42)]
)
def test_employee_count_is_parsed_as_a_whole_number(raw, count):
    clean = normalise_submission({"email": "zoe@acme.com", "employee_count": raw})

    assert clean.errors == {}
    assert clean.values["employee_count"] == count


@pytest.mark.parametrize("raw", ["12.5", "-3", "many", "nan", "inf"])
def test_employee_count_is_refused_when_not_a_whole_number(raw):
    clean = normalise_submission({"email": "zoe@acme.com", "employee_count": raw})

    assert clean.errors == {"employee_count": ["Must be a whole number, 0 or more."]}
    assert clean.values["employee_count"] is None


@pytest.mark.parametrize(
    ("raw", "intent"), [("0", 0), ("70", 70), ("100", 100), ("69.6", 70)]
)
def test_third_party_intent_is_parsed_from_0_to_100(raw, intent):
    clean = normalise_submission({"email": "zoe@acme.com", "third_party_intent": raw})

    assert clean.errors == {}
    assert clean.values["third_party_intent"] == intent


@pytest.mark.parametrize("raw", ["101", "-1", "high"])
def test_third_party_intent_is_refused_when_out_of_range(raw):
    clean = normalise_submission({"email": "zoe@acme.com", "third_party_intent": raw})

    assert clean.errors == {"third_party_intent": ["Must be a number from 0 to 100."]}


def test_engagement_numbers_are_parsed_and_activity_kept():
    clean = normalise_submission(
        {
            "email": "zoe@acme.com",
            "visits": "6",
            "time_on_site_seconds": "1,800",
            "page_views_per_visit": "2.5",
            "last_activity": "Email Opened",
        }
    )

    assert clean.errors == {}
    assert clean.engagement == {
        "visits": 6.0,
        "time_on_site_seconds": 1800.0,
        "page_views_per_visit": 2.5,
        "last_activity": "Email Opened",
    }


def test_engagement_number_is_refused_when_negative():
    clean = normalise_submission({"email": "zoe@acme.com", "visits": "-2"})

    assert clean.errors == {"visits": ["Must be a number, 0 or more."]}
    assert clean.engagement == {}


def test_source_fields_are_lower_cased_and_whitespace_collapsed():
    clean = normalise_submission(
        {
            "email": "zoe@acme.com",
            "source": " Google  Ads ",
            "utm_medium": "CPC",
            "form_type": "Demo_Request",
            "company_name": "  Acme   Corp ",
        }
    )

    assert clean.values["source"] == "google ads"
    assert clean.values["utm_medium"] == "cpc"
    assert clean.values["form_type"] == "demo_request"
    assert clean.values["company_name"] == "Acme Corp"


def test_text_field_is_refused_when_too_long():
    clean = normalise_submission({"email": "zoe@acme.com", "first_name": "Z" * 101})

    assert clean.errors == {"first_name": ["At most 100 characters."]}


def test_every_bad_field_is_named_at_once():
    clean = normalise_submission(
        {
            "email": "not-an-address",
            "country": "Atlantis",
            "language": "Klingon",
            "employee_count": "lots",
            "do_not_email": "perhaps",
            "favourite_colour": "teal",
        }
    )

    assert sorted(clean.errors) == [
        "country",
        "do_not_email",
        "email",
        "employee_count",
        "favourite_colour",
        "language",
    ]


def test_external_id_replaces_email_but_needs_its_source():
    clean = normalise_submission({"external_id": "00Q5e00000ABC"})

    assert clean.errors == {"external_source": ["Required when external_id is given."]}


def test_control_characters_are_refused_naming_the_field():
    clean = normalise_submission(
        {"email": "zoe@example.org", "first_name": "Zo\x00e", "company_name": "A\x07B"}
    )

    assert clean.errors == {
        "first_name": ["Contains the control character U+0000."],
        "company_name": ["Contains the control character U+0007."],
    }


def test_tabs_and_line_breaks_are_folded_not_refused():
    clean = normalise_submission(
        {"email": "zoe@example.org", "job_title": "VP\tSales\r\n"}
    )

    assert clean.errors == {}
    assert clean.values["job_title"] == "VP Sales"
