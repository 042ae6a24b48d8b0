-- The dashboard (issue 18) reads one shop day of paid sales, and the PIX sales pending now,
-- out of a year or more of sales. Partial indexes hold only those rows: a day's paid sales
-- are one range of the first (with what the figures sum, so the heap is read only for rows
-- not yet marked all-visible), and the pending PIX sales are the whole of the second.
CREATE INDEX IF NOT EXISTS sales_paid_created ON sales (created_at)
    INCLUDE (id, payment_method, total_cents) WHERE status = 'paid';
CREATE INDEX IF NOT EXISTS sales_pending_pix ON sales (created_at)
    WHERE status = 'pending_payment' AND payment_method = 'pix';
