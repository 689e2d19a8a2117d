"""Teams, users and keys for a LiteLLM proxy that runs without a database.

LiteLLM keeps virtual keys and teams in PostgreSQL; `llmstats demo` and the end-to-end
tests run the proxy without one, so this custom-auth hook (`general_settings.custom_auth`)
turns a bearer token into an identity instead. Tokens read
`sk-llmstats-<team>-<user>[-<label>]`; anything else is refused. The proxy then fills
LiteLLM's own key, team and user metadata from it, exactly as it does for database keys.
"""

from __future__ import annotations

import hashlib
from typing import Any

TOKEN_PREFIX = "sk-llmstats-"


def token_for(team: str, user: str, label: str = "key") -> str:
    return f"{TOKEN_PREFIX}{team}-{user}-{label}"


def identity_of(token: str) -> dict[str, str]:
    """The identity a token stands for; ValueError if it is not one of ours."""
    if not token.startswith(TOKEN_PREFIX):
        raise ValueError("unknown key")
    team, _, rest = token.removeprefix(TOKEN_PREFIX).partition("-")
    user, _, label = rest.partition("-")
    if not team or not user:
        raise ValueError("unknown key")
    return {
        "api_key": hashlib.sha256(token.encode()).hexdigest(),
        "key_alias": f"{team}-{user}-{label or 'key'}",
        "team_id": f"team-{team}",
        "team_alias": team,
        "user_id": user,
        "org_id": "org-demo",
    }


async def user_api_key_auth(request: Any, api_key: str) -> Any:
    from litellm.proxy._types import UserAPIKeyAuth

    who = identity_of(api_key.removeprefix("Bearer ").strip())
    return UserAPIKeyAuth(
        api_key=who["api_key"],
        key_alias=who["key_alias"],
        team_id=who["team_id"],
        team_alias=who["team_alias"],
        user_id=who["user_id"],
        org_id=who["org_id"],
    )
