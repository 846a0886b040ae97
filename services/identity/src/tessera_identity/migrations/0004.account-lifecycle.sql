-- The account lifecycle: a display name, password reset and change, email change.
-- depends: 0003.second-factors

-- Shown to the person and in messages; trimmed by identity, NULL when not given.
ALTER TABLE users ADD COLUMN name text CHECK (name IS NULL OR length(name) BETWEEN 1 AND 100);

ALTER TABLE otp_codes DROP CONSTRAINT otp_codes_purpose_check;
ALTER TABLE otp_codes ADD CONSTRAINT otp_codes_purpose_check CHECK (purpose IN
    ('registration', 'login', 'credential', 'password_reset', 'step_up', 'email_change'));

ALTER TABLE auth_audit DROP CONSTRAINT auth_audit_event_check;
ALTER TABLE auth_audit ADD CONSTRAINT auth_audit_event_check CHECK (event IN
    ('login_succeeded', 'login_failed', 'login_refused_locked', 'account_locked',
     'credential_verified', 'mfa_mode_changed', 'totp_enabled', 'totp_removed',
     'recovery_codes_generated', 'recovery_code_used',
     'password_reset', 'password_changed', 'password_change_failed', 'profile_updated',
     'email_changed'));
