-- Second factors: TOTP secrets (encrypted), recovery codes (hashed), step-up codes, MFA audit.
-- depends: 0002.codes-outbox-throttle

-- One authenticator app per user: pending from setup until confirmed with a first code.
CREATE TABLE totp_secrets (
    user_id        uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    key_id         text NOT NULL,
    -- AES-256-GCM: 12-byte nonce || ciphertext+tag; the user id is the associated data.
    secret_sealed  bytea NOT NULL CHECK (length(secret_sealed) > 12),
    confirmed_at   timestamptz,
    -- Newest 30-second step a code was accepted for: no code (and no older one) works twice.
    last_step      bigint NOT NULL DEFAULT 0 CHECK (last_step >= 0),
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- Single-use recovery codes, stored only as keyed hashes; a new set replaces the old one.
CREATE TABLE recovery_codes (
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash   bytea NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, code_hash)
);

ALTER TABLE otp_codes DROP CONSTRAINT otp_codes_purpose_check;
ALTER TABLE otp_codes ADD CONSTRAINT otp_codes_purpose_check CHECK (purpose IN
    ('registration', 'login', 'credential', 'password_reset', 'step_up'));

ALTER TABLE auth_audit DROP CONSTRAINT auth_audit_event_check;
ALTER TABLE auth_audit ADD CONSTRAINT auth_audit_event_check CHECK (event IN
    ('login_succeeded', 'login_failed', 'login_refused_locked', 'account_locked',
     'credential_verified', 'mfa_mode_changed', 'totp_enabled', 'totp_removed',
     'recovery_codes_generated', 'recovery_code_used'));
