-- The ledger summed per shop day, kept by the database in the transaction that posts the
-- lines: the report reads at most a few rows per day instead of every line of the range.
--
-- The lines are append-only (001: no UPDATE, DELETE or TRUNCATE; a correction is a
-- reversing entry, which is lines like any other), so adding each statement's new lines is
-- all it takes for the totals to equal the lines' sums, always: the same statement adds
-- them, the same transaction commits or rolls back both (a posting the deferred balance
-- check refuses at commit takes its totals with it), and nothing else may write them.

-- The shop's day of an instant: its days begin at midnight in São Paulo, as
-- shared/shop_time.py says (tests/functions/test_ledger_totals.py holds the two equal).
CREATE FUNCTION shop_day(at timestamptz) RETURNS date LANGUAGE sql STABLE PARALLEL SAFE
    RETURN (at AT TIME ZONE 'America/Sao_Paulo')::date;

-- Per day, account and payment method (NULL: an entry without one): the result per
-- period and per method.
CREATE TABLE daily_totals (
    day date NOT NULL,
    account text NOT NULL,
    payment_method text,
    debit_cents bigint NOT NULL,
    credit_cents bigint NOT NULL,
    UNIQUE NULLS NOT DISTINCT (day, account, payment_method)
);

-- Per day, account and cut, for the lines that name one: the margin per cut. Apart from
-- daily_totals so that it does not multiply cuts by payment methods.
CREATE TABLE daily_product_totals (
    day date NOT NULL,
    account text NOT NULL,
    product_id uuid NOT NULL,
    debit_cents bigint NOT NULL,
    credit_cents bigint NOT NULL,
    PRIMARY KEY (day, account, product_id)
);

-- Adds one statement's lines to their days. Each statement upserts its rows in key order,
-- daily_totals before daily_product_totals, so two postings that share days never wait
-- on each other in a cycle (store.post writes an entry's lines in one statement).
CREATE FUNCTION entry_lines_add_to_daily_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO daily_totals AS t (day, account, payment_method, debit_cents, credit_cents)
    SELECT shop_day(occurred_at), account, payment_method, sum(debit_cents), sum(credit_cents)
      FROM added_lines GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (day, account, payment_method) DO UPDATE
       SET debit_cents = t.debit_cents + EXCLUDED.debit_cents,
           credit_cents = t.credit_cents + EXCLUDED.credit_cents;
    INSERT INTO daily_product_totals AS t (day, account, product_id, debit_cents, credit_cents)
    SELECT shop_day(occurred_at), account, product_id, sum(debit_cents), sum(credit_cents)
      FROM added_lines WHERE product_id IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (day, account, product_id) DO UPDATE
       SET debit_cents = t.debit_cents + EXCLUDED.debit_cents,
           credit_cents = t.credit_cents + EXCLUDED.credit_cents;
    RETURN NULL;
END $$;

-- A shop upgrading in place: the totals of the ledger it has, built while no line can be
-- posted (the lock waits for postings in flight and holds new ones until this commits,
-- when the trigger below takes over).
LOCK TABLE entry_lines IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO daily_totals (day, account, payment_method, debit_cents, credit_cents)
SELECT shop_day(occurred_at), account, payment_method, sum(debit_cents), sum(credit_cents)
  FROM entry_lines GROUP BY 1, 2, 3;
INSERT INTO daily_product_totals (day, account, product_id, debit_cents, credit_cents)
SELECT shop_day(occurred_at), account, product_id, sum(debit_cents), sum(credit_cents)
  FROM entry_lines WHERE product_id IS NOT NULL GROUP BY 1, 2, 3;

CREATE TRIGGER entry_lines_daily_totals AFTER INSERT ON entry_lines
    REFERENCING NEW TABLE AS added_lines
    FOR EACH STATEMENT EXECUTE FUNCTION entry_lines_add_to_daily_totals();

-- Only that trigger writes the totals (the domain role may write its schema's tables, so
-- a grant cannot say it): a write from anywhere else, the owner's included, is refused.
CREATE FUNCTION daily_totals_follow_the_lines() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'the daily totals follow the ledger''s lines; post an entry instead'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER daily_totals_written_by_the_lines
    BEFORE INSERT OR UPDATE OR DELETE ON daily_totals
    FOR EACH ROW EXECUTE FUNCTION daily_totals_follow_the_lines();
CREATE TRIGGER daily_product_totals_written_by_the_lines
    BEFORE INSERT OR UPDATE OR DELETE ON daily_product_totals
    FOR EACH ROW EXECUTE FUNCTION daily_totals_follow_the_lines();
CREATE TRIGGER daily_totals_no_truncate BEFORE TRUNCATE ON daily_totals
    FOR EACH STATEMENT EXECUTE FUNCTION daily_totals_follow_the_lines();
CREATE TRIGGER daily_product_totals_no_truncate BEFORE TRUNCATE ON daily_product_totals
    FOR EACH STATEMENT EXECUTE FUNCTION daily_totals_follow_the_lines();
