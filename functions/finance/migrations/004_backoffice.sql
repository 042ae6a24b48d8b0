-- Issue 18, the back office: suppliers' bills and their payments, other income, and the
-- expense list's lookups.

-- Income that is not a sale (a rebate, the fat sold to a renderer...): its own line of the
-- result, apart from the sales' revenue (which the margin per cut and per method read).
ALTER TABLE accounts DROP CONSTRAINT accounts_report_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_report_check
    CHECK (report IN ('revenue', 'cogs', 'expense', 'loss', 'other_income'));
INSERT INTO accounts (code, name, kind, normal_side, report) VALUES
    ('outras_receitas', 'Outras receitas', 'revenue', 'credit', 'other_income');

-- The newest name inventory told of each supplier (inventory.supplier.saved): bills show it.
CREATE TABLE supplier_names (
    supplier_id uuid PRIMARY KEY,
    name text NOT NULL,
    active boolean NOT NULL,
    version integer NOT NULL CHECK (version >= 1)
);

-- One bill per receipt bought "a prazo" (credited to fornecedores_a_pagar): the sum of what
-- the bills leave open equals that account's balance. Not the ledger: paid_cents moves with
-- each payment, under the row's lock, and never past the amount.
CREATE TABLE payables (
    id uuid PRIMARY KEY,
    movement_id uuid NOT NULL UNIQUE,
    supplier_id uuid,  -- NULL: the receipt named no supplier
    product_id uuid NOT NULL,
    received_at timestamptz NOT NULL,
    due_on date,  -- NULL: no due date, never overdue
    amount_cents bigint NOT NULL CHECK (amount_cents > 0),
    paid_cents bigint NOT NULL DEFAULT 0 CHECK (paid_cents >= 0 AND paid_cents <= amount_cents),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payables_by_due ON payables (due_on NULLS LAST, received_at, id);
CREATE INDEX payables_open ON payables (due_on NULLS LAST, received_at, id)
    WHERE paid_cents < amount_cents;
CREATE INDEX payables_supplier ON payables (supplier_id, due_on NULLS LAST, received_at, id);

-- Each payment of a bill and the ledger entry that posted it (Dr fornecedores a pagar, Cr
-- caixa or banco). A payment sent again with its Idempotency-Key finds its first answer here.
CREATE TABLE payable_payments (
    id uuid PRIMARY KEY,
    payable_id uuid NOT NULL REFERENCES payables (id),
    amount_cents bigint NOT NULL CHECK (amount_cents > 0),
    paid_with text NOT NULL CHECK (paid_with IN ('cash', 'bank')),
    paid_on date NOT NULL,
    entry_id uuid NOT NULL REFERENCES entries (id),
    actor text,
    idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    request_hash text,
    paid_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payable_payments_bill ON payable_payments (payable_id, paid_at);
CREATE UNIQUE INDEX payable_payments_key ON payable_payments (payable_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- The expense list reads expenses by day; their reversals are found by the (cause, cause_id)
-- key the ledger already has (a reversal's cause_id is the expense's entry id).
CREATE INDEX entries_expenses ON entries (occurred_at, seq) WHERE cause = 'expense';
