"""Each user sees the pages in their language and every time in their time zone."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from flask.testing import FlaskClient

from fedipanel.accounts.models import ApiToken, User
from fedipanel.db import db
from tests.helpers import Api, Auth, Factory

# A winter noon in UTC: 13:00 in Amsterdam (+01:00), 07:00 in New York (-05:00).
NOON_UTC = datetime(2026, 1, 15, 12, 0)


def _choose(client: FlaskClient, language: str = "", time_zone: str = "") -> str:
    answer = client.post(
        "/account/preferences",
        data={"language": language, "timeZone": time_zone},
        follow_redirects=True,
    )
    return answer.get_data(as_text=True)


def _token_made_at_noon(app: Flask, factory: Factory, user_id: int) -> None:
    factory.token(user_id)
    with app.app_context():
        for token in db.session.query(ApiToken).filter_by(user_id=user_id):
            token.created_at = NOON_UTC
        db.session.commit()


def test_an_operator_who_chose_dutch_sees_the_pages_in_dutch(
    client: FlaskClient, auth: Auth, factory: Factory
) -> None:
    factory.operator("op@acme.example")
    auth.login("op@acme.example")
    assert "Your account" in client.get("/account").get_data(as_text=True)

    saved = _choose(client, "nl")
    assert "Je taal en tijdzone zijn opgeslagen." in saved  # the flash is already in Dutch
    assert '<html lang="nl">' in saved
    for path, dutch in (
        ("/account", "Taal en tijdzone"),
        ("/configuration", "Opslaan en het plan bekijken"),
        ("/account/tokens", "Nog geen tokens: maak er hierboven een aan"),
        ("/deployments", "<h1>Uitrollen</h1>"),
        ("/maintenance", "Wekelijkse tijdvakken"),
        ("/notices", "Nog geen meldingen: als je aanbieder"),
        ("/account/audit", "Regels worden nooit bewerkt of verwijderd."),
    ):
        page = client.get(path).get_data(as_text=True)
        assert dutch in page, path


def test_the_provider_chooses_dutch_too(client: FlaskClient, auth: Auth, factory: Factory) -> None:
    factory.provider()
    auth.login("admin@provider.example")
    _choose(client, "nl")
    assert "Nog geen updaterondes." in client.get("/rollouts").get_data(as_text=True)
    assert "<h1>Quota</h1>" in client.get("/provider/quotas").get_data(as_text=True)


def test_the_browser_language_counts_until_the_user_chooses(
    client: FlaskClient, auth: Auth, factory: Factory
) -> None:
    factory.provider()  # else the login page sends to the first-run set-up
    dutch = {"Accept-Language": "nl-NL,nl;q=0.9,en;q=0.5"}
    login = client.get("/login", headers=dutch).get_data(as_text=True)
    assert "<h1>Inloggen</h1>" in login
    assert '<html lang="nl">' in login
    german = client.get("/login", headers={"Accept-Language": "de-DE,fr;q=0.5"})
    assert "<h1>Log in</h1>" in german.get_data(as_text=True)  # no catalog: English

    factory.operator("op@acme.example")
    auth.login("op@acme.example")
    assert "Taal en tijdzone" in client.get("/account", headers=dutch).get_data(as_text=True)
    _choose(client, "en")
    assert "Language and time zone" in client.get("/account", headers=dutch).get_data(as_text=True)


def test_the_login_prompt_speaks_the_browser_language(
    client: FlaskClient, factory: Factory
) -> None:
    factory.provider()
    answer = client.get("/account", headers={"Accept-Language": "nl"}, follow_redirects=True)
    assert "Log in om verder te gaan." in answer.get_data(as_text=True)


def test_times_show_in_the_chosen_zone_else_the_browser_zone_else_utc(
    app: Flask, client: FlaskClient, auth: Auth, factory: Factory
) -> None:
    operator_id = factory.operator("op@acme.example")
    _token_made_at_noon(app, factory, operator_id)
    auth.login("op@acme.example")
    assert "12:00" in client.get("/account/tokens").get_data(as_text=True)  # nothing known: UTC

    client.set_cookie("fedipanel_tz", "America/New_York")
    assert "7:00" in client.get("/account/tokens").get_data(as_text=True)  # the browser's zone

    _choose(client, "nl", "Europe/Amsterdam")
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "15-01-2026, 13:00" in page  # the choice beats the cookie, in Dutch date order
    assert "12:00" not in page

    client.set_cookie("fedipanel_tz", "Not/AZone")
    _choose(client, "nl", "")
    assert "15-01-2026, 12:00" in client.get("/account/tokens").get_data(as_text=True)


def test_the_form_refuses_an_unknown_language_or_zone_and_saves_nothing(
    app: Flask, client: FlaskClient, auth: Auth, factory: Factory
) -> None:
    operator_id = factory.operator("op@acme.example")
    auth.login("op@acme.example")
    answer = client.post("/account/preferences", data={"language": "xx", "timeZone": "Mars/Base"})
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "Choose one of the languages offered." in page
    assert "Unknown time zone" in page
    assert 'value="Mars/Base"' in page  # the input is kept
    with app.app_context():
        user = db.session.get(User, operator_id)
        assert user is not None
        assert (user.language, user.time_zone) == (None, None)


def test_the_api_reads_and_changes_ones_own_preferences(
    client: FlaskClient, factory: Factory
) -> None:
    api = Api(client, factory.token(factory.operator("op@acme.example")))
    other = Api(client, factory.token(factory.operator("other@acme.example", slug="other")))
    assert api.get("/me/preferences").get_json() == {"language": None, "timeZone": None}

    changed = client.patch("/api/v1/me/preferences", json={"language": "nl"}, headers=api.headers)
    assert changed.get_json() == {"language": "nl", "timeZone": None}
    changed = client.patch(
        "/api/v1/me/preferences", json={"timeZone": "Europe/Amsterdam"}, headers=api.headers
    )
    assert changed.get_json() == {"language": "nl", "timeZone": "Europe/Amsterdam"}
    assert other.get("/me/preferences").get_json() == {"language": None, "timeZone": None}

    for body, loc in (
        ({"timeZone": "Mars/Base"}, ["timeZone"]),
        ({"language": "xx"}, ["language"]),
        ({"language": 3}, ["language"]),
        ({"colour": "red"}, ["colour"]),
    ):
        refused = client.patch("/api/v1/me/preferences", json=body, headers=api.headers)
        assert refused.status_code == 422, body
        assert refused.get_json()["errors"][0]["loc"] == loc
    back = client.patch(
        "/api/v1/me/preferences", json={"language": None, "timeZone": None}, headers=api.headers
    )
    assert back.get_json() == {"language": None, "timeZone": None}


def test_the_provider_token_has_preferences_too(client: FlaskClient, factory: Factory) -> None:
    api = Api(client, factory.token(factory.provider()))
    changed = client.patch("/api/v1/me/preferences", json={"language": "nl"}, headers=api.headers)
    assert changed.status_code == 200


def test_the_cores_messages_show_translated_on_the_form(
    client: FlaskClient, auth: Auth, factory: Factory
) -> None:
    factory.operator("op@acme.example")
    auth.login("op@acme.example")
    _choose(client, "nl")
    form = {
        "domain": "ACME.example",
        "admin.username": "alice",
        "admin.email": "alice@acme.example",
    }
    page = client.post("/configuration", data=form).get_data(as_text=True)
    assert "moet in kleine letters zijn" in page
    assert "must be lowercase" not in page


def test_states_show_in_the_users_language_and_unknown_words_as_they_are(app: Flask) -> None:
    state = app.jinja_env.filters["state"]
    with app.test_request_context(headers={"Accept-Language": "nl"}):
        assert [state(word) for word in ("succeeded", "create", "queued", "bespoke")] == [
            "gelukt",
            "aanmaken",
            "in wachtrij",
            "bespoke",
        ]
    with app.test_request_context():
        assert state("succeeded") == "succeeded"
