"""The bearer token of an `Authorization` header, and the `WWW-Authenticate` values (RFC 6750).

The same as `tessera_verify`'s, which every part verifies tokens with.
"""

from tessera_verify.bearer import INVALID_TOKEN_CHALLENGE as INVALID_TOKEN_CHALLENGE
from tessera_verify.bearer import MISSING_TOKEN_CHALLENGE as MISSING_TOKEN_CHALLENGE
from tessera_verify.bearer import bearer_token as bearer_token
