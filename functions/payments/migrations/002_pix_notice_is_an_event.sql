-- A delayed PIX confirmation is now a scheduled event in the outbox (payment.pix_received),
-- not a scan of due charges on a timer: the index that scan used is no longer read.
-- confirm_after stays as the record of when the simulated bank was to pay.
DROP INDEX IF EXISTS payments_pix_due;
