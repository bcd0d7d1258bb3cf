"""The provider's deletion budget (``providers.guard.budget``): defence in
depth behind the program's guard, for paths that bypass it (``--target``,
a state edited by hand, a guard resource missing)."""

from __future__ import annotations

import threading

import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config

from providers.alloy_user import AlloyUserProvider
from providers.guard import budget as budget_module
from providers.guard.budget import DeleteBudget, DeleteRefused


@pytest.fixture
def fresh_budget(monkeypatch: pytest.MonkeyPatch) -> DeleteBudget:
    """A new process-wide budget (one provider process serves one run)."""
    fresh = DeleteBudget()
    monkeypatch.setattr("providers.alloy_user.BUDGET", fresh)
    monkeypatch.setattr(budget_module, "BUDGET", fresh)
    monkeypatch.delenv("ALLOY_ALLOW_DELETES", raising=False)
    return fresh


def provider(emulator, **extra: str) -> AlloyUserProvider:
    made = AlloyUserProvider()
    made.configure(ConfigureRequest(Config(
        {"alloy:baseUrl": emulator.url, "alloy:apiKey": emulator.api_key, **extra}, "alloy")))
    return made


def seed(emulator, count: int) -> list[tuple[str, dict]]:
    users = []
    for index in range(count):
        name = f"user{index:02d}@example.com"
        users.append((emulator.admin.seed_user(name), {"username": name}))
    return users


@pytest.mark.parametrize(("approved", "allowed"), [(0, 0), (2, 2), (3, 3)], ids=["none", "two", "all"])
def test_deletes_beyond_what_the_guard_approved_are_refused(emulator, fresh_budget, approved, allowed):
    users = seed(emulator, 3)
    fresh_budget.approve(approved)
    made = provider(emulator)
    refused = 0
    for user_id, props in users:
        try:
            made.delete(user_id, props)
        except DeleteRefused as problem:
            refused += 1
            assert "as many as the deletion guard approved" in str(problem)
    assert refused == 3 - allowed
    assert len(emulator.users()) == 3 - allowed


@pytest.mark.parametrize(("extra", "env", "allowed"), [
    ({}, None, 5),
    ({"alloy:maxDeletes": "2"}, None, 2),
    ({"alloy:maxDeletes": "2"}, "7", 7),
], ids=["floor-of-the-rule", "max-deletes", "acknowledged-count-raises-it"])
def test_without_any_approval_the_unvouched_limit_applies(emulator, fresh_budget, monkeypatch, extra, env, allowed):
    if env is not None:
        monkeypatch.setenv("ALLOY_ALLOW_DELETES", env)
    users = seed(emulator, 8)
    made = provider(emulator, **extra)
    outcomes = []
    for user_id, props in users:
        try:
            made.delete(user_id, props)
            outcomes.append("deleted")
        except DeleteRefused as problem:
            outcomes.append("refused")
            assert "allowed without the guard" in str(problem)
    assert outcomes == ["deleted"] * allowed + ["refused"] * (8 - allowed)
    assert len(emulator.users()) == 8 - allowed


def test_forgetting_an_adopted_user_spends_nothing(emulator, fresh_budget):
    users = seed(emulator, 2)
    fresh_budget.approve(1)
    made = provider(emulator)
    adopted_id, adopted = users[0]
    made.delete(adopted_id, {**adopted, "adopted": True})
    made.delete(*users[1])
    assert [user["username"] for user in emulator.users()] == ["user00@example.com"]


def test_the_budget_is_exact_under_concurrent_deletes():
    shared = DeleteBudget()
    shared.approve(10)
    taken: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            try:
                shared.spend(0, "someone")
            except DeleteRefused:
                continue
            with lock:
                taken.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(taken) == 10
