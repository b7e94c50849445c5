"""`/whoknows QUERY`: acknowledged at once, answered through the response URL."""

from __future__ import annotations

import logging
import re
import time

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.queries import Answer
from bot.services import Services
from handlers.blocks import whoknows as blocks

logger = logging.getLogger(__name__)

COMMAND = "/whoknows"
ANSWER_LIMIT = 5


def register(app: AsyncApp, services: Services) -> None:
    @app.command(COMMAND)
    async def whoknows_command(
        ack: AsyncAck, command: dict, respond: AsyncRespond
    ) -> None:
        query = " ".join(str(command.get("text") or "").split())
        if not query:
            # No graph work to wait for: the help is the acknowledgement itself.
            await ack(**blocks.usage_message())
            return
        # process_before_response is off, so this ack is the HTTP response and
        # everything below runs after Slack already has its 200.
        await ack()
        await answer_query(services, query=query, respond=respond)

    @app.action(blocks.CHOICE_ACTION)
    async def whoknows_choice(
        ack: AsyncAck, action: dict, respond: AsyncRespond
    ) -> None:
        await ack()
        choice = blocks.parse_choice_value(str(action.get("value") or ""))
        query = await services.choice_query(*choice) if choice else None
        if query is None:
            logger.warning("A /whoknows choice named nothing in the current graph")
            return
        await answer_query(
            services,
            query=query,
            respond=respond,
            replace_original=True,
        )

    @app.action(re.compile(rf"^{blocks.SUGGESTION_ACTION}_\d+$"))
    async def whoknows_suggestion(
        ack: AsyncAck, action: dict, respond: AsyncRespond
    ) -> None:
        await ack()
        query = " ".join(str(action.get("value") or "").split())
        if not query:
            return
        await answer_query(
            services,
            query=query,
            respond=respond,
            replace_original=True,
        )


async def answer_query(
    services: Services,
    *,
    query: str,
    respond: AsyncRespond,
    replace_original: bool = False,
) -> Answer:
    """Rank colleagues for `query` and post the answer once to the response URL."""
    started = time.monotonic()
    answer = await services.who_knows(query, limit=ANSWER_LIMIT)

    message = blocks.answer_message(answer)
    response = await respond(**message, replace_original=replace_original)
    if response.status_code != 200:
        # A refused Block Kit payload still leaves the plain answer worth sending.
        logger.warning(
            "The response URL refused the /whoknows blocks (%s); sending text only",
            response.status_code,
        )
        response = await respond(
            text=message["text"],
            response_type="ephemeral",
            replace_original=replace_original,
        )
    logger.info(
        "Answered /whoknows: %s, %d colleagues, in %.0f ms",
        answer.match.kind if answer.match else "no match",
        len(answer.people),
        (time.monotonic() - started) * 1000,
    )
    return answer
