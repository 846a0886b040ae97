-- The /auth surface: accounts that sign in before their email is verified, the last device.
-- depends: 0004.account-lifecycle

-- An /auth registration is active at once; its email may sign in while still unverified
-- (guide 003 reports `hasValidatedEmail`). At most one such account per address.
ALTER TABLE credentials ADD COLUMN sign_in_unverified boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX credentials_unverified_sign_in ON credentials (type, value)
    WHERE verified_at IS NULL AND sign_in_unverified;

-- User agent of the last successful sign-in (`lastLoggedDevice`).
ALTER TABLE users ADD COLUMN last_login_device text NOT NULL DEFAULT ''
    CHECK (length(last_login_device) <= 256);
