-- Issue 17. A fiado attempt is recorded here once (its payment_id, the customer) and handed
-- to the customers domain (payment.fiado_requested), which approves or declines it against
-- the account's limit; its decision never comes back to this table.
ALTER TABLE payments DROP CONSTRAINT payments_method_check;
ALTER TABLE payments ADD CONSTRAINT payments_method_check
    CHECK (method IN ('pix', 'debit', 'credit', 'cash', 'fiado'));
ALTER TABLE payments ADD COLUMN customer_id uuid;
ALTER TABLE payments ADD CONSTRAINT payments_fiado_names_its_customer
    CHECK ((method = 'fiado') = (customer_id IS NOT NULL));
