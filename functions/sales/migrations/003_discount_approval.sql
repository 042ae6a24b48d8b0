-- A discount above the seller's limit names the admin who approved it on the spot; the
-- approval's id (its JWT `jti`) pays for one sale only.
ALTER TABLE sales ADD COLUMN discount_approved_by uuid;
ALTER TABLE sales ADD COLUMN discount_approval_jti text UNIQUE;
