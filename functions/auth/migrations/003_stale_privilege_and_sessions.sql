-- Issue 14. A user's security stamp: every access token carries it, and the gateway
-- checks it on each request, so a role change, deactivation or new password (each bumps
-- it) ends the user's tokens at once instead of when they expire.
ALTER TABLE users ADD COLUMN security_version integer NOT NULL DEFAULT 1;
-- The first admin's password was printed in a log or kept in a Secret: it must be
-- replaced at first login. An admin created by provisioning whose password was never
-- changed since (updated_at = created_at) is such a bootstrap admin too.
ALTER TABLE users ADD COLUMN must_change_password boolean NOT NULL DEFAULT false;
UPDATE users SET must_change_password = true
    WHERE username = 'admin' AND role = 'admin' AND updated_at = created_at;

-- A login's absolute end: every refresh of the family carries it forward unchanged.
ALTER TABLE refresh_tokens ADD COLUMN session_expires_at timestamptz;
UPDATE refresh_tokens SET session_expires_at = expires_at;
ALTER TABLE refresh_tokens ALTER COLUMN session_expires_at SET NOT NULL;
-- Purging expired and long-revoked sessions walks these.
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

-- Failures are now counted per (username, address): one index serves both checks.
CREATE INDEX login_failures_pair ON login_failures (username, address, failed_at);
