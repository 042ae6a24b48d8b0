-- Each operator's own till (issue 17): a drawer session from opening to closing, its
-- sangrias and suprimentos, the customers' account payments and the returns' refunds it
-- took in or paid out. A sale records the session it was made in (sales.till_session_id).

CREATE TABLE till_sessions (
    id uuid PRIMARY KEY,
    operator_id uuid NOT NULL,
    operator_name text CHECK (length(operator_name) <= 100),
    status text NOT NULL CHECK (status IN ('open', 'closed')),
    opened_at timestamptz NOT NULL DEFAULT now(),
    opening_cents bigint NOT NULL CHECK (opening_cents BETWEEN 0 AND 100000000),
    closed_at timestamptz,
    closed_by uuid,
    sales_count integer,
    -- At closing: what was expected and what was counted, per method (the figures stand;
    -- nothing counts in a closed session).
    expected_cash_cents bigint,
    expected_pix_cents bigint,
    expected_debit_cents bigint,
    expected_credit_cents bigint,
    counted_cash_cents bigint CHECK (counted_cash_cents >= 0),
    counted_pix_cents bigint CHECK (counted_pix_cents >= 0),
    counted_debit_cents bigint CHECK (counted_debit_cents >= 0),
    counted_credit_cents bigint CHECK (counted_credit_cents >= 0),
    CHECK ((status = 'open') = (closed_at IS NULL)),
    CHECK (status = 'open' OR (
        closed_by IS NOT NULL AND sales_count IS NOT NULL
        AND expected_cash_cents IS NOT NULL AND expected_pix_cents IS NOT NULL
        AND expected_debit_cents IS NOT NULL AND expected_credit_cents IS NOT NULL
        AND counted_cash_cents IS NOT NULL AND counted_pix_cents IS NOT NULL
        AND counted_debit_cents IS NOT NULL AND counted_credit_cents IS NOT NULL))
);
-- One open session per operator: of two concurrent openings, one commits and the other
-- meets this index (and answers 409).
CREATE UNIQUE INDEX till_sessions_one_open ON till_sessions (operator_id) WHERE status = 'open';
CREATE INDEX till_sessions_opened ON till_sessions (opened_at DESC);
CREATE INDEX till_sessions_operator ON till_sessions (operator_id, opened_at DESC);

CREATE TABLE till_movements (
    id uuid PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES till_sessions (id),
    kind text NOT NULL CHECK (kind IN ('sangria', 'suprimento')),
    amount_cents bigint NOT NULL CHECK (amount_cents BETWEEN 1 AND 100000000),
    reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 200),
    at timestamptz NOT NULL DEFAULT now(),
    by_user uuid NOT NULL
);
CREATE INDEX till_movements_session ON till_movements (session_id, at);

-- A customer's account payment, counted once (per payment) in the receiver's open session.
CREATE TABLE till_customer_payments (
    payment_id uuid PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES till_sessions (id),
    customer_id uuid NOT NULL,
    method text NOT NULL CHECK (method IN ('cash', 'pix', 'debit', 'credit')),
    amount_cents bigint NOT NULL CHECK (amount_cents BETWEEN 1 AND 100000000),
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX till_customer_payments_session ON till_customer_payments (session_id);

-- Money a return gave back out of a session's drawer, once per return.
CREATE TABLE till_refunds (
    return_id uuid PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES till_sessions (id),
    method text NOT NULL CHECK (method IN ('cash', 'pix', 'debit', 'credit')),
    amount_cents bigint NOT NULL CHECK (amount_cents BETWEEN 1 AND 100000000),
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX till_refunds_session ON till_refunds (session_id);

-- 004_fiado adds the column; kept here too so that this file stands on its own.
ALTER TABLE sales ADD COLUMN IF NOT EXISTS till_session_id uuid;
ALTER TABLE sales ADD CONSTRAINT sales_till_session_fk
    FOREIGN KEY (till_session_id) REFERENCES till_sessions (id);
CREATE INDEX IF NOT EXISTS sales_till_session ON sales (till_session_id)
    WHERE till_session_id IS NOT NULL;
