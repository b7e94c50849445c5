"""The HTTP front rejects forged or broken requests before Bolt parses them."""

from __future__ import annotations

import logging

import pytest

from tests.slack_harness import running_slack_app

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param("payload={not json", FORM, id="broken-payload-json"),
        pytest.param("{oops", JSON, id="broken-event-json"),
        pytest.param("payload=[1]", FORM, id="payload-is-a-list"),
        pytest.param("[1,2,3]", JSON, id="event-is-a-list"),
    ],
)
async def test_forged_request_gets_401_without_a_traceback_when_body_is_broken(
    tmp_path, caplog, body, content_type
):
    async with running_slack_app(tmp_path) as slack:
        with caplog.at_level(logging.INFO):
            result = await slack.post(
                body, content_type=content_type, signature="v0=00"
            )

    assert result.status == 401
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.parametrize(
    "timestamp", ["abc", "", "１２３"], ids=["letters", "empty", "wide"]
)
async def test_request_gets_401_when_timestamp_is_not_digits(tmp_path, timestamp):
    async with running_slack_app(tmp_path) as slack:
        result = await slack.post(
            "command=/whoknows&text=acme", content_type=FORM, timestamp=timestamp
        )

    assert result.status == 401


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param("payload={not json", FORM, id="broken-payload-json"),
        pytest.param("{oops", JSON, id="broken-event-json"),
        pytest.param("payload=[1]", FORM, id="payload-is-a-list"),
        pytest.param("[1,2,3]", JSON, id="event-is-a-list"),
    ],
)
async def test_signed_request_gets_400_when_body_does_not_parse(
    tmp_path, caplog, body, content_type
):
    async with running_slack_app(tmp_path) as slack:
        result = await slack.post(body, content_type=content_type)

    assert result.status == 400
    assert not [r for r in caplog.records if r.exc_info]
