"""The identity ASGI app (granian calls `create_app`)."""

from pathlib import Path

import psycopg
import psycopg_pool
from litestar import Litestar

from tessera_identity.api.account import AccountController
from tessera_identity.api.admin import AdminController
from tessera_identity.api.auth_account import AuthAccountController
from tessera_identity.api.auth_otp import AuthOtpController
from tessera_identity.api.email_change import EmailChangeController
from tessera_identity.api.internal import InternalController
from tessera_identity.api.own_data import delete_account, export_data
from tessera_identity.api.password import PasswordChangeController, PasswordResetController
from tessera_identity.api.profile import update_profile
from tessera_identity.api.registration import RegistrationController
from tessera_identity.api.totp import TotpController
from tessera_identity.bootstrap import DEPENDENCIES, lifespan
from tessera_identity.config import IdentitySettings, load_settings
from tessera_shared.http.app import build_app
from tessera_shared.http.health import HealthChecks
from tessera_shared.tokens import JwksCache

NAME = "tessera-identity"
CATALOGS = Path(__file__).parent / "locales"


def create_app(settings: IdentitySettings | None = None, jwks: JwksCache | None = None) -> Litestar:
    """`jwks`: tests give their own signing keys; by default the session service's JWKS."""
    settings = settings or load_settings()
    health = HealthChecks()
    return build_app(
        name=NAME,
        settings=settings,
        title="Tessera identity",
        route_handlers=[
            RegistrationController,
            AccountController,
            TotpController,
            PasswordResetController,
            PasswordChangeController,
            update_profile,
            export_data,
            delete_account,
            EmailChangeController,
            AuthAccountController,
            AuthOtpController,
            InternalController,
            AdminController,
        ],
        lifespan=[lifespan(settings, health, jwks)],
        health=health,
        catalogs=[CATALOGS],
        dependencies=DEPENDENCIES,
        unavailable_when=(psycopg.OperationalError, psycopg_pool.PoolTimeout),
    )
