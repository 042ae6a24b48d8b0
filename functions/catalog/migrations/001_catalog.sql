CREATE TABLE categories (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX categories_name_key ON categories (lower(name));

CREATE TABLE products (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    -- lower-case, accents removed: "coracao" finds "Coração"
    search_name text NOT NULL,
    category_id uuid REFERENCES categories (id),
    unit text NOT NULL CHECK (unit IN ('kg', 'un')),
    price_cents bigint NOT NULL CHECK (price_cents >= 0),
    plu integer UNIQUE CHECK (plu BETWEEN 1 AND 9999),
    barcode text UNIQUE CHECK (barcode ~ '^[0-9]{13}$'),
    min_stock numeric(12, 3) NOT NULL DEFAULT 0 CHECK (min_stock >= 0),
    active boolean NOT NULL DEFAULT true,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX products_search_name ON products (search_name text_pattern_ops);
