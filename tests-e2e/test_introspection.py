"""RFC 7662 introspection and RFC 8414 metadata as a resource server in another language uses
them: through the real gateway, with a real session signed in, logged out, and its JWKS."""

import base64
import json
import urllib.parse
import uuid

import jwt

from .test_foundation import call
from .test_registration import PASSWORD, code_for, post, registration

APP = "orders-web"


def signed_in(suite, app: str = APP) -> dict[str, str]:
    """A new verified account signed in through the gateway for `app`: its token and ids."""
    address = f"e2e.introspect.{uuid.uuid4().hex[:12]}@example.com"
    status, _, body = post(suite, "/v1/users/initiate-registration", registration(address))
    assert status == 200, body
    user_id = body["user_id"]
    verification = json.dumps(
        {"user_id": user_id, "credential_type": "email", "otp": code_for(suite, address)}
    ).encode()
    status, _, body = post(suite, "/v1/users/verify-registration", verification)
    assert status == 200, body
    status, _, body = call(
        f"{suite.gateway_url}/v1/authenticate",
        "POST",
        json.dumps({"username": address, "password": PASSWORD}).encode(),
        **{
            "Content-Type": "application/json",
            "X-Device-ID": f"e2e-{uuid.uuid4().hex[:8]}",
            "X-App-ID": app,
        },
    )
    assert status == 200, body
    return {"token": body["access_token"], "user_id": user_id}


def introspect(url: str, token: str, **auth: str):
    body = urllib.parse.urlencode({"token": token, "token_type_hint": "access_token"}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **auth}
    return call(url, "POST", body, **headers)


def basic(api_key: str) -> dict[str, str]:
    pair = f"{api_key[:12]}:{api_key}".encode()
    return {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}


def test_a_resource_server_introspects_a_live_token_then_sees_it_end_at_logout(suite):
    user = signed_in(suite)
    url = f"{suite.gateway_url}/oauth2/introspect"

    for auth in ({"X-API-Key": suite.api_key}, basic(suite.api_key)):
        status, headers, body = introspect(url, user["token"], **auth)
        assert status == 200, body
        assert headers["cache-control"] == "no-store"
        claims = jwt.decode(user["token"], options={"verify_signature": False})
        assert body == {
            "active": True,
            "sub": user["user_id"],
            "sid": claims["sid"],
            "exp": claims["exp"],
            "iat": claims["iat"],
            "client_id": APP,
            "amr": ["pwd"],
            "token_type": "Bearer",
            "iss": "tessera",
            "aud": "tessera",
        }
        assert claims["client_id"] == claims["aid"] == APP

    status, _, body = call(
        f"{suite.gateway_url}/v1/logout", "POST", None, Authorization=f"Bearer {user['token']}"
    )
    assert status in (200, 204), body

    status, headers, body = introspect(url, user["token"], **{"X-API-Key": suite.api_key})
    assert (status, body) == (200, {"active": False})
    assert headers["cache-control"] == "no-store"


def test_without_the_api_key_introspection_is_a_401_with_the_basic_challenge(suite):
    user = signed_in(suite)
    status, headers, body = introspect(
        f"{suite.gateway_url}/oauth2/introspect",
        user["token"],
        Authorization=f"Bearer {user['token']}",  # a user's token is no client credential
    )
    assert (status, body["code"]) == (401, "unauthorized")
    assert headers["www-authenticate"] == 'Basic realm="tessera"'


def test_the_metadata_leads_to_the_introspection_endpoint_and_the_key_set(suite):
    status, headers, metadata = call(f"{suite.gateway_url}/.well-known/oauth-authorization-server")
    assert status == 200
    assert headers["cache-control"] == "public, max-age=3600"
    assert metadata["issuer"] == "tessera"
    assert metadata["introspection_endpoint"] == f"{suite.gateway_url}/oauth2/introspect"
    assert metadata["jwks_uri"] == f"{suite.gateway_url}/.well-known/jwks.json"
    assert metadata["introspection_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "tessera_api_key",
    ]
    assert metadata["response_types_supported"] == []

    status, _, jwks = call(metadata["jwks_uri"])
    assert status == 200
    user = signed_in(suite)
    kid = jwt.get_unverified_header(user["token"])["kid"]
    [key] = [k for k in jwks["keys"] if k["kid"] == kid]
    claims = jwt.decode(user["token"], jwt.PyJWK(key).key, algorithms=["EdDSA"], audience="tessera")
    assert claims["iss"] == metadata["issuer"]

    status, _, body = introspect(
        metadata["introspection_endpoint"], user["token"], **basic(suite.api_key)
    )
    assert (status, body["active"], body["client_id"]) == (200, True, APP)


def test_the_gateway_s_document_describes_both_routes(suite):
    status, _, document = call(f"{suite.gateway_url}/openapi.json")
    assert status == 200
    introspect_ = document["paths"]["/oauth2/introspect"]["post"]
    assert introspect_["security"] == [{"ApiKey": []}, {"ClientBasic": []}]
    assert "application/x-www-form-urlencoded" in introspect_["requestBody"]["content"]
    assert {"200", "400", "401", "429", "503"} <= set(introspect_["responses"])
    assert "200" in document["paths"]["/.well-known/oauth-authorization-server"]["get"]["responses"]
