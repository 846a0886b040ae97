-- Administration and data protection: one audit trail of security events and admin actions,
-- searching users by the start of an address.
-- depends: 0006.attempts-in-flight-and-second-factor-guesses

ALTER TABLE auth_audit RENAME TO audit_events;
ALTER INDEX auth_audit_user RENAME TO audit_events_user;

-- Who did it: `user` (the person, or a stranger trying their account), `admin:<key id>`.
ALTER TABLE audit_events ADD COLUMN actor text NOT NULL DEFAULT 'user'
    CHECK (length(actor) BETWEEN 1 AND 64);
-- The X-Request-ID of the request that did it, to find its log lines.
ALTER TABLE audit_events ADD COLUMN request_id text NOT NULL DEFAULT ''
    CHECK (length(request_id) <= 128);

-- An erased account keeps its trail: the user id stays as a tombstone (a random id that names
-- no one once the account is gone), no longer a reference that would empty it.
ALTER TABLE audit_events DROP CONSTRAINT auth_audit_user_id_fkey;

ALTER TABLE audit_events DROP CONSTRAINT auth_audit_event_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_event_check CHECK (event IN
    ('login_succeeded', 'login_failed', 'login_refused_locked', 'account_locked',
     'credential_verified', 'mfa_mode_changed', 'totp_enabled', 'totp_removed',
     'recovery_codes_generated', 'recovery_code_used',
     'password_reset', 'password_changed', 'password_change_failed', 'profile_updated',
     'email_changed',
     'user_created', 'user_updated', 'account_disabled', 'account_enabled', 'account_unlocked',
     'sessions_revoked', 'mfa_reset', 'user_deleted', 'account_deleted', 'data_exported'));

-- The audit listing, newest first, optionally of one action.
CREATE INDEX audit_events_newest ON audit_events (id DESC);
CREATE INDEX audit_events_event ON audit_events (event, id DESC);

-- The admin search: the start of an email or phone number.
CREATE INDEX credentials_value_prefix ON credentials (value text_pattern_ops);
-- The admin listing, newest accounts first (keyset pagination).
CREATE INDEX users_newest ON users (created_at DESC, id DESC);

-- A message to an erased account (its deletion notice) leaves no copy of the address behind:
-- the relay deletes the row once published instead of keeping it.
ALTER TABLE outbox ADD COLUMN erase_on_publish boolean NOT NULL DEFAULT false;
