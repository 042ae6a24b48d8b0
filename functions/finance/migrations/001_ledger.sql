-- The chart of accounts. `report` places each account in the result: revenue, cogs
-- (CMV), expense, loss; balance-sheet accounts have none.
CREATE TABLE accounts (
    code text PRIMARY KEY,
    name text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('asset', 'liability', 'equity', 'revenue', 'expense')),
    normal_side text NOT NULL CHECK (normal_side IN ('debit', 'credit')),
    report text CHECK (report IN ('revenue', 'cogs', 'expense', 'loss'))
);
INSERT INTO accounts (code, name, kind, normal_side, report) VALUES
    ('caixa', 'Caixa (dinheiro)', 'asset', 'debit', NULL),
    ('banco', 'Banco / PIX', 'asset', 'debit', NULL),
    ('recebiveis_cartao', 'Recebíveis de cartão', 'asset', 'debit', NULL),
    ('estoque', 'Estoque', 'asset', 'debit', NULL),
    ('fornecedores_a_pagar', 'Fornecedores a pagar', 'liability', 'credit', NULL),
    ('capital', 'Capital / saldo inicial', 'equity', 'credit', NULL),
    ('receita_vendas', 'Receita de vendas', 'revenue', 'credit', 'revenue'),
    ('cmv', 'CMV (custo das mercadorias vendidas)', 'expense', 'debit', 'cogs'),
    ('taxas_cartao', 'Taxas de cartão', 'expense', 'debit', 'expense'),
    ('perdas_estoque', 'Perdas de estoque', 'expense', 'debit', 'loss'),
    ('despesa_aluguel', 'Aluguel', 'expense', 'debit', 'expense'),
    ('despesa_energia', 'Energia', 'expense', 'debit', 'expense'),
    ('despesa_agua', 'Água', 'expense', 'debit', 'expense'),
    ('despesa_salarios', 'Salários', 'expense', 'debit', 'expense'),
    ('despesa_fornecedores', 'Fornecedores (serviços)', 'expense', 'debit', 'expense'),
    ('despesa_manutencao', 'Manutenção', 'expense', 'debit', 'expense'),
    ('despesa_impostos', 'Impostos', 'expense', 'debit', 'expense'),
    ('despesa_outras', 'Outras despesas', 'expense', 'debit', 'expense');

-- One entry per cause (a payment, a stock movement, an expense...): posting the same
-- cause twice is refused by the key, whatever the inbox says.
CREATE TABLE entries (
    id uuid PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    occurred_at timestamptz NOT NULL,
    posted_at timestamptz NOT NULL DEFAULT now(),
    cause text NOT NULL,
    cause_id text NOT NULL,
    description text NOT NULL,
    sale_id uuid,
    payment_method text CHECK (payment_method IN ('pix', 'debit', 'credit', 'cash')),
    reverses uuid REFERENCES entries (id),
    meta jsonb NOT NULL DEFAULT '{}',
    actor text,
    UNIQUE (cause, cause_id)
);
CREATE INDEX entries_occurred ON entries (occurred_at);

CREATE TABLE entry_lines (
    entry_id uuid NOT NULL REFERENCES entries (id),
    line integer NOT NULL,
    account text NOT NULL REFERENCES accounts (code),
    debit_cents bigint NOT NULL DEFAULT 0 CHECK (debit_cents >= 0),
    credit_cents bigint NOT NULL DEFAULT 0 CHECK (credit_cents >= 0),
    product_id uuid,  -- the cut, on revenue and CMV lines: margin per product
    -- The entry's time and payment method, written with it (the balance check below
    -- verifies they match): reports read the lines alone, in one scan.
    occurred_at timestamptz NOT NULL,
    payment_method text,
    CHECK ((debit_cents = 0) <> (credit_cents = 0)),
    PRIMARY KEY (entry_id, line)
);
CREATE INDEX entry_lines_occurred ON entry_lines (occurred_at);

-- Every entry balances, checked by the database at commit (the code checks first).
CREATE FUNCTION check_entry_balance(entry uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    difference bigint;
    lines integer;
    mismatched integer;
BEGIN
    SELECT coalesce(sum(l.debit_cents) - sum(l.credit_cents), 0), count(*),
           count(*) FILTER (WHERE l.occurred_at <> e.occurred_at
                            OR l.payment_method IS DISTINCT FROM e.payment_method)
      INTO difference, lines, mismatched
      FROM entry_lines l JOIN entries e ON e.id = l.entry_id WHERE l.entry_id = entry;
    IF lines < 2 OR difference <> 0 THEN
        RAISE EXCEPTION 'ledger entry % does not balance (difference %, % lines)',
            entry, difference, lines USING ERRCODE = 'check_violation';
    END IF;
    IF mismatched > 0 THEN
        RAISE EXCEPTION 'ledger entry %: lines must carry the entry''s time and method', entry
            USING ERRCODE = 'check_violation';
    END IF;
END $$;

CREATE FUNCTION entry_lines_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM check_entry_balance(NEW.entry_id);
    RETURN NULL;
END $$;

CREATE FUNCTION entries_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM check_entry_balance(NEW.id);
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER entry_lines_balanced AFTER INSERT ON entry_lines
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION entry_lines_balance();
CREATE CONSTRAINT TRIGGER entries_balanced AFTER INSERT ON entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION entries_balance();

-- Entries are immutable: a correction is a reversing entry.
CREATE FUNCTION ledger_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are immutable; post a reversing entry instead'
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only();
CREATE TRIGGER entry_lines_append_only BEFORE UPDATE OR DELETE ON entry_lines
    FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_is_append_only();
CREATE TRIGGER entry_lines_no_truncate BEFORE TRUNCATE ON entry_lines
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_is_append_only();

-- What finance needs from sales to split revenue per cut: the items of each sale.
CREATE TABLE sale_items (
    sale_id uuid NOT NULL,
    line integer NOT NULL,
    product_id uuid NOT NULL,
    total_cents bigint NOT NULL CHECK (total_cents >= 0),
    PRIMARY KEY (sale_id, line)
);

-- The latest name seen for each product (reports show names, not ids).
CREATE TABLE product_names (
    product_id uuid PRIMARY KEY,
    name text NOT NULL
);

-- The daily cash closing: the float the day opened with, and what was counted at the end.
CREATE TABLE cash_days (
    day date PRIMARY KEY,
    opening_float_cents bigint CHECK (opening_float_cents >= 0),
    counted jsonb,
    closed_at timestamptz,
    actor text
);
