"""The settings registry is the one source: Pulumi.yaml's ``config:`` block,
the README's settings table and the readers all agree with it."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from providers.alloy.errors import AlloyConfigError
from providers.alloy.settings import SETTINGS, read_settings, settings_table

REPO = Path(__file__).resolve().parent.parent
DECLARED = [setting for setting in SETTINGS if setting.declared]


def project_config() -> dict:
    return YAML(typ="safe").load((REPO / "Pulumi.yaml").read_text(encoding="utf-8"))["config"]


def test_pulumi_yaml_declares_exactly_the_registry():
    assert list(project_config()) == [setting.name for setting in DECLARED]


@pytest.mark.parametrize("setting", DECLARED, ids=lambda s: s.name)
def test_pulumi_yaml_entry_matches_the_registry(setting):
    entry = project_config()[setting.name]
    assert entry["type"] == setting.pulumi_type
    assert entry["description"] == setting.meaning
    default = entry["default"]
    if setting.type == "number":
        assert float(default) == setting.default
    else:
        assert default == setting.default


def test_the_readme_settings_table_is_the_registrys():
    assert settings_table() in (REPO / "README.md").read_text(encoding="utf-8")


def test_the_defaults_read_back_as_the_registry_says():
    defaults = {f"alloy:{key}": value.get("default") for key, value in project_config().items()}
    settings = read_settings(defaults.get, environ={})
    assert settings.client.timeout_s == 10.0
    assert settings.max_deletes == -1
    assert settings.adopt_existing is True and settings.delete_adopted is False


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        pytest.param("alloy:timeoutSeconds", "0.5", None, id="fractional-timeout-accepted"),
        pytest.param("alloy:timeoutSeconds", "0", "between 0.1 and 300", id="timeout-below-range"),
        pytest.param("alloy:maxRetries", "2.5", "must be a whole number", id="fractional-retries"),
        pytest.param("alloy:maxRetries", "21", "between 0 and 20", id="retries-above-range"),
        pytest.param("alloy:maxDeletes", "-2", "between -1 and 1,000,000", id="max-deletes-below-range"),
        pytest.param("alloy:deleteAdopted", "maybe", "must be true or false", id="bad-flag"),
    ],
)
def test_ranges_come_from_the_registry(key, value, message):
    get = {key: value}.get
    if message is None:
        read_settings(get, environ={})
        return
    with pytest.raises(AlloyConfigError, match=message):
        read_settings(get, environ={})
