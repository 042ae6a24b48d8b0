-- Returns of part of a paid sale (issue 17). Each return refunds its part by the sale's
-- method (copied here: the sale's method is what the money goes back by); its till session
-- is the returning operator's open one, if any. A retried POST with the same
-- Idempotency-Key finds its return instead of making a second one.
CREATE TABLE sale_returns (
    id uuid PRIMARY KEY,
    -- The order returns were made in (each one holds the sale's row lock while it is made).
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    sale_id uuid NOT NULL REFERENCES sales (id),
    returned_by uuid NOT NULL,
    reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 200),
    refund_cents bigint NOT NULL CHECK (refund_cents >= 0),
    payment_method text NOT NULL
        CHECK (payment_method IN ('pix', 'debit', 'credit', 'cash', 'fiado')),
    customer_id uuid,
    till_session_id uuid,
    idempotency_key text,
    request_hash text NOT NULL,
    created_at timestamptz NOT NULL,
    UNIQUE (sale_id, idempotency_key)
);
CREATE INDEX sale_returns_sale ON sale_returns (sale_id, seq);

CREATE TABLE sale_return_items (
    return_id uuid NOT NULL REFERENCES sale_returns (id),
    line integer NOT NULL,
    product_id uuid NOT NULL,
    name text NOT NULL,
    unit text NOT NULL,
    quantity numeric(12, 3) NOT NULL CHECK (quantity > 0),
    refund_cents bigint NOT NULL CHECK (refund_cents >= 0),
    PRIMARY KEY (return_id, line)
);
