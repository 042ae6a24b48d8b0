-- Issue 17: a return of part of a paid sale puts each returned product back (a movement of
-- kind 'refund', cause the sale) at the cost it left with. The return it came from is kept on
-- the movement: once per (return, product), whatever the inbox says, and a sale's
-- cancellation tells its own refund (return_id NULL) from its returns'.
ALTER TABLE movements ADD COLUMN return_id text;
CREATE UNIQUE INDEX movements_once_per_return ON movements (return_id, product_id)
    WHERE return_id IS NOT NULL;
