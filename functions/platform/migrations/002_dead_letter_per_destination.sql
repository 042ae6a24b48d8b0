-- One event can fail at several subscribers: each failed delivery is its own dead letter.
UPDATE dead_letters SET error_dest = '' WHERE error_dest IS NULL;
ALTER TABLE dead_letters ALTER COLUMN error_dest SET DEFAULT '';
ALTER TABLE dead_letters ALTER COLUMN error_dest SET NOT NULL;
ALTER TABLE dead_letters DROP CONSTRAINT dead_letters_source_event_id_key;
ALTER TABLE dead_letters ADD CONSTRAINT dead_letters_delivery_key UNIQUE (source, event_id, error_dest);
