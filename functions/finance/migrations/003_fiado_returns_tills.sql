-- Issue 17: fiado (sales on a customer's account), a customer's payments, returns of part of a
-- sale, and each operator's till sessions.

-- What the shop's customers owe it: Dr by a fiado sale, Cr by their payments and by the fiado
-- part of a return or a cancellation. An asset, like the card receivables; not in the result.
INSERT INTO accounts (code, name, kind, normal_side, report) VALUES
    ('clientes_a_receber', 'Clientes a receber (fiado)', 'asset', 'debit', NULL);

-- An entry's payment method may now be fiado (a fiado sale, its return or cancellation). The
-- lines carry the entry's method (001's balance check holds them equal) and the daily totals
-- (002) sum them per method as they come: fiado gets its own rows there, nothing else changes.
-- Adding a constraint writes no row, so the append-only triggers have nothing to say.
ALTER TABLE entries DROP CONSTRAINT entries_payment_method_check;
ALTER TABLE entries ADD CONSTRAINT entries_payment_method_check
    CHECK (payment_method IN ('pix', 'debit', 'credit', 'cash', 'fiado'));

-- The entries of one sale (its payment, its returns, its refund): found by the sale.
CREATE INDEX entries_sale ON entries (sale_id, cause) WHERE sale_id IS NOT NULL;

-- The till sessions operators closed (till.session_closed), once each: the daily cash closing
-- lists the sessions of its day (the shop day the session was opened on) and sums them.
-- Nothing is posted from them: the money they counted was posted by each sale, payment,
-- return and sangria/suprimento as it happened.
CREATE TABLE till_sessions (
    session_id uuid PRIMARY KEY,
    operator_id uuid NOT NULL,
    day date NOT NULL,
    opened_at timestamptz NOT NULL,
    closed_at timestamptz NOT NULL CHECK (closed_at >= opened_at),
    opening_cents bigint NOT NULL CHECK (opening_cents >= 0),
    expected_cash_cents bigint NOT NULL,
    expected_pix_cents bigint NOT NULL,
    expected_debit_cents bigint NOT NULL,
    expected_credit_cents bigint NOT NULL,
    counted_cash_cents bigint NOT NULL,
    counted_pix_cents bigint NOT NULL,
    counted_debit_cents bigint NOT NULL,
    counted_credit_cents bigint NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX till_sessions_day ON till_sessions (day, opened_at);
