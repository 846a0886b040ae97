-- Sign-in attempts in flight apart from counted failures, wrong second-factor codes per
-- account, and a credential version for sessions racing a password reset.
-- depends: 0005.auth-surface

-- Attempts reserved and not settled yet. They hold a slot (parallel guesses cannot exceed the
-- limit) but never set a lock; a reservation abandoned by a dead process frees its slot when
-- `in_flight_until` passes.
ALTER TABLE login_throttle ADD COLUMN in_flight int NOT NULL DEFAULT 0 CHECK (in_flight >= 0);
ALTER TABLE login_throttle ADD COLUMN in_flight_until timestamptz;

-- Wrong TOTP and recovery codes per account, across MFA challenges: a new sign-in with the
-- password does not restart the count. Deleted when a code is accepted.
CREATE TABLE second_factor_throttle (
    user_id            uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    failures           int NOT NULL DEFAULT 0 CHECK (failures >= 0),
    window_started_at  timestamptz NOT NULL DEFAULT now()
);

-- Moves with every new password (reset or change): a sign-in checked against an older one
-- must not become a session once the sessions of the reset were ended.
ALTER TABLE users ADD COLUMN credential_version bigint NOT NULL DEFAULT 0
    CHECK (credential_version >= 0);
