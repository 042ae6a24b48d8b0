-- Issue 18: the card money the acquirer owes the shop, one row per expected settlement.
--
-- A card payment's approval (payment.approved) books its net in recebíveis de cartão
-- (Dr recebíveis amount, Dr taxas / Cr recebíveis the fee). Its rows here say when that net
-- arrives: a debit card's once, D+1; a credit card's once per installment, every 30 days
-- (functions/finance/receivables.py). Settling a row moves its net from recebíveis to banco
-- (one ledger entry per row, cause 'card.settlement', cause_id the row's id: never twice).
-- So recebíveis de cartão's balance is, at any moment, the net of the rows still expected.
--
-- A refund cancels what is still expected (the acquirer no longer pays it); what it had paid
-- already it takes back from a later settlement: one row of kind 'refund', installment 0,
-- with the negative of what was settled (Cr banco / Dr recebíveis when it is settled).
CREATE TABLE card_settlements (
    id uuid PRIMARY KEY,
    payment_id uuid NOT NULL,
    sale_id uuid NOT NULL,
    method text NOT NULL CHECK (method IN ('debit', 'credit')),
    kind text NOT NULL CHECK (kind IN ('installment', 'refund')),
    installment integer NOT NULL CHECK (installment BETWEEN 0 AND 99),
    installments integer NOT NULL CHECK (installments BETWEEN 1 AND 99),
    approved_on date NOT NULL,
    expected_on date NOT NULL,
    gross_cents bigint NOT NULL,
    fee_cents bigint NOT NULL,
    net_cents bigint NOT NULL,
    status text NOT NULL DEFAULT 'expected'
        CHECK (status IN ('expected', 'settled', 'cancelled')),
    settled_on date,
    entry_id uuid,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CHECK (net_cents = gross_cents - fee_cents),
    -- An installment is money in (gross and fee ≥ 0); a refund's row takes money back.
    CHECK ((kind = 'installment') = (installment >= 1)),
    CHECK (kind = 'refund' OR (gross_cents >= 0 AND fee_cents >= 0)),
    CHECK ((status = 'settled') = (settled_on IS NOT NULL)),
    UNIQUE (payment_id, installment)
);
-- What falls due (the daily settle) and the calendar (the list by expected day).
CREATE INDEX card_settlements_due ON card_settlements (expected_on) WHERE status = 'expected';
CREATE INDEX card_settlements_calendar ON card_settlements (expected_on, payment_id, installment);
