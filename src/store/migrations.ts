/**
 * Versioned schema migrations, one numbering for both backends: each entry carries its SQLite and
 * its PostgreSQL text, with the same tables and columns. Append only: a released migration is
 * never edited; a change is a new entry with the next version. SQLite runs each in its own
 * IMMEDIATE transaction, PostgreSQL all pending ones in one transaction under an advisory lock;
 * both record them in `schema_migrations`, so several processes opening a new database at once
 * migrate it exactly once.
 */

export interface Migration {
  version: number;
  name: string;
  /** SQLite. */
  sql: string;
  /** PostgreSQL (absent in test-only migrations for SQLite). Text columns use the "C" collation: byte order, as SQLite compares. */
  pg?: string;
}

/** Indexes of migration 4, the same text in both dialects. */
const STATS_INDEXES = `
      CREATE INDEX channel_calls_at ON channel_calls (at, channel, operation, error_code, duration_ms);
      CREATE INDEX channel_calls_ops ON channel_calls (channel, operation, at, error_code);
      CREATE INDEX channel_calls_latency ON channel_calls (channel, operation, duration_ms, at);
      CREATE INDEX channel_calls_errors ON channel_calls (channel, operation, error_code, at) WHERE error_code IS NOT NULL;
      CREATE INDEX channel_calls_health ON channel_calls (channel, at, error_code);
      CREATE INDEX orders_stats ON orders (channel, currency, kind, status, created_at, amount_minor);
      CREATE INDEX refunds_stats ON refunds (channel, currency, status, created_at, amount_minor);
`;

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'orders, refunds, events, callbacks',
    sql: `
      CREATE TABLE orders (
        order_no         TEXT PRIMARY KEY,
        kind             TEXT NOT NULL CHECK (kind IN ('collect', 'payout')),
        channel          TEXT NOT NULL,
        status           TEXT NOT NULL CHECK (status IN ('created', 'pending', 'succeeded', 'failed', 'closed', 'refunded')),
        amount_minor     INTEGER NOT NULL CHECK (amount_minor > 0),
        currency         TEXT NOT NULL CHECK (length(currency) = 3),
        refunded_minor   INTEGER NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor),
        subject          TEXT,
        method           TEXT,
        payee            TEXT,
        payee_name       TEXT,
        channel_trade_no TEXT,
        failure_code     TEXT,
        failure_message  TEXT,
        payload          TEXT,
        source           TEXT NOT NULL DEFAULT 'cli',
        created_at       TEXT NOT NULL,
        updated_at       TEXT NOT NULL,
        paid_at          TEXT
      );
      CREATE INDEX orders_created ON orders (created_at);
      CREATE INDEX orders_channel_created ON orders (channel, created_at);
      CREATE INDEX orders_channel_paid ON orders (channel, paid_at) WHERE paid_at IS NOT NULL;
      CREATE INDEX orders_channel_trade ON orders (channel, channel_trade_no) WHERE channel_trade_no IS NOT NULL;

      CREATE TABLE refunds (
        refund_no         TEXT PRIMARY KEY,
        order_no          TEXT NOT NULL REFERENCES orders (order_no),
        channel           TEXT NOT NULL,
        status            TEXT NOT NULL CHECK (status IN ('created', 'pending', 'succeeded', 'failed')),
        amount_minor      INTEGER NOT NULL CHECK (amount_minor > 0),
        currency          TEXT NOT NULL,
        reason            TEXT,
        channel_refund_no TEXT,
        failure_code      TEXT,
        failure_message   TEXT,
        created_at        TEXT NOT NULL,
        updated_at        TEXT NOT NULL,
        refunded_at       TEXT
      );
      CREATE INDEX refunds_order ON refunds (order_no);
      CREATE INDEX refunds_channel_refunded ON refunds (channel, refunded_at) WHERE refunded_at IS NOT NULL;

      CREATE TABLE events (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        at        TEXT NOT NULL,
        type      TEXT NOT NULL,
        channel   TEXT,
        order_no  TEXT,
        refund_no TEXT,
        data      TEXT NOT NULL DEFAULT '{}'
      );
      CREATE INDEX events_order ON events (order_no, id) WHERE order_no IS NOT NULL;
      CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
      CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;

      CREATE TABLE callbacks (
        channel     TEXT NOT NULL,
        dedup_key   TEXT NOT NULL,
        event_type  TEXT NOT NULL,
        order_no    TEXT,
        refund_no   TEXT,
        body_sha256 TEXT NOT NULL,
        outcome     TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (channel, dedup_key)
      );
    `,
    pg: `
      CREATE TABLE orders (
        order_no         TEXT COLLATE "C" PRIMARY KEY,
        kind             TEXT COLLATE "C" NOT NULL CHECK (kind IN ('collect', 'payout')),
        channel          TEXT COLLATE "C" NOT NULL,
        status           TEXT COLLATE "C" NOT NULL CHECK (status IN ('created', 'pending', 'succeeded', 'failed', 'closed', 'refunded')),
        amount_minor     BIGINT NOT NULL CHECK (amount_minor > 0),
        currency         TEXT COLLATE "C" NOT NULL CHECK (length(currency) = 3),
        refunded_minor   BIGINT NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor),
        subject          TEXT COLLATE "C",
        method           TEXT COLLATE "C",
        payee            TEXT COLLATE "C",
        payee_name       TEXT COLLATE "C",
        channel_trade_no TEXT COLLATE "C",
        failure_code     TEXT COLLATE "C",
        failure_message  TEXT COLLATE "C",
        payload          TEXT COLLATE "C",
        source           TEXT COLLATE "C" NOT NULL DEFAULT 'cli',
        created_at       TEXT COLLATE "C" NOT NULL,
        updated_at       TEXT COLLATE "C" NOT NULL,
        paid_at          TEXT COLLATE "C"
      );
      CREATE INDEX orders_created ON orders (created_at);
      CREATE INDEX orders_channel_created ON orders (channel, created_at);
      CREATE INDEX orders_channel_paid ON orders (channel, paid_at) WHERE paid_at IS NOT NULL;
      CREATE INDEX orders_channel_trade ON orders (channel, channel_trade_no) WHERE channel_trade_no IS NOT NULL;

      CREATE TABLE refunds (
        refund_no         TEXT COLLATE "C" PRIMARY KEY,
        order_no          TEXT COLLATE "C" NOT NULL REFERENCES orders (order_no),
        channel           TEXT COLLATE "C" NOT NULL,
        status            TEXT COLLATE "C" NOT NULL CHECK (status IN ('created', 'pending', 'succeeded', 'failed')),
        amount_minor      BIGINT NOT NULL CHECK (amount_minor > 0),
        currency          TEXT COLLATE "C" NOT NULL,
        reason            TEXT COLLATE "C",
        channel_refund_no TEXT COLLATE "C",
        failure_code      TEXT COLLATE "C",
        failure_message   TEXT COLLATE "C",
        created_at        TEXT COLLATE "C" NOT NULL,
        updated_at        TEXT COLLATE "C" NOT NULL,
        refunded_at       TEXT COLLATE "C"
      );
      CREATE INDEX refunds_order ON refunds (order_no);
      CREATE INDEX refunds_channel_refunded ON refunds (channel, refunded_at) WHERE refunded_at IS NOT NULL;

      CREATE TABLE events (
        id        BIGSERIAL PRIMARY KEY,
        at        TEXT COLLATE "C" NOT NULL,
        type      TEXT COLLATE "C" NOT NULL,
        channel   TEXT COLLATE "C",
        order_no  TEXT COLLATE "C",
        refund_no TEXT COLLATE "C",
        data      TEXT COLLATE "C" NOT NULL DEFAULT '{}'
      );
      CREATE INDEX events_order ON events (order_no, id) WHERE order_no IS NOT NULL;
      CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the event log is append-only'; END $$;
      CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
        FOR EACH ROW EXECUTE FUNCTION events_append_only();

      CREATE TABLE callbacks (
        channel     TEXT COLLATE "C" NOT NULL,
        dedup_key   TEXT COLLATE "C" NOT NULL,
        event_type  TEXT COLLATE "C" NOT NULL,
        order_no    TEXT COLLATE "C",
        refund_no   TEXT COLLATE "C",
        body_sha256 TEXT COLLATE "C" NOT NULL,
        outcome     TEXT COLLATE "C" NOT NULL,
        received_at TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (channel, dedup_key)
      );
    `,
  },
  {
    version: 2,
    name: 'reconciliation runs and items',
    // Items of a run are its discrepancies, carried-over and resolved items, and matches made
    // outside their local day (so that day's run does not report them missing); plain matches
    // are only counted. An open item (carryable class, closed_by_run NULL) is closed by a later
    // run; deleting that run reopens it through ON DELETE SET NULL.
    sql: `
      CREATE TABLE reconcile_runs (
        id                INTEGER PRIMARY KEY AUTOINCREMENT,
        channel           TEXT NOT NULL,
        date              TEXT NOT NULL,
        time_zone         TEXT NOT NULL,
        source            TEXT NOT NULL CHECK (source IN ('file', 'download')),
        bill_path         TEXT NOT NULL,
        bill_format       TEXT NOT NULL,
        bill_sha256       TEXT NOT NULL,
        bill_bytes        INTEGER NOT NULL,
        mapping_sha256    TEXT,
        bill_rows         INTEGER NOT NULL,
        matched           INTEGER NOT NULL,
        missing_local     INTEGER NOT NULL,
        missing_channel   INTEGER NOT NULL,
        amount_mismatch   INTEGER NOT NULL,
        status_mismatch   INTEGER NOT NULL,
        currency_mismatch INTEGER NOT NULL,
        duplicate         INTEGER NOT NULL,
        carried_over      INTEGER NOT NULL,
        resolved          INTEGER NOT NULL,
        totals            TEXT NOT NULL,
        superseded_by     INTEGER REFERENCES reconcile_runs (id) ON DELETE SET NULL,
        started_at        TEXT NOT NULL,
        finished_at       TEXT NOT NULL,
        UNIQUE (channel, date, bill_sha256)
      );
      CREATE INDEX reconcile_runs_channel_date ON reconcile_runs (channel, date, id);

      CREATE TABLE reconcile_items (
        id                 INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id             INTEGER NOT NULL REFERENCES reconcile_runs (id) ON DELETE CASCADE,
        channel            TEXT NOT NULL,
        class              TEXT NOT NULL CHECK (class IN ('matched', 'missingLocal', 'missingChannel', 'amountMismatch', 'statusMismatch', 'currencyMismatch', 'duplicate', 'carriedOver', 'resolved')),
        item_key           TEXT NOT NULL,
        kind               TEXT NOT NULL,
        order_no           TEXT,
        refund_no          TEXT,
        channel_trade_no   TEXT,
        bill_line          INTEGER,
        bill_amount_minor  INTEGER,
        bill_fee_minor     INTEGER,
        bill_currency      TEXT,
        bill_time          TEXT,
        bill_status        TEXT,
        local_status       TEXT,
        local_amount_minor INTEGER,
        local_currency     TEXT,
        local_time         TEXT,
        note               TEXT,
        carried_from       TEXT,
        origin_item        INTEGER REFERENCES reconcile_items (id) ON DELETE SET NULL,
        closed_by_run      INTEGER REFERENCES reconcile_runs (id) ON DELETE SET NULL,
        closed_at          TEXT
      );
      CREATE INDEX reconcile_items_run ON reconcile_items (run_id, id);
      CREATE INDEX reconcile_items_key ON reconcile_items (channel, item_key);
      CREATE INDEX reconcile_items_closed_by ON reconcile_items (closed_by_run) WHERE closed_by_run IS NOT NULL;
      CREATE INDEX reconcile_items_origin ON reconcile_items (origin_item) WHERE origin_item IS NOT NULL;
    `,
    pg: `
      CREATE TABLE reconcile_runs (
        id                BIGSERIAL PRIMARY KEY,
        channel           TEXT COLLATE "C" NOT NULL,
        date              TEXT COLLATE "C" NOT NULL,
        time_zone         TEXT COLLATE "C" NOT NULL,
        source            TEXT COLLATE "C" NOT NULL CHECK (source IN ('file', 'download')),
        bill_path         TEXT COLLATE "C" NOT NULL,
        bill_format       TEXT COLLATE "C" NOT NULL,
        bill_sha256       TEXT COLLATE "C" NOT NULL,
        bill_bytes        BIGINT NOT NULL,
        mapping_sha256    TEXT COLLATE "C",
        bill_rows         BIGINT NOT NULL,
        matched           BIGINT NOT NULL,
        missing_local     BIGINT NOT NULL,
        missing_channel   BIGINT NOT NULL,
        amount_mismatch   BIGINT NOT NULL,
        status_mismatch   BIGINT NOT NULL,
        currency_mismatch BIGINT NOT NULL,
        duplicate         BIGINT NOT NULL,
        carried_over      BIGINT NOT NULL,
        resolved          BIGINT NOT NULL,
        totals            TEXT COLLATE "C" NOT NULL,
        superseded_by     BIGINT REFERENCES reconcile_runs (id) ON DELETE SET NULL,
        started_at        TEXT COLLATE "C" NOT NULL,
        finished_at       TEXT COLLATE "C" NOT NULL,
        UNIQUE (channel, date, bill_sha256)
      );
      CREATE INDEX reconcile_runs_channel_date ON reconcile_runs (channel, date, id);

      CREATE TABLE reconcile_items (
        id                 BIGSERIAL PRIMARY KEY,
        run_id             BIGINT NOT NULL REFERENCES reconcile_runs (id) ON DELETE CASCADE,
        channel            TEXT COLLATE "C" NOT NULL,
        class              TEXT COLLATE "C" NOT NULL CHECK (class IN ('matched', 'missingLocal', 'missingChannel', 'amountMismatch', 'statusMismatch', 'currencyMismatch', 'duplicate', 'carriedOver', 'resolved')),
        item_key           TEXT COLLATE "C" NOT NULL,
        kind               TEXT COLLATE "C" NOT NULL,
        order_no           TEXT COLLATE "C",
        refund_no          TEXT COLLATE "C",
        channel_trade_no   TEXT COLLATE "C",
        bill_line          BIGINT,
        bill_amount_minor  BIGINT,
        bill_fee_minor     BIGINT,
        bill_currency      TEXT COLLATE "C",
        bill_time          TEXT COLLATE "C",
        bill_status        TEXT COLLATE "C",
        local_status       TEXT COLLATE "C",
        local_amount_minor BIGINT,
        local_currency     TEXT COLLATE "C",
        local_time         TEXT COLLATE "C",
        note               TEXT COLLATE "C",
        carried_from       TEXT COLLATE "C",
        origin_item        BIGINT REFERENCES reconcile_items (id) ON DELETE SET NULL,
        closed_by_run      BIGINT REFERENCES reconcile_runs (id) ON DELETE SET NULL,
        closed_at          TEXT COLLATE "C"
      );
      CREATE INDEX reconcile_items_run ON reconcile_items (run_id, id);
      CREATE INDEX reconcile_items_key ON reconcile_items (channel, item_key);
      CREATE INDEX reconcile_items_closed_by ON reconcile_items (closed_by_run) WHERE closed_by_run IS NOT NULL;
      CREATE INDEX reconcile_items_origin ON reconcile_items (origin_item) WHERE origin_item IS NOT NULL;
    `,
  },
  {
    version: 3,
    name: 'events by time',
    // `pay db copy` recognises an event already copied by its content, looked up by time.
    sql: 'CREATE INDEX events_at ON events (at);',
    pg: 'CREATE INDEX events_at ON events (at);',
  },
  {
    version: 4,
    name: 'channel calls table and indexes for pay stats and routing health',
    // Channel calls are read by time (pay stats) and by channel and time (routing's health check).
    // Reading them out of the events' JSON costs a parse per row (16 s over 3M events), so a narrow
    // table holds the fields the statistics read (durations to 0.1 ms), filled by a trigger as
    // events are appended (and here from the events already there). It is derived data: the event
    // log stays the record. Its indexes are in the order the statistics group by, so whole-book
    // figures stream through a covering index instead of sorting.
    sql: `
      CREATE TABLE channel_calls (
        event_id    INTEGER PRIMARY KEY,
        at          TEXT NOT NULL,
        channel     TEXT,
        operation   TEXT,
        error_code  TEXT,
        duration_ms REAL
      );
      INSERT INTO channel_calls (event_id, at, channel, operation, error_code, duration_ms)
        SELECT id, at, channel, json_extract(data, '$.operation'), json_extract(data, '$.error.code'), ROUND(json_extract(data, '$.durationMs'), 1)
        FROM events WHERE type = 'channel.call';
      CREATE TRIGGER events_channel_calls AFTER INSERT ON events WHEN NEW.type = 'channel.call'
        BEGIN
          INSERT INTO channel_calls (event_id, at, channel, operation, error_code, duration_ms)
          VALUES (NEW.id, NEW.at, NEW.channel, json_extract(NEW.data, '$.operation'), json_extract(NEW.data, '$.error.code'), ROUND(json_extract(NEW.data, '$.durationMs'), 1));
        END;
      ${STATS_INDEXES}
    `,
    // events.data is TEXT holding JSON, read as jsonb. A duration is rounded as numeric, from the
    // JSON text (SQLite rounds the double it parses: the two differ only on a text ending exactly
    // in a 5 at the second decimal, which full-precision durations do not produce); a duration
    // that is not a JSON number is left NULL rather than failing the event's insert.
    pg: `
      CREATE TABLE channel_calls (
        event_id    BIGINT PRIMARY KEY,
        at          TEXT COLLATE "C" NOT NULL,
        channel     TEXT COLLATE "C",
        operation   TEXT COLLATE "C",
        error_code  TEXT COLLATE "C",
        duration_ms DOUBLE PRECISION
      );
      CREATE FUNCTION channel_call_ms(d jsonb) RETURNS DOUBLE PRECISION LANGUAGE sql IMMUTABLE AS $$
        SELECT CASE WHEN jsonb_typeof(d -> 'durationMs') = 'number' THEN round((d ->> 'durationMs')::numeric, 1)::double precision END $$;
      INSERT INTO channel_calls (event_id, at, channel, operation, error_code, duration_ms)
        SELECT id, at, channel, d ->> 'operation', d #>> '{error,code}', channel_call_ms(d)
        FROM (SELECT id, at, channel, data::jsonb AS d FROM events WHERE type = 'channel.call') e;
      CREATE FUNCTION events_channel_calls() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE d jsonb := NEW.data::jsonb;
        BEGIN
          INSERT INTO channel_calls (event_id, at, channel, operation, error_code, duration_ms)
          VALUES (NEW.id, NEW.at, NEW.channel, d ->> 'operation', d #>> '{error,code}', channel_call_ms(d));
          RETURN NULL;
        END $$;
      CREATE TRIGGER events_channel_calls AFTER INSERT ON events
        FOR EACH ROW WHEN (NEW.type = 'channel.call') EXECUTE FUNCTION events_channel_calls();
      ${STATS_INDEXES}
    `,
  },
];
