"""The feedback form end to end through the Flask app on a real hub (events written through
the CalDAV storage path): once per device, refused before the event, after its window and
for unknown or cancelled events, no personal data in the database, the per-address limit,
the honeypot and the time on the form, links held, CSRF; the coordinator's moderation and
who sees what; the partners' survey round trip."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from feedback_support import answer, build_feedback_hub, form_fields, link, set_feedback
from web_support import sign_in, text

from calhub.dav.maintenance import open_runtime
from calhub.feedback.links import DEVICE_COOKIE
from calhub.hub import Hub
from calhub.runtime import Runtime

ADDRESS = "203.0.113.77"
AGENT = "Mozilla/5.0 (FeedbackTestPhone; Android 14) Chrome/131"


@pytest.fixture(scope="module")
def feedback_template(tmp_path_factory: pytest.TempPathFactory, hub_template: Path) -> Path:
    return build_feedback_hub(hub_template, tmp_path_factory.mktemp("feedback") / "data")


@pytest.fixture
def runtime(tmp_path: Path, feedback_template: Path) -> Iterator[Runtime]:
    import shutil

    root = tmp_path / "hub"
    shutil.copytree(feedback_template, root)
    opened = open_runtime(Hub(root))
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def app(runtime: Runtime) -> Any:
    from calhub.web import create_app

    return create_app({"TESTING": True}, runtime=runtime)


def device(app: Any) -> Any:
    """A new browser: its own cookies, so a new device."""
    return app.test_client()


def test_a_link_takes_one_answer_per_device(app: Any, runtime: Runtime) -> None:
    path = link(runtime.hub, "bfu", "fb-ended")
    phone = device(app)
    page = phone.get(path)
    assert page.status_code == 200
    body = text(page)
    assert "Лекция по физике [10-11]" in body and "БФУ им. И. Канта" in body
    assert phone.get_cookie(DEVICE_COOKIE, path="/f/") is not None
    sent = answer(phone, path, rating="4", recommend="yes", comment="Было интересно!")
    assert sent.status_code == 200, text(sent)
    assert "Спасибо" in text(sent)
    # The same device again: the page and a second answer are refused, the first stands.
    again = phone.get(path)
    assert again.status_code == 409 and "уже ответили" in text(again)
    fields = form_fields(body)
    resent = phone.post(path, data=fields | {"rating": "1", "recommend": "no"})
    assert resent.status_code == 409
    # A new device answers.
    assert answer(device(app), path, rating="5").status_code == 200
    answers = runtime.feedback.entries(calendars=["bfu"])
    assert sorted((a.rating, a.recommend) for a in answers) == [(4, True), (5, None)]
    assert {a.comment for a in answers} == {"Было интересно!", ""}
    assert {a.status for a in answers} == {"new", "none"}


def test_a_series_link_rates_its_latest_started_occurrence(app: Any, runtime: Runtime) -> None:
    import datetime as dt
    import re

    path = link(runtime.hub, "bfu", "fb-series")
    assert answer(device(app), path, rating="3").status_code == 200
    (entry,) = runtime.feedback.entries(calendars=["bfu"])
    occurrences = runtime.index.occurrences_of("bfu", "fb-series")
    now = dt.datetime.now(dt.UTC)
    started = [o for o in occurrences if o.start <= now]
    assert 0 < len(started) < len(occurrences), "the series has held and coming occurrences"
    latest = max(started, key=lambda o: o.start)
    assert (entry.occurrence, entry.recurrence_id) == (latest.start, latest.recurrence_id)
    # The form page posts to that occurrence's own link, so a slow answer keeps rating it.
    page = text(device(app).get(path))
    action = re.search(r'<form method="post" action="(/f/[^"]+)"', page)
    assert action is not None
    assert action.group(1) == link(runtime.hub, "bfu", "fb-series", latest.recurrence_id)
    assert "Ответы принимаются до" in page


@pytest.mark.parametrize(
    ("uid", "status", "words"),
    [
        ("fb-coming", 403, "откроются"),
        ("fb-old", 410, "закрыт"),
        ("fb-cancelled", 404, "не найдена"),
        ("no-such-event", 404, "не найдена"),
    ],
)
def test_a_link_is_refused_outside_its_window(
    app: Any, runtime: Runtime, uid: str, status: int, words: str
) -> None:
    client = device(app)
    path = link(runtime.hub, "bfu", uid)
    response = client.get(path)
    assert response.status_code == status
    assert words in text(response).lower()
    assert client.post(path, data={"rating": "5"}).status_code in (400, status)
    assert runtime.feedback.entries() == []


def test_a_guessed_or_changed_link_opens_nothing(app: Any, runtime: Runtime) -> None:
    client = device(app)
    real = link(runtime.hub, "bfu", "fb-ended")
    forged = real[:-3] + ("AAA" if not real.endswith("AAA") else "BBB")
    for path in (forged, "/f/fb-ended", "/f/" + "x" * 3000, "/f/WyJiZnUiLCJmYi1lbmRlZCJd"):
        assert client.get(path).status_code == 404, path


def test_the_window_is_a_setting(app: Any, runtime: Runtime) -> None:
    set_feedback(runtime.hub.root, min_form_seconds=0, window_days=60)
    assert device(app).get(link(runtime.hub, "bfu", "fb-old")).status_code == 200


def test_no_personal_data_is_stored(app: Any, runtime: Runtime) -> None:
    phone = device(app)
    who = {"REMOTE_ADDR": ADDRESS, "HTTP_USER_AGENT": AGENT}
    path = link(runtime.hub, "bfu", "fb-ended")
    assert answer(phone, path, environ_base=who, rating="2", comment="Скучно").status_code == 200
    assert (
        answer(
            phone, link(runtime.hub, "kgtu", "fb-kgtu"), environ_base=who, rating="5"
        ).status_code
        == 200
    )
    cookie = phone.get_cookie(DEVICE_COOKIE, path="/f/").value
    device_id = cookie.rsplit(".", 1)[0]
    runtime.feedback.close()
    with sqlite3.connect(runtime.hub.paths.hub_db) as db:
        dump = "\n".join(db.iterdump())
        columns = {row[1] for row in db.execute("PRAGMA table_info(feedback_answers)")}
        devices = [row[0] for row in db.execute("SELECT device FROM feedback_answers")]
    for secret in (ADDRESS, AGENT, "FeedbackTestPhone", cookie, device_id):
        assert secret not in dump
    assert not columns & {"address", "ip", "user_agent", "agent", "cookie", "answered_at"}
    # One device, two events: two unrelated device keys.
    assert len(set(devices)) == 2 and all(len(d) == 64 for d in devices)
    # Only the day of an answer is kept, never the time of day.
    with sqlite3.connect(runtime.hub.paths.hub_db) as db:
        (day,) = db.execute("SELECT DISTINCT answered_on FROM feedback_answers").fetchone()
    assert len(day) == 10


def test_answers_are_limited_per_address(app: Any, runtime: Runtime) -> None:
    set_feedback(runtime.hub.root, min_form_seconds=0, answers_per_hour=2)
    path = link(runtime.hub, "bfu", "fb-ended")
    school_wifi = {"REMOTE_ADDR": ADDRESS}
    for _ in range(2):
        assert answer(device(app), path, environ_base=school_wifi, rating="4").status_code == 200
    limited = answer(device(app), path, environ_base=school_wifi, rating="4")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3600"
    assert (
        answer(
            device(app), path, environ_base={"REMOTE_ADDR": "198.51.100.9"}, rating="4"
        ).status_code
        == 200
    )
    assert len(runtime.feedback.entries()) == 3


def test_the_honeypot_and_a_too_quick_answer_store_nothing(app: Any, runtime: Runtime) -> None:
    path = link(runtime.hub, "bfu", "fb-ended")
    bot = answer(device(app), path, rating="5", comment="Мой отзыв", website="http://spam.example")
    assert bot.status_code == 400
    assert "Мой отзыв" in text(bot), "the form comes back as typed"
    set_feedback(runtime.hub.root, min_form_seconds=60)
    quick = answer(device(app), path, rating="5", comment="Быстро")
    assert quick.status_code == 400 and "Быстро" in text(quick)
    # A stamp that was not the hub's.
    client = device(app)
    fields = form_fields(text(client.get(path)))
    forged = client.post(path, data=fields | {"stamp": "form.AAAA.BBBB", "rating": "5"})
    assert forged.status_code == 400
    assert runtime.feedback.entries() == []


def test_bad_fields_come_back_with_what_was_typed(app: Any, runtime: Runtime) -> None:
    path = link(runtime.hub, "bfu", "fb-ended")
    response = answer(device(app), path, rating="9", comment="Текст")
    assert response.status_code == 400
    assert "от 1 до 5" in text(response) and "Текст" in text(response)
    too_long = answer(device(app), path, rating="3", comment="я" * 1001)
    assert too_long.status_code == 400 and "1000" in text(too_long)
    assert runtime.feedback.entries() == []


def test_the_form_needs_its_csrf_token(app: Any, runtime: Runtime) -> None:
    client = device(app)
    path = link(runtime.hub, "bfu", "fb-ended")
    fields = form_fields(text(client.get(path)))
    response = client.post(path, data={"stamp": fields["stamp"], "rating": "5"})
    assert response.status_code == 400
    assert runtime.feedback.entries() == []


def test_comments_with_links_are_held(app: Any, runtime: Runtime) -> None:
    path = link(runtime.hub, "bfu", "fb-ended")
    assert (
        answer(device(app), path, rating="1", comment="Скидки тут: www.casino.example").status_code
        == 200
    )
    assert answer(device(app), path, rating="5", comment="Отлично").status_code == 200
    statuses = {e.comment: e.status for e in runtime.feedback.entries()}
    assert statuses == {"Скидки тут: www.casino.example": "held", "Отлично": "new"}


def test_moderation_and_who_sees_what(app: Any, runtime: Runtime) -> None:
    path = link(runtime.hub, "bfu", "fb-ended")
    assert (
        answer(device(app), path, rating="5", recommend="yes", comment="Лучшая лекция").status_code
        == 200
    )
    assert (
        answer(device(app), path, rating="3", recommend="no", comment="Слишком длинно").status_code
        == 200
    )
    assert (
        answer(
            device(app), link(runtime.hub, "kgtu", "fb-kgtu"), rating="2", comment="Холодно в зале"
        ).status_code
        == 200
    )

    bfu = device(app)
    sign_in(bfu, "bfu")
    page = text(bfu.get("/feedback/"))
    assert "Лекция по физике" in page and "Практикум КГТУ" not in page
    assert "Лучшая лекция" not in page and "Слишком длинно" not in page, "not approved yet"
    assert 'id="moderation"' not in page
    assert 'id="overall-loyalty">0<' in page  # one yes, one no
    entries = {e.comment: e for e in runtime.feedback.entries()}
    best = entries["Лучшая лекция"]
    assert (
        bfu.post(f"/feedback/{best.id}/moderate", data={"action": "approve"}).status_code == 400
    )  # no CSRF token
    from web_support import session_csrf

    refused = bfu.post(
        f"/feedback/{best.id}/moderate", data={"action": "approve", "csrf_token": session_csrf(bfu)}
    )
    assert refused.status_code == 403
    assert runtime.feedback.get(best.id).status == "new"

    coordinator = device(app)
    sign_in(coordinator, "coordinator")
    page = text(coordinator.get("/feedback/"))
    for comment in ("Лучшая лекция", "Слишком длинно", "Холодно в зале"):
        assert comment in page
    token = session_csrf(coordinator)
    done = coordinator.post(
        f"/feedback/{best.id}/moderate", data={"action": "approve", "csrf_token": token}
    )
    assert done.status_code == 303
    long = entries["Слишком длинно"]
    coordinator.post(f"/feedback/{long.id}/moderate", data={"action": "hide", "csrf_token": token})
    assert (
        coordinator.post(
            "/feedback/999999/moderate", data={"action": "hide", "csrf_token": token}
        ).status_code
        == 404
    )
    assert runtime.feedback.count_pending() == 1

    page = text(bfu.get("/feedback/"))
    assert "Лучшая лекция" in page and "Слишком длинно" not in page and "Холодно" not in page
    kgtu = device(app)
    sign_in(kgtu, "kgtu")
    page = text(kgtu.get("/feedback/"))
    assert "Практикум КГТУ" in page and "Лекция по физике" not in page
    assert "Холодно в зале" not in page, "kgtu's own comment is still waiting"
    assert "Лучшая лекция" not in page


def test_the_feedback_pages_need_a_sign_in(app: Any) -> None:
    client = device(app)
    assert client.get("/feedback/").status_code == 302
    assert client.get("/feedback/surveys").status_code == 302


def test_the_partners_survey_round_trip(app: Any, runtime: Runtime) -> None:
    from web_support import session_csrf

    runtime.hub.accounts.edit("bfu", email="partners@bfu.example")
    coordinator = device(app)
    sign_in(coordinator, "coordinator")
    token = session_csrf(coordinator)
    bad = coordinator.post("/feedback/surveys", data={"term": "осень 2026!", "csrf_token": token})
    assert bad.status_code == 400 and "триместр" in text(bad)
    sent = coordinator.post("/feedback/surveys", data={"term": "2026-27-1", "csrf_token": token})
    assert sent.status_code == 200
    page = text(sent)
    import re

    links = dict(re.findall(r'<code class="copy" id="survey-(\w+)">([^<]+)</code>', page))
    assert sorted(links) == ["bfu", "kgtu"]
    assert "partners@bfu.example" in page
    (mail,) = [m for m in runtime.outbox.messages() if m.address == "partners@bfu.example"]
    assert links["bfu"] in mail.text and "2026-27-1" in mail.subject

    partner = device(app)
    survey_path = links["bfu"].split("://", 1)[1].split("/", 1)[1]
    form = partner.get("/" + survey_path)
    assert form.status_code == 200
    assert "Насколько вы довольны сотрудничеством" in text(form)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', text(form)).group(1)
    empty = partner.post("/" + survey_path, data={"csrf_token": csrf})
    assert empty.status_code == 400
    saved = partner.post(
        "/" + survey_path,
        data={
            "csrf_token": csrf,
            "q_overall": "5",
            "q_planning": "4",
            "q_next_term": "Больше лабораторных",
        },
    )
    assert saved.status_code == 200 and "сохранены" in text(saved)
    (survey,) = [s for s in runtime.feedback.surveys("2026-27-1") if s.partner == "bfu"]
    assert survey.answers == {"overall": 5, "planning": 4, "next_term": "Больше лабораторных"}
    answers = text(coordinator.get("/feedback/surveys?term=2026-27-1"))
    assert "Больше лабораторных" in answers
    # Sent again: a new link; the old one stops opening and the answers stay.
    coordinator.post("/feedback/surveys", data={"term": "2026-27-1", "csrf_token": token})
    assert device(app).get("/" + survey_path).status_code == 404
    (survey,) = [s for s in runtime.feedback.surveys("2026-27-1") if s.partner == "bfu"]
    assert survey.answers is not None
    # Partners cannot send or read surveys.
    bfu = device(app)
    sign_in(bfu, "bfu")
    assert bfu.get("/feedback/surveys").status_code == 403


# -- where the links are printed --------------------------------------------------------

HUB_URL = "https://calendar.school.example"


def set_public(runtime: Runtime, **values: Any) -> None:
    from calhub.hub import configfile

    document = configfile.read_document(runtime.hub.root)
    document["public"] = {"url": HUB_URL, **values}
    configfile.save_document(runtime.hub.root, document)


def local_path(url: str) -> str:
    assert url.startswith(HUB_URL + "/f/"), url
    return url[len(HUB_URL) :]


def test_a_feed_events_description_links_to_its_form(app: Any, runtime: Runtime) -> None:
    import icalendar

    from calhub.feeds.tokens import create_feed

    set_public(runtime)
    created = create_feed(runtime, "calendar:bfu", "test", "coordinator", HUB_URL)
    feed = device(app).get(created.address.https[len(HUB_URL) :])
    assert feed.status_code == 200
    events = {
        str(e["UID"]): str(e.get("DESCRIPTION", ""))
        for e in icalendar.Calendar.from_ical(feed.data).walk("VEVENT")
    }
    description = events["fb-ended@bfu"]
    assert description.startswith("Отзыв / Feedback: " + HUB_URL + "/f/")
    url = description.rsplit(" ", 1)[1]
    assert device(app).get(local_path(url)).status_code == 200
    # The series' one description rates its latest started occurrence, every week.
    series = events["fb-series@bfu"].rsplit(" ", 1)[1]
    assert answer(device(app), local_path(series), rating="4").status_code == 200


def test_the_public_page_lists_recent_events_with_their_forms(app: Any, runtime: Runtime) -> None:
    import re

    set_public(runtime, enabled=True)
    page = device(app).get("/public/")
    assert page.status_code == 200 and "Set-Cookie" not in page.headers
    tenth = re.search(r'<section class="grade" id="grade-10".*?</section>', text(page), re.S)
    assert tenth is not None
    links = re.findall(r'<a class="feedback-link" href="([^"]+)"[^>]*>([^<]+)</a>', tenth.group(0))
    titles = [title for _url, title in links]
    assert "Лекция по физике [10-11]" in titles and "Практикум КГТУ [10А]" in titles
    assert "Экскурсия в лабораторию [9]" not in titles and "Олимпиада [11]" not in titles
    url = {t: u for u, t in links}["Лекция по физике [10-11]"]
    assert answer(device(app), local_path(url), rating="5").status_code == 200


def test_the_pdf_plan_carries_a_qr_code_per_event(
    app: Any, runtime: Runtime, tmp_path: Path
) -> None:
    import datetime as dt
    import subprocess

    from calhub.exchange.export_pdf import write_pdf
    from calhub.exchange.export_rows import ExportRequest, collect

    set_public(runtime)
    today = dt.date.today()
    export = collect(
        runtime, ExportRequest(today - dt.timedelta(days=20), today + dt.timedelta(days=5))
    )
    titles = [title for title, _url in export.feedback_links]
    assert "Лекция по физике [10-11]" in titles and titles.count("Кружок робототехники [8]") == 1
    pdf = tmp_path / "plan.pdf"
    pdf.write_bytes(write_pdf(export))
    words = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True)
    assert "Отзывы о мероприятиях" in words.stdout
    images = subprocess.run(
        ["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True
    )
    assert len(images.stdout.strip().splitlines()) - 2 == len(export.feedback_links)
    url = dict(export.feedback_links)["Лекция по физике [10-11]"]
    assert device(app).get(local_path(url)).status_code == 200


def test_an_answer_without_the_device_cookie_comes_back(app: Any, runtime: Runtime) -> None:
    client = device(app)
    path = link(runtime.hub, "bfu", "fb-ended")
    fields = form_fields(text(client.get(path)))
    client.delete_cookie(DEVICE_COOKIE, path="/f/")
    response = client.post(path, data=fields | {"rating": "5", "comment": "Без куки"})
    assert response.status_code == 400
    assert "cookie" in text(response) and "Без куки" in text(response)
    assert runtime.feedback.entries() == []


def test_a_bot_is_limited_too(app: Any, runtime: Runtime) -> None:
    set_feedback(runtime.hub.root, min_form_seconds=0, answers_per_hour=3)
    path = link(runtime.hub, "bfu", "fb-ended")
    bot = {"REMOTE_ADDR": ADDRESS}
    codes = [
        answer(device(app), path, environ_base=bot, rating="5", website="x").status_code
        for _ in range(4)
    ]
    assert codes == [400, 400, 400, 429]
    assert runtime.feedback.entries() == []


def test_the_event_page_shows_its_feedback_link_to_whoever_writes_it(
    app: Any, runtime: Runtime
) -> None:
    import re

    set_public(runtime)
    path = "/plan/event?calendar=bfu&uid=fb-ended"
    bfu = device(app)
    sign_in(bfu, "bfu")
    page = text(bfu.get(path))
    found = re.search(r'<code class="copy" id="feedback-link">([^<]+)</code>', page)
    assert found is not None and "<svg" in page
    assert device(app).get(local_path(found.group(1))).status_code == 200
    kgtu = device(app)
    sign_in(kgtu, "kgtu")
    assert 'id="feedback-link"' not in text(kgtu.get(path)), "not kgtu's event"


def test_the_dashboard_shows_a_range_of_dates(app: Any, runtime: Runtime) -> None:
    import datetime as dt

    assert answer(device(app), link(runtime.hub, "bfu", "fb-ended"), rating="5").status_code == 200
    assert answer(device(app), link(runtime.hub, "kgtu", "fb-kgtu"), rating="1").status_code == 200
    coordinator = device(app)
    sign_in(coordinator, "coordinator")
    assert 'id="overall-answers">2<' in text(coordinator.get("/feedback/"))
    today = dt.datetime.now(dt.UTC).date()
    far = text(coordinator.get("/feedback/?from=2001-01-01&to=2001-12-31"))
    assert 'id="overall-answers">0<' in far and "Ответов пока нет" in far
    around = text(coordinator.get(f"/feedback/?from={today - dt.timedelta(days=3)}&to={today}"))
    assert 'id="overall-answers">2<' in around
    bad = coordinator.get("/feedback/?from=вчера")
    assert bad.status_code == 400 and "не дата" in text(bad)
    backwards = coordinator.get("/feedback/?from=2026-12-01&to=2026-11-01")
    assert backwards.status_code == 400 and "раньше" in text(backwards)
