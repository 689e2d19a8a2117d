"""`error_code` for a failure whose provider code was lost, derived from LiteLLM's class.

LiteLLM maps a provider's error to one of its exception classes, and on the way the
provider's machine-readable code is often lost: a context-length error from Anthropic or
Bedrock is raised as `ContextWindowExceededError` with no code at all, so `error_code =
'context_length_exceeded'` filters missed it. Where no provider code survives, the class
LiteLLM raised says what kind of failure it was; the row's `error_code_source` then says
`derived` (and `provider` where the code is the provider's own), so a report can tell the
two apart. The table is in docs/events.md; a class not in it is looked up by its bases
(an `ImageFetchError` is a `BadRequestError`), and a class nobody knows derives nothing.
"""

from __future__ import annotations

# LiteLLM's exception class (litellm/exceptions.py) → the code stored for it. Where a
# provider has a well-known code for the same failure (OpenAI's context_length_exceeded,
# rate_limit_exceeded, content_policy_violation), that spelling is used.
DERIVED_CODES: dict[str, str] = {
    "ContextWindowExceededError": "context_length_exceeded",
    "ContentPolicyViolationError": "content_policy_violation",
    "RateLimitError": "rate_limit_exceeded",
    "BudgetExceededError": "budget_exceeded",
    "AuthenticationError": "authentication_error",
    "PermissionDeniedError": "permission_denied",
    "NotFoundError": "not_found",
    "Timeout": "timeout",
    "APIConnectionError": "api_connection_error",
    "UnsupportedParamsError": "unsupported_params",
    "PaymentRequiredError": "payment_required",
    "RejectedRequestError": "rejected_request",
    "UnprocessableEntityError": "unprocessable_entity",
    "BadRequestError": "bad_request",
    "MidStreamFallbackError": "mid_stream_error",
    "ServiceUnavailableError": "service_unavailable",
    "BadGatewayError": "bad_gateway",
    "InternalServerError": "internal_server_error",
    "GuardrailRaisedException": "guardrail_raised",
    "BlockedPiiEntityError": "blocked_pii_entity",
    "JSONSchemaValidationError": "json_schema_validation",
    "APIResponseValidationError": "response_validation",
}

PROVIDER = "provider"
DERIVED = "derived"


def derived_code(error_class: str | None, exception: object) -> str | None:
    """The code for LiteLLM's exception class (by name, then by the exception's bases)."""
    if error_class is not None:
        code = DERIVED_CODES.get(error_class)
        if code is not None:
            return code
    if isinstance(exception, BaseException):
        for base in type(exception).__mro__:
            code = DERIVED_CODES.get(base.__name__)
            if code is not None:
                return code
    return None
