"""Who "this bot" is: its open_id, which is how a group message says it @-ed the bot.

Asked once at start-up from Feishu's bot-info API (`GET /open-apis/bot/v3/info`, tenant token)
through lark-oapi's own transport and token cache, unless `FEISHU_BOT_OPEN_ID` is set.
"""

import asyncio
import json

from aegis.shared.lark_sdk import load_lean

load_lean()

from lark_oapi.core.enum import AccessTokenType, HttpMethod, LogLevel  # noqa: E402 - after load_lean()
from lark_oapi.core.http import Transport  # noqa: E402
from lark_oapi.core.model import BaseRequest, Config, RequestOption  # noqa: E402
from lark_oapi.core.token import verify  # noqa: E402

BOT_INFO_PATH = "/open-apis/bot/v3/info"


class BotIdentityError(Exception):
    """The bot's open_id could not be learnt."""


async def fetch_bot_open_id(app_id: str, app_secret: str, base_url: str, timeout_s: float = 10.0) -> str:
    """The open_id Feishu knows this app's bot by."""
    config = Config()
    config.app_id = app_id
    config.app_secret = app_secret
    config.domain = base_url.rstrip("/")
    config.timeout = timeout_s
    config.log_level = LogLevel.WARNING
    request = BaseRequest.builder().http_method(HttpMethod.GET).uri(BOT_INFO_PATH).build()
    request.token_types = {AccessTokenType.TENANT}
    option = RequestOption()
    try:
        # The SDK fetches (and caches) the tenant token with a blocking call.
        await asyncio.to_thread(verify, config, request, option)
        response = await Transport.aexecute(config, request, option)
    except Exception as error:
        raise BotIdentityError(f"asking Feishu for the bot's open_id failed: {error}") from error
    try:
        answer = json.loads(response.content or b"{}")
    except ValueError:
        answer = {}
    open_id = (answer.get("bot") or {}).get("open_id") if isinstance(answer, dict) else None
    if response.status_code != 200 or answer.get("code") != 0 or not open_id:
        raise BotIdentityError(
            f"Feishu's bot-info API answered HTTP {response.status_code} "
            f"code {answer.get('code')}: {answer.get('msg')} (set FEISHU_BOT_OPEN_ID to skip it)"
        )
    return str(open_id)
