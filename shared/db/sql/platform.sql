-- Outbox and inbox of one domain; applied in the domain's schema as its migration 000.

-- Events written in the same transaction as the change that caused them, published after
-- commit, republished by the sweep while unpublished. Rows are kept once published: they
-- are the domain's record of what it said.
CREATE TABLE outbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id uuid NOT NULL,  -- not unique: a replayed dead letter is published again
    event_type text NOT NULL,
    aggregate_id text NOT NULL,
    attributes jsonb NOT NULL,
    data jsonb NOT NULL,
    traceparent text,
    tracestate text,
    created_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error text
);
-- The sweep's hot path: the oldest unpublished event of each aggregate.
CREATE INDEX outbox_unpublished ON outbox (aggregate_id, id) WHERE published_at IS NULL;

-- CloudEvents this domain has applied, keyed as CloudEvents define identity: source + id.
-- Written in the same transaction as the effect, so a redelivery finds it and does nothing.
CREATE TABLE inbox (
    source text NOT NULL,
    event_id text NOT NULL,
    event_type text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, event_id)
);
