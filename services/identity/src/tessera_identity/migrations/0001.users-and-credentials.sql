-- Users and their email/phone credentials.
-- depends:

CREATE TABLE users (
    id             uuid PRIMARY KEY,
    status         text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'active', 'disabled')),
    locale         text NOT NULL DEFAULT 'en' CHECK (locale IN ('en', 'de', 'fr', 'it')),
    password_hash  text,
    mfa_mode       text NOT NULL DEFAULT 'none' CHECK (mfa_mode IN ('none', 'email', 'sms', 'totp')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE credentials (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type         text NOT NULL CHECK (type IN ('email', 'phone')),
    value        text NOT NULL CHECK (length(value) BETWEEN 3 AND 320),
    verified_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, type, value)
);

-- An address belongs to at most one account once verified.
CREATE UNIQUE INDEX credentials_verified_value ON credentials (type, value)
    WHERE verified_at IS NOT NULL;
CREATE INDEX credentials_lookup ON credentials (type, value);
