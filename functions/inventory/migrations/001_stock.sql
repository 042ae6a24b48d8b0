-- The catalogue as inventory needs it, kept from product.* events (full state each time).
CREATE TABLE products (
    product_id uuid PRIMARY KEY,
    name text NOT NULL,
    unit text NOT NULL CHECK (unit IN ('kg', 'un')),
    price_cents bigint NOT NULL CHECK (price_cents >= 0),
    min_stock numeric(12, 3) NOT NULL DEFAULT 0,
    active boolean NOT NULL,
    state_time timestamptz NOT NULL
);

-- Stock per product: always the sum of its movements; the average cost is a rate in
-- centavos per unit, kept to six places.
CREATE TABLE stock (
    product_id uuid PRIMARY KEY,
    quantity numeric(12, 3) NOT NULL DEFAULT 0,
    average_cost numeric(18, 6) NOT NULL DEFAULT 0 CHECK (average_cost >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE breakdowns (
    id uuid PRIMARY KEY,
    source_product_id uuid NOT NULL,
    source_quantity numeric(12, 3) NOT NULL CHECK (source_quantity > 0),
    produced_quantity numeric(12, 3) NOT NULL,
    loss_quantity numeric(12, 3) NOT NULL CHECK (loss_quantity >= 0),
    yield_percent numeric(6, 2) NOT NULL,
    cost_allocation text NOT NULL CHECK (cost_allocation IN ('weight', 'value')),
    source_cost_cents bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    actor text
);

CREATE TABLE movements (
    id uuid PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    product_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN
        ('receipt', 'loss', 'count', 'breakdown_out', 'breakdown_in', 'sale', 'refund')),
    quantity numeric(12, 3) NOT NULL,
    unit_cost_cents bigint NOT NULL CHECK (unit_cost_cents >= 0),
    total_cost_cents bigint NOT NULL,
    balance_after numeric(12, 3) NOT NULL,
    cause_type text NOT NULL CHECK (cause_type IN ('sale', 'breakdown', 'manual')),
    cause_id text,
    reason text,
    lot text,
    expires_on date,
    paid_with text CHECK (paid_with IN ('cash', 'bank', 'payable')),
    actor text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX movements_product ON movements (product_id, seq DESC);
CREATE INDEX movements_cause ON movements (cause_type, cause_id);

-- Received lots with an expiry date; exits draw them down first-expired-first-out.
CREATE TABLE lots (
    id uuid PRIMARY KEY,
    product_id uuid NOT NULL,
    lot text,
    expires_on date,
    received_at timestamptz NOT NULL DEFAULT now(),
    remaining numeric(12, 3) NOT NULL CHECK (remaining >= 0)
);
CREATE INDEX lots_open ON lots (product_id, expires_on NULLS LAST, received_at) WHERE remaining > 0;
