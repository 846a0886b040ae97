-- One-time codes, the event outbox, the code-request ledger, login throttling and its audit.
-- depends: 0001.users-and-credentials

ALTER TABLE users ADD COLUMN password_changed_at timestamptz;
ALTER TABLE users ADD COLUMN last_login_at timestamptz;

-- Codes are stored only as keyed hashes (HMAC-SHA256 over id and code).
CREATE TABLE otp_codes (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose        text NOT NULL
                   CHECK (purpose IN ('registration', 'login', 'credential', 'password_reset')),
    channel        text NOT NULL CHECK (channel IN ('email', 'sms')),
    recipient      text NOT NULL,
    code_hash      bytea NOT NULL,
    key_id         text NOT NULL,
    attempts       int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts   int NOT NULL CHECK (max_attempts > 0),
    expires_at     timestamptz NOT NULL,
    consumed_at    timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX otp_codes_latest ON otp_codes (user_id, purpose, created_at DESC);

-- Every code or notice sent to a person, for cool-downs and hourly caps (SMS costs money).
CREATE TABLE code_requests (
    id          bigserial PRIMARY KEY,
    recipient   text NOT NULL,
    client_ip   text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX code_requests_recipient ON code_requests (recipient, created_at);
CREATE INDEX code_requests_ip ON code_requests (client_ip, created_at);

-- Events written in the same transaction as the change they announce; a relay publishes them.
CREATE TABLE outbox (
    id            uuid PRIMARY KEY,
    subject       text NOT NULL,
    payload       bytea NOT NULL,
    headers       jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz,
    attempts      int NOT NULL DEFAULT 0,
    last_error    text
);
CREATE INDEX outbox_pending ON outbox (created_at) WHERE published_at IS NULL;

-- Failed-password counters per (account, client IP) and per account (ip = '').
-- `subject` is a keyed hash of the normalized username: unknown names are counted too,
-- without storing what strangers typed.
CREATE TABLE login_throttle (
    scope              text NOT NULL CHECK (scope IN ('account_ip', 'account')),
    subject            text NOT NULL,
    ip                 text NOT NULL DEFAULT '',
    failures           int NOT NULL DEFAULT 0 CHECK (failures >= 0),
    window_started_at  timestamptz NOT NULL DEFAULT now(),
    locked_until       timestamptz,
    lock_count         int NOT NULL DEFAULT 0,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, subject, ip)
);

CREATE TABLE auth_audit (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    event     text NOT NULL CHECK (event IN
              ('login_succeeded', 'login_failed', 'login_refused_locked', 'account_locked')),
    user_id   uuid REFERENCES users (id) ON DELETE SET NULL,
    subject   text NOT NULL,
    ip        text NOT NULL DEFAULT ''
);
CREATE INDEX auth_audit_user ON auth_audit (user_id, at);
