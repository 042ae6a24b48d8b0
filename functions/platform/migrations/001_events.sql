-- Every CloudEvent that crossed the broker, as the event-log Trigger (no filter) saw it.
CREATE TABLE event_log (
    source text NOT NULL,
    event_id text NOT NULL,
    type text NOT NULL,
    subject text,
    time timestamptz,
    actor text,
    attributes jsonb NOT NULL,
    data jsonb,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, event_id)
);
CREATE INDEX event_log_received ON event_log (received_at DESC);

-- Events a subscriber could not take, with the broker's error extensions, for replay.
CREATE TABLE dead_letters (
    id uuid PRIMARY KEY,
    source text NOT NULL,
    event_id text NOT NULL,
    type text NOT NULL,
    subject text,
    attributes jsonb NOT NULL,
    data jsonb,
    error_dest text,
    error_code text,
    error_data text,
    failures integer NOT NULL DEFAULT 1,
    received_at timestamptz NOT NULL DEFAULT now(),
    replayed_at timestamptz,
    UNIQUE (source, event_id)
);
CREATE INDEX dead_letters_received ON dead_letters (received_at DESC);
