-- The counter's catalogue is ordered by the product's version in the catalogue, not by the
-- event's time (a forged or skewed time must not freeze a price). Rows kept so far get
-- version 0, so the next real product event, whatever its version, replaces them.
ALTER TABLE products ADD COLUMN version integer NOT NULL DEFAULT 0 CHECK (version >= 0);
ALTER TABLE products ALTER COLUMN version DROP DEFAULT;
ALTER TABLE products DROP COLUMN state_time;
