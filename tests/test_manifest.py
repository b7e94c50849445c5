"""manifest.yml: a Slack app manifest naming what the code really registers."""

from __future__ import annotations

from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read manifest.yml")

MANIFEST = Path(__file__).resolve().parents[1] / "manifest.yml"
BOT_SCOPES = {
    "commands",
    "chat:write",
    "users:read",
    "users:read.email",
    "channels:read",
    "channels:history",
    "groups:read",
    "groups:history",
    "im:read",
    "im:history",
    "im:write",
    "mpim:read",
    "mpim:history",
    "team:read",
}


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text())


def test_manifest_lists_the_four_slash_commands_with_usage_hints(manifest):
    commands = manifest["features"]["slash_commands"]

    assert [c["command"] for c in commands] == [
        "/whoknows",
        "/log",
        "/client",
        "/rapport",
    ]
    for command in commands:
        assert command["usage_hint"]
        assert 0 < len(command["description"]) <= 2000
        assert command["url"].endswith("/slack/events")


def test_manifest_asks_for_exactly_the_bot_scopes_in_use(manifest):
    scopes = manifest["oauth_config"]["scopes"]["bot"]

    assert len(scopes) == len(set(scopes))
    assert set(scopes) == BOT_SCOPES
    assert "user" not in manifest["oauth_config"]["scopes"]


def test_manifest_shortcuts_carry_the_callback_ids_the_handlers_use(manifest):
    shortcuts = {s["callback_id"]: s for s in manifest["features"]["shortcuts"]}

    assert shortcuts["log_interaction_message"]["type"] == "message"
    assert shortcuts["log_interaction_global"]["type"] == "global"
    for shortcut in shortcuts.values():
        assert shortcut["name"] and shortcut["description"]


def test_manifest_settings_enable_socket_mode_home_tab_and_interactivity(manifest):
    settings = manifest["settings"]

    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["features"]["bot_user"]["display_name"]


def test_manifest_descriptions_fit_slack_lengths(manifest):
    info = manifest["display_information"]

    assert 0 < len(info["name"]) <= 35
    assert 0 < len(info["description"]) <= 140
    assert 174 <= len(info["long_description"]) <= 4000
