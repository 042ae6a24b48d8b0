-- The catalogue as the counter needs it (prices come from here, never from the client),
-- kept from product.* events.
CREATE TABLE products (
    product_id uuid PRIMARY KEY,
    name text NOT NULL,
    unit text NOT NULL CHECK (unit IN ('kg', 'un')),
    price_cents bigint NOT NULL CHECK (price_cents >= 0),
    plu integer,
    barcode text,
    active boolean NOT NULL,
    state_time timestamptz NOT NULL
);
CREATE INDEX products_plu ON products (plu) WHERE plu IS NOT NULL;
CREATE INDEX products_barcode ON products (barcode) WHERE barcode IS NOT NULL;

CREATE TABLE sales (
    id uuid PRIMARY KEY,
    seller_id uuid NOT NULL,
    idempotency_key text NOT NULL,
    request_hash text NOT NULL,
    status text NOT NULL CHECK (status IN
        ('pending_payment', 'paid', 'payment_failed', 'cancelled', 'refunded')),
    attempt integer NOT NULL DEFAULT 1,
    cancel_requested boolean NOT NULL DEFAULT false,
    subtotal_cents bigint NOT NULL CHECK (subtotal_cents >= 0),
    discount_cents bigint NOT NULL CHECK (discount_cents >= 0),
    total_cents bigint NOT NULL CHECK (total_cents >= 0),
    payment_method text NOT NULL CHECK (payment_method IN ('pix', 'debit', 'credit', 'cash')),
    installments integer,
    cash_received_cents bigint,
    change_cents bigint,
    payment_status text NOT NULL DEFAULT 'pending'
        CHECK (payment_status IN ('pending', 'approved', 'declined', 'refunded')),
    payment_reason text,
    fee_cents bigint,
    pix_txid text,
    pix_payload text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    paid_at timestamptz,
    UNIQUE (seller_id, idempotency_key)
);
CREATE INDEX sales_created ON sales (created_at DESC);
CREATE INDEX sales_seller ON sales (seller_id, created_at DESC);

CREATE TABLE sale_items (
    sale_id uuid NOT NULL REFERENCES sales (id),
    line integer NOT NULL,
    product_id uuid NOT NULL,
    name text NOT NULL,
    unit text NOT NULL,
    quantity numeric(12, 3) NOT NULL CHECK (quantity > 0),
    unit_price_cents bigint NOT NULL CHECK (unit_price_cents >= 0),
    total_cents bigint NOT NULL CHECK (total_cents >= 0),
    barcode text,
    PRIMARY KEY (sale_id, line)
);
