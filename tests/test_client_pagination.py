"""``GET /users`` in both shapes: one unpaged answer (the documented page) and
Alloy's offset pagination (``limit`` <= 50, ``offset``, ``pagination:
{hasMore, nextOffset}``); servers that page wrongly end in a typed error,
never in a loop. In-process first (``tests.support.fake_alloy``), then the emulator
(``page_size`` variant) for the wiring."""

from __future__ import annotations

import time

import pytest

from providers.alloy.client import LIST_PAGE_LIMIT, MAX_STALE_PAGES, AlloyClient, ClientSettings
from providers.alloy.errors import AlloyBadRequestError, AlloyProtocolError
from tests.support.fake_alloy import FakeAlloy, Reply

LIST_SHAPES = [
    pytest.param(0, id="unpaged"),
    pytest.param(7, id="paged-7"),
    pytest.param(50, id="paged-50"),
]


def list_lines(fake: FakeAlloy) -> list[str]:
    return [line for line in fake.lines() if line == "GET /users" or line.startswith("GET /users?")]


@pytest.mark.parametrize("page_size", LIST_SHAPES)
@pytest.mark.parametrize("count", [0, 1, 49, 50, 51, 120])
def test_every_user_once_in_creation_order(page_size, count):
    fake = FakeAlloy(page_size=page_size)
    ids = fake.seed_many(count)
    client = fake.client()
    assert [user.user_id for user in client.list_users()] == ids


@pytest.mark.parametrize("page_size", LIST_SHAPES)
def test_requests_ask_for_full_pages_and_follow_next_offset(page_size):
    fake = FakeAlloy(page_size=page_size)
    fake.seed_many(120)
    fake.client().list_users()
    if page_size:
        # limit=50 is asked for, so even a server whose default page is 7 answers 50 at a time.
        assert list_lines(fake) == ["GET /users?limit=50", "GET /users?limit=50&offset=50",
                                    "GET /users?limit=50&offset=100"]
    else:
        assert list_lines(fake) == ["GET /users?limit=50"]


def test_a_server_that_ignores_limit_pages_at_its_own_size():
    fake = FakeAlloy(page_size=7)
    fake.seed_many(20)
    original = fake.list_body
    fake.list_body = lambda query: original({k: v for k, v in query.items() if k != "limit"})  # type: ignore[method-assign]
    assert len(fake.client().list_users()) == 20
    assert list_lines(fake)[1:] == ["GET /users?limit=50&offset=7", "GET /users?limit=50&offset=14"]


def test_an_unpaged_answer_of_exactly_limit_users_is_checked_with_one_more_request():
    """A server could apply ``limit`` without a pagination object; exactly 50
    users is followed once: the same users again means that was all."""
    fake = FakeAlloy(page_size=0)
    fake.seed_many(LIST_PAGE_LIMIT)
    assert len(fake.client().list_users()) == LIST_PAGE_LIMIT
    assert list_lines(fake) == ["GET /users?limit=50", "GET /users?limit=50&offset=50"]


def test_a_server_that_truncates_silently_at_limit_is_read_to_the_end():
    fake = FakeAlloy(page_size=0)
    ids = fake.seed_many(120)
    fake.list_body = lambda query: {  # type: ignore[method-assign]
        "data": fake.users[int(query.get("offset", 0)):int(query.get("offset", 0)) + int(query["limit"])]}
    assert [user.user_id for user in fake.client().list_users()] == ids


def test_a_server_that_refuses_limit_is_asked_without_it_and_remembered():
    fake = FakeAlloy(page_size=0)
    fake.seed_many(3)

    def refuse_limit(request, fake):
        if "limit=" in (request.url or ""):
            return Reply(400, {"message": "unknown parameter: limit"})
        return fake.answer("GET", "/users", {}, None)

    fake.script("GET /users", refuse_limit)
    client = fake.client()
    assert len(client.list_users()) == 3
    assert len(client.list_users()) == 3
    assert list_lines(fake) == ["GET /users?limit=50", "GET /users", "GET /users"]


