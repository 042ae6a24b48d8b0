-- Issue 18: who the shop buys from. Inventory owns suppliers (a receipt names one); finance
-- keeps its own copy from inventory.supplier.saved, ordered by `version` (+1 per change).
CREATE TABLE suppliers (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    -- lower-case, accents removed: "acougue" finds "Açougue"
    search_name text NOT NULL,
    -- the CNPJ's 14 digits; one supplier per CNPJ
    cnpj text UNIQUE CHECK (cnpj ~ '^[0-9]{14}$'),
    phone text CHECK (length(phone) <= 20),
    active boolean NOT NULL DEFAULT true,
    version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX suppliers_search_name ON suppliers (search_name text_pattern_ops);

-- A receipt names its supplier and, bought "a prazo", when the supplier's bill is due.
ALTER TABLE movements ADD COLUMN supplier_id uuid REFERENCES suppliers (id);
ALTER TABLE movements ADD COLUMN due_on date;
ALTER TABLE movements ADD CONSTRAINT movements_supplier_on_receipts
    CHECK ((supplier_id IS NULL AND due_on IS NULL) OR kind = 'receipt');
ALTER TABLE movements ADD CONSTRAINT movements_due_on_payables
    CHECK (due_on IS NULL OR paid_with = 'payable');
CREATE INDEX movements_supplier ON movements (supplier_id) WHERE supplier_id IS NOT NULL;
