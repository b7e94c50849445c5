"""`/rapport help|optout|optin|digest`: settings, privacy and help in one command."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import privacy
from bot.services import Services
from handlers.blocks import help as blocks
from handlers.escape import escape
from handlers.log_interaction import users_info_via

logger = logging.getLogger(__name__)

COMMAND = "/rapport"


def register(app: AsyncApp, services: Services) -> None:
    @app.command(COMMAND)
    async def rapport_command(
        ack: AsyncAck, command: dict, client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        words = str(command.get("text") or "").split()
        sub = words[0].lower() if words else "help"
        if sub == "help":
            # Nothing to look up: the help is the acknowledgement itself.
            await ack(**blocks.help_message())
            return
        if sub not in ("optout", "optin", "digest", "digests"):
            intro = blocks.UNKNOWN_SUBCOMMAND.format(word=escape(sub[:50]))
            await ack(**blocks.help_message(intro))
            return
        await ack()
        user_id = str(command.get("user_id") or "")
        if sub == "optout":
            message = await _opt_out(services, client, user_id, command.get("team_id"))
        elif sub == "optin":
            message = await _opt_in(services, user_id)
        else:
            message = await _digest(services, user_id, words[1:])
        await respond(**message)
        logger.info("Answered /rapport %s", sub)


async def _opt_out(
    services: Services, client: AsyncWebClient, user_id: str, team_id: str | None
) -> dict:
    result = await privacy.opt_out(
        services,
        slack_user_id=user_id,
        users_info=users_info_via(client),
        team_id=team_id,
    )
    if result.person_id is None:
        return blocks.reply(blocks.NO_PROFILE)
    if result.already and not result.removed_participations:
        return blocks.reply(blocks.ALREADY_OUT)
    return blocks.reply(blocks.OPTED_OUT.format(count=result.removed_participations))


async def _opt_in(services: Services, user_id: str) -> dict:
    changed = await privacy.opt_in(services, slack_user_id=user_id)
    return blocks.reply(blocks.OPTED_IN if changed else blocks.NOT_OUT)


async def _digest(services: Services, user_id: str, args: list[str]) -> dict:
    # Imported here: digests are their own feature, and /rapport help, optout
    # and optin keep working in an installation without them.
    try:
        from bot import digests
    except ImportError:
        logger.warning("bot.digests is not importable; /rapport digest unavailable")
        return blocks.reply(blocks.DIGESTS_UNAVAILABLE)
    arg = args[0].lower() if args else "preview"
    if arg in ("preview", "now", "show"):
        result = await digests.preview_digest(services, user_id)
    elif arg in ("on", "off"):
        result = await digests.set_digests_enabled(services, user_id, arg == "on")
        if result is None or isinstance(result, bool):
            result = blocks.DIGESTS_ON if arg == "on" else blocks.DIGESTS_OFF
    else:
        return blocks.reply(blocks.DIGEST_USAGE)
    return _as_message(result)


def _as_message(result: object) -> dict:
    """Digest answers as an ephemeral message, whatever shape they come in."""
    if isinstance(result, dict):
        message = {k: v for k, v in result.items() if k in ("text", "blocks")}
        message.setdefault("text", blocks.EMPTY_DIGEST)
        return {"response_type": "ephemeral", **message}
    if isinstance(result, list):
        return {
            "response_type": "ephemeral",
            "text": blocks.EMPTY_DIGEST,
            "blocks": result,
        }
    return blocks.reply(str(result) if result else blocks.EMPTY_DIGEST)
