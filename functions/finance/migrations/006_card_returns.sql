-- Partial returns of card sales (issue 18's follow-up). A return of part of a card sale
-- is posted by the ledger as Dr receita / Cr recebíveis de cartão of what it gave back
-- (sale.returned's refund_cents; the acquirer keeps the fee): that much is no longer
-- expected. The acquirer withholds it from a later settlement, so the return adds one row
-- of kind 'return', its negative gross (no fee), expected card_debit_settlement_days after
-- the return's day, keyed by the return's id (one row per return, however often its event
-- arrives). Settling it posts Dr recebíveis / Cr banco, as a refund's row does. A refund
-- after returns cancels their rows still expected and takes back, with the installments
-- paid, what their settled rows gave back: recebíveis de cartão stays the net of the rows
-- still expected.
ALTER TABLE card_settlements
    ADD COLUMN return_id uuid UNIQUE,
    DROP CONSTRAINT card_settlements_kind_check,
    ADD CONSTRAINT card_settlements_kind_check
        CHECK (kind IN ('installment', 'refund', 'return')),
    -- 005's "an installment is money in": the same rule, with returns beside refunds.
    DROP CONSTRAINT card_settlements_check2,
    ADD CONSTRAINT card_settlements_installment_money_in
        CHECK (kind <> 'installment' OR (gross_cents >= 0 AND fee_cents >= 0)),
    ADD CONSTRAINT card_settlements_return_money_back
        CHECK ((kind = 'return') = (return_id IS NOT NULL)
            AND (kind <> 'return' OR (gross_cents < 0 AND fee_cents = 0 AND installment = 0))),
    -- One row per installment and one refund's row per payment, as before; returns are
    -- one per return_id, several per payment, all at installment 0.
    DROP CONSTRAINT card_settlements_payment_id_installment_key;
CREATE UNIQUE INDEX card_settlements_one_per_installment
    ON card_settlements (payment_id, installment) WHERE kind <> 'return';
CREATE INDEX card_settlements_by_sale ON card_settlements (sale_id);