def test_a_refused_later_page_is_an_error():
    fake = FakeAlloy(page_size=5)
    fake.seed_many(12)

    def refuse_offset(request, fake):
        if "offset=" in (request.url or ""):
            return Reply(400, {"message": "bad offset"})
        return Reply(200, fake.list_body({"limit": "5"}))

    fake.script("GET /users", refuse_offset)
    with pytest.raises(AlloyBadRequestError, match="GET /users"):
        fake.client().list_users()


@pytest.mark.parametrize("page_size", LIST_SHAPES)
def test_listed_users_without_username_or_full_name(page_size):
    """Alloy's own list example has a user without a username."""
    fake = FakeAlloy(page_size=page_size)
    nameless = fake.seed(None, "No Name")
    bare = fake.seed("bare@example.com")
    null_name = fake.seed("null@example.com")
    fake.users[-1]["fullName"] = None
    records = {user.user_id: user for user in fake.client().list_users()}
    assert (records[nameless].username, records[nameless].full_name) == (None, "No Name")
    assert (records[bare].username, records[bare].full_name) == ("bare@example.com", None)
    assert records[null_name].full_name is None


@pytest.mark.parametrize("page_size", LIST_SHAPES)
def test_find_by_username_scans_every_page_and_stops_at_the_match(page_size):
    fake = FakeAlloy(page_size=page_size)
    fake.seed_many(120)
    wanted = fake.seed("Wanted@Example.com")
    fake.seed_many(60, prefix="later")
    fake.script("GET /users/{ref}", lambda request, _fake: Reply(404, {}))  # no lookup by username
    assert fake.client().find_user_by_username("Wanted@Example.com").user_id == wanted
    assert fake.client().find_user_by_username("wanted@example.com").user_id == wanted  # other letter case
    assert fake.client().find_user_by_username("absent@example.com") is None
    fake.log.clear()
    fake.client().find_user_by_username("user-00003@example.com")
    assert len(list_lines(fake)) == 1  # found on the first page: no further page asked


def test_pages_overlapping_after_a_create_are_deduplicated_by_user_id():
    fake = FakeAlloy(page_size=5)
    ids = fake.seed_many(12)
    original = fake.list_body

    def shifting(query):
        body = original({k: v for k, v in query.items() if k != "limit"})  # pages of 5 whatever is asked
        if query.get("offset") == "5":  # a user created before the cursor shifts the next page by one
            body["data"] = [fake.users[4], *body["data"][:-1]]
            body["pagination"]["nextOffset"] = 9
        return body

    fake.list_body = shifting  # type: ignore[method-assign]
    assert [user.user_id for user in fake.client().list_users()] == ids


def repeating(hostile_pagination):
    """A list answer: always the first page, with ``hostile_pagination``."""
    def answer(request, fake):
        return Reply(200, {"data": fake.users[:5], "pagination": hostile_pagination})
    return answer


@pytest.mark.parametrize(
    "pagination, problem",
    [
        pytest.param({"hasMore": True, "nextOffset": 0}, "nextOffset 0 does not advance", id="next-offset-zero"),
        pytest.param({"hasMore": True, "nextOffset": "5"}, "nextOffset is not a non-negative integer", id="next-offset-text"),
        pytest.param({"hasMore": "yes", "nextOffset": 5}, "hasMore is not true or false", id="has-more-text"),
        pytest.param([], "pagination is not an object", id="pagination-list"),
    ],
)
def test_broken_pagination_is_a_protocol_error(pagination, problem):
    fake = FakeAlloy()
    fake.seed_many(5)
    fake.script("GET /users", repeating(pagination))
    with pytest.raises(AlloyProtocolError, match="GET /users") as raised:
        fake.client().list_users()
    assert problem in str(raised.value)


