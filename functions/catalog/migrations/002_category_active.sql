-- Issue 18: a category can be renamed and (de)activated; an inactive one takes no new
-- products and no product moves into it (what is already in it stays).
ALTER TABLE categories ADD COLUMN active boolean NOT NULL DEFAULT true;
ALTER TABLE categories ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
