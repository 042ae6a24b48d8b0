-- The shop's regulars and their fiado accounts (issue 17).

CREATE TABLE customers (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    -- lower-case, accents removed: "joao" finds "João"
    search_name text NOT NULL,
    phone text CHECK (length(phone) <= 20),
    -- the phone's digits alone, for a search by number however it was written
    phone_digits text CHECK (phone_digits ~ '^[0-9]{0,20}$'),
    cpf text UNIQUE CHECK (cpf ~ '^[0-9]{11}$'),
    credit_limit_cents bigint NOT NULL DEFAULT 0
        CHECK (credit_limit_cents BETWEEN 0 AND 10000000),
    -- what the customer owes now: the sum of the account's entries (a refund after a
    -- payment may leave it below 0: the shop owes the customer)
    balance_cents bigint NOT NULL DEFAULT 0,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customers_search_name ON customers (search_name text_pattern_ops);

-- The account: every change of a balance, in the order it happened (seq).
CREATE TABLE account_entries (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id uuid NOT NULL UNIQUE,
    customer_id uuid NOT NULL REFERENCES customers (id),
    at timestamptz NOT NULL DEFAULT now(),
    kind text NOT NULL CHECK (kind IN ('sale', 'payment', 'refund')),
    sale_id uuid,
    amount_cents bigint NOT NULL CHECK (amount_cents <> 0),
    balance_after_cents bigint NOT NULL,
    CHECK ((kind = 'sale') = (amount_cents > 0)),
    CHECK (kind = 'payment' OR sale_id IS NOT NULL)
);
CREATE INDEX account_entries_by_customer ON account_entries (customer_id, at, seq);

-- One decision per fiado attempt of a sale, however often it is delivered.
CREATE TABLE fiado_charges (
    payment_id uuid PRIMARY KEY,
    sale_id uuid NOT NULL,
    attempt integer NOT NULL CHECK (attempt >= 1),
    -- not a reference: a request may name a customer this shop does not know (declined)
    customer_id uuid NOT NULL,
    amount_cents bigint NOT NULL CHECK (amount_cents >= 0),
    status text NOT NULL CHECK (status IN ('approved', 'declined', 'refunded')),
    reason text,
    -- what returns gave back to the account already (never more than the charge)
    returned_cents bigint NOT NULL DEFAULT 0 CHECK (returned_cents BETWEEN 0 AND amount_cents),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (sale_id, attempt)
);

-- Sales cancelled: a fiado request that arrives after its sale's cancellation is declined.
CREATE TABLE cancelled_sales (
    sale_id uuid PRIMARY KEY,
    cancelled_at timestamptz NOT NULL DEFAULT now()
);

-- Returns of fiado sales put back on the account, once each.
CREATE TABLE fiado_returns (
    return_id uuid PRIMARY KEY,
    sale_id uuid NOT NULL,
    payment_id uuid NOT NULL REFERENCES fiado_charges (payment_id),
    amount_cents bigint NOT NULL CHECK (amount_cents >= 0),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Payments customers made on their accounts at the counter.
CREATE TABLE customer_payments (
    id uuid PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id),
    amount_cents bigint NOT NULL CHECK (amount_cents > 0),
    method text NOT NULL CHECK (method IN ('cash', 'pix', 'debit', 'credit')),
    received_by text NOT NULL CHECK (length(received_by) BETWEEN 1 AND 100),
    created_at timestamptz NOT NULL DEFAULT now()
);
