CREATE TABLE users (
    id uuid PRIMARY KEY,
    username text NOT NULL CHECK (username ~ '^[a-z0-9._-]{3,40}$'),
    full_name text,
    password_hash text NOT NULL,
    role text NOT NULL CHECK (role IN ('admin', 'estoquista', 'vendedor')),
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_username_key ON users (username);