def test_a_server_that_repeats_the_same_page_forever_is_stopped():
    fake = FakeAlloy()
    fake.seed_many(5)
    calls = []

    def same_page(request, _fake):
        calls.append(request.url)
        return Reply(200, {"data": fake.users[:5], "pagination": {"hasMore": True, "nextOffset": 5 * len(calls)}})

    fake.script("GET /users", same_page)
    with pytest.raises(AlloyProtocolError, match="repeats a page"):
        fake.client().list_users()
    assert len(calls) == 1 + MAX_STALE_PAGES


def test_a_server_that_answers_empty_pages_with_has_more_is_stopped():
    fake = FakeAlloy()
    count = []

    def empty(request, _fake):
        count.append(1)
        return Reply(200, {"data": [], "pagination": {"hasMore": True, "nextOffset": None}})

    fake.script("GET /users", empty)
    with pytest.raises(AlloyProtocolError, match="does not advance"):
        fake.client().list_users()
    assert len(count) == 1


def test_iter_user_pages_reports_the_shape():
    paged = FakeAlloy(page_size=50)
    paged.seed_many(60)
    pages = list(paged.client().iter_user_pages())
    assert [(p.offset, len(p.users), p.paged, p.next_offset) for p in pages] == [(0, 50, True, 50), (50, 10, True, None)]
    unpaged = FakeAlloy()
    unpaged.seed_many(60)
    pages = list(unpaged.client().iter_user_pages())
    assert [(p.offset, len(p.users), p.paged, p.next_offset) for p in pages] == [(0, 60, False, None)]


def test_iter_users_streams_page_by_page():
    fake = FakeAlloy(page_size=50)
    fake.seed_many(200)
    users = fake.client().iter_users()
    first = [next(users) for _ in range(50)]
    assert len(first) == 50 and len(list_lines(fake)) == 1
    users.close()


@pytest.mark.parametrize("page_size", [0, 50])
def test_ten_thousand_users_list_in_about_a_second_in_process(page_size):
    fake = FakeAlloy(page_size=page_size)
    fake.seed_many(10_000)
    started = time.perf_counter()
    users = fake.client().list_users()
    elapsed = time.perf_counter() - started
    assert len(users) == 10_000 and len({u.user_id for u in users}) == 10_000
    assert len(list_lines(fake)) == (200 if page_size else 1)
    assert elapsed < 5, f"{elapsed:.1f}s"


# -- against the emulator (the wiring, both shapes) ------------------------------------


@pytest.fixture
def emulator_client(emulator):
    client = AlloyClient(ClientSettings(base_url=emulator.url, api_key=emulator.api_key, backoff_s=0.01),
                         environ={})
    yield client
    client.close()


def seed(emulator, count: int) -> list[str]:
    return [emulator.admin.seed_user(f"user-{n:04d}@example.com", f"User {n}") for n in range(count)]


@pytest.mark.parametrize("page_size", [0, 1, 7, 50])
def test_emulator_list_in_both_shapes(emulator, emulator_client, page_size):
    emulator.admin.set_faults(page_size=page_size)
    ids = seed(emulator, 23)
    nameless = emulator.admin.seed_user(None)
    listed = emulator_client.list_users()
    assert [user.user_id for user in listed] == [*ids, nameless]
    assert listed[-1].username is None
    # limit=50 is asked for, and the emulator's page size is only its default.
    assert [entry["route"] for entry in emulator.requests()] == ["GET /users"]


def test_emulator_paged_list_of_120_users_takes_three_requests(emulator, emulator_client):
    emulator.admin.set_faults(page_size=10)
    ids = seed(emulator, 120)
    assert [user.user_id for user in emulator_client.list_users()] == ids
    assert len(emulator.requests()) == 3
    pages = list(emulator_client.iter_user_pages())
    assert [page.paged for page in pages] == [True, True, True]


def test_emulator_find_by_username_on_paged_list(emulator, emulator_client):
    emulator.admin.set_faults(page_size=5)
    seed(emulator, 60)
    assert emulator_client.find_user_by_username("user-0057@example.com").username == "user-0057@example.com"
