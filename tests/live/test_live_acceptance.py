"""Live acceptance test against a real Alloy account (``make test-live``).

Runs only with ``ALLOY_LIVE_API_KEY`` set (``ALLOY_LIVE_BASE_URL`` defaults
to production), and only when selected with ``-m live``. It creates at most
three users under a unique run prefix and deletes them again, also when a
step fails (see ``tests/live/sequence.py``), then prints what the API did.

The variables are read when this module is imported: the suite's autouse
fixture clears every ``ALLOY_*`` variable before each test.
"""

from __future__ import annotations

import os

import pytest

from providers.alloy.client import DEFAULT_BASE_URL, AlloyClient, ClientSettings
from tests.live.sequence import run_sequence

LIVE_KEY_ENV = "ALLOY_LIVE_API_KEY"
LIVE_BASE_URL_ENV = "ALLOY_LIVE_BASE_URL"
LIVE_KEY = os.environ.get(LIVE_KEY_ENV, "").strip()
LIVE_BASE_URL = os.environ.get(LIVE_BASE_URL_ENV, "").strip() or DEFAULT_BASE_URL

pytestmark = pytest.mark.live


@pytest.fixture
def live_client():
    if not LIVE_KEY:
        pytest.skip(f"{LIVE_KEY_ENV} is not set: no live Alloy account to test against "
                    f"(set it, and {LIVE_BASE_URL_ENV} unless production, to run `make test-live`)")
    client = AlloyClient(ClientSettings(base_url=LIVE_BASE_URL, api_key=LIVE_KEY))
    yield client
    client.close()


def test_live_create_list_rename_delete(live_client, capsys):
    try:
        report = run_sequence(live_client)
    except BaseException as exc:
        report = getattr(exc, "live_report", None)
        if report is not None:
            with capsys.disabled():
                print("\n" + "\n".join(report.lines()))
        raise
    with capsys.disabled():
        print(f"\n(against {LIVE_BASE_URL})\n" + "\n".join(report.lines()))
    assert report.leftovers == [], "clean-up left users behind"
    assert len(report.deleted) == len(report.created)
