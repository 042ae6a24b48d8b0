-- Sales imported from the shop's old program (issue 18): each legacy number once, so a
-- second import of the same sale is skipped, and the sale it became (cancel-sale refuses
-- those: the acquirer never held their money; returns give it back).
CREATE TABLE imported_sales (
    legacy_id text PRIMARY KEY CHECK (length(legacy_id) BETWEEN 1 AND 60),
    -- Claimed before its sale is written (a concurrent import of the same number waits, then
    -- skips it): the sale follows in the same transaction.
    sale_id uuid NOT NULL UNIQUE REFERENCES sales (id) DEFERRABLE INITIALLY DEFERRED,
    imported_by uuid NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now()
);
