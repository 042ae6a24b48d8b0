-- One row per payment attempt of a sale; the simulated acquirer and bank answer here.
CREATE TABLE payments (
    id uuid PRIMARY KEY,
    sale_id uuid NOT NULL,
    attempt integer NOT NULL,
    method text NOT NULL CHECK (method IN ('pix', 'debit', 'credit', 'cash')),
    amount_cents bigint NOT NULL CHECK (amount_cents >= 0),
    installments integer,
    cash_received_cents bigint,
    change_cents bigint,
    fee_cents bigint NOT NULL DEFAULT 0,
    status text NOT NULL CHECK (status IN ('pending', 'approved', 'declined', 'refunded')),
    reason text,
    pix_txid text,
    pix_payload text,
    confirm_after timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (sale_id, attempt)
);
CREATE INDEX payments_pix_due ON payments (confirm_after) WHERE status = 'pending';

-- Sales cancelled at the counter: a charge that arrives later is not made.
CREATE TABLE cancelled_sales (
    sale_id uuid PRIMARY KEY,
    cancelled_at timestamptz NOT NULL DEFAULT now()
);
