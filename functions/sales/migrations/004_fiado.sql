-- Issue 17. Fiado: a sale on a regular customer's account (the customers domain approves it
-- against the limit; its name comes back with the approval, for the receipt). The till
-- session of the operator who made the sale, when one was open.
ALTER TABLE sales DROP CONSTRAINT sales_payment_method_check;
ALTER TABLE sales ADD CONSTRAINT sales_payment_method_check
    CHECK (payment_method IN ('pix', 'debit', 'credit', 'cash', 'fiado'));
ALTER TABLE sales ADD COLUMN customer_id uuid;
ALTER TABLE sales ADD COLUMN customer_name text;
ALTER TABLE sales ADD COLUMN till_session_id uuid;
-- The account a sale goes on is named exactly when it is a fiado sale (a retry by another
-- method clears it).
ALTER TABLE sales ADD CONSTRAINT sales_fiado_names_its_customer
    CHECK ((payment_method = 'fiado') = (customer_id IS NOT NULL));
-- A till's expected amounts sum its sales.
CREATE INDEX sales_till_session ON sales (till_session_id) WHERE till_session_id IS NOT NULL;
