"""An address waiting for its code: what adding a credential and changing the email share."""

import uuid
from datetime import datetime

from tessera_identity.domain.credentials import CredentialType
from tessera_identity.domain.otp import OtpPurpose
from tessera_identity.flows.codes.service import Codes
from tessera_identity.ports import Credential, UnitOfWork, User
from tessera_shared.contracts.events import Channel
from tessera_shared.errors import Code, TesseraError


async def add_pending_address(
    uow: UnitOfWork,
    codes: Codes,
    user: User,
    kind: CredentialType,
    address: str,
    purpose: OtpPurpose,
    client_ip: str,
    now: datetime,
) -> Channel:
    """An unverified credential (replacing one of `kind` that cannot sign in) and its code.

    The address is locked against parallel claims; one another account verified is refused
    (`409 credential_unavailable`) without saying whose; codes count against the hourly caps.
    """
    await uow.users.lock_address(kind, address)
    if await uow.users.verified_owner(kind, address) is not None:
        raise TesseraError(Code.CREDENTIAL_UNAVAILABLE)
    await uow.users.delete_unverified(user.id, kind)
    await uow.users.add_credential(
        Credential(id=uuid.uuid4(), user_id=user.id, type=kind, value=address, verified_at=None)
    )
    sent = await codes.send_code(uow, user, kind, address, purpose, client_ip, now)
    return sent.channel
