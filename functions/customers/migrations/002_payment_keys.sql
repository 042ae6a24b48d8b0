-- A payment on an account sent again after a lost answer, with the same Idempotency-Key,
-- answers the payment made instead of taking the account down twice.
ALTER TABLE customer_payments
    ADD COLUMN idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    ADD COLUMN request_hash text CHECK (length(request_hash) = 64);
CREATE UNIQUE INDEX customer_payments_key ON customer_payments (customer_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
