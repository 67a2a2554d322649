/**
 * The PostgreSQL schema, its migration from global positions, and the statements of the store
 * (`postgresStore.ts` says why they are safe together).
 */

/** Told of every committed append (payload: see `APPENDED_FORMAT`). */
export const APPENDED_CHANNEL = 'deaddrop_appended';
/** Told when messages were deleted (expiry, quota): what an instance remembers may be gone. */
export const DELETED_CHANNEL = 'deaddrop_deleted';
/**
 * An appended notification's payload: the writing instance's tag, then one line per message,
 * `<dropId> <position> <receivedAtMs> <size>` (about 80 bytes). A transaction sends as many
 * notifications as it takes to stay under PostgreSQL's 8000-byte payload limit.
 */
export const APPENDED_FORMAT = { lineSeparator: '\n', fieldSeparator: ' ', maxPayloadChars: 7800 } as const;

/** Serialises schema creation and migration when several instances start at once. */
export const MIGRATION_LOCK_KEY = 0x0dead0d;
/** Serialises expiry and quota eviction across instances: two sweeps would evict twice. */
export const SWEEP_LOCK_KEY = 0x0dead0e;

/**
 * A message row (about 2.2 KB) stays in the table's page as it is: by default PostgreSQL would try
 * to compress every body above 2 KB (encrypted bytes do not compress) and then move it into a
 * separate TOAST table, a second insert and index entry per message. Drop IDs compare bytewise
 * (`COLLATE "C"`): cheaper than a language's rules, and one order for every lock-taking statement.
 */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS deaddrop_messages (
  drop_id TEXT COLLATE "C" NOT NULL,
  position BIGINT NOT NULL,
  received_at_ms BIGINT NOT NULL,
  size INTEGER NOT NULL,
  body BYTEA NOT NULL,
  PRIMARY KEY (drop_id, position)
) WITH (toast_tuple_target = 8160);
CREATE INDEX IF NOT EXISTS deaddrop_messages_by_time ON deaddrop_messages (received_at_ms);
CREATE TABLE IF NOT EXISTS deaddrop_drops (
  drop_id TEXT COLLATE "C" PRIMARY KEY,
  last_position BIGINT NOT NULL,
  message_count BIGINT NOT NULL,
  byte_count BIGINT NOT NULL
);
ALTER TABLE deaddrop_messages ADD COLUMN IF NOT EXISTS standing SMALLINT NOT NULL DEFAULT 1;
CREATE TABLE IF NOT EXISTS deaddrop_policies (
  drop_id TEXT COLLATE "C" PRIMARY KEY,
  seq BIGINT NOT NULL,
  policy TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deaddrop_spent (
  drop_id TEXT COLLATE "C" NOT NULL,
  nonce BYTEA NOT NULL,
  expires_at_ms BIGINT NOT NULL,
  PRIMARY KEY (drop_id, nonce)
);
CREATE INDEX IF NOT EXISTS deaddrop_spent_by_expiry ON deaddrop_spent (expires_at_ms);
CREATE TABLE IF NOT EXISTS deaddrop_intro_days (
  drop_id TEXT COLLATE "C" NOT NULL,
  day INTEGER NOT NULL,
  taken INTEGER NOT NULL,
  PRIMARY KEY (drop_id, day)
);
CREATE TABLE IF NOT EXISTS deaddrop_probe (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  probed_at TIMESTAMPTZ NOT NULL
);
INSERT INTO deaddrop_probe (id, probed_at) VALUES (1, now()) ON CONFLICT (id) DO NOTHING;
`;

/** True when the database still has the schema of one global position counter. */
export const HAS_GLOBAL_COUNTER = `SELECT to_regclass('deaddrop_counter') IS NOT NULL AS found`;

/**
 * From one global counter to positions per drop, after `SCHEMA` (which leaves an existing message
 * table as it is). Every drop with messages continues from the global counter, which is at least
 * any position ever issued to it; a drop without messages starts from the clock in microseconds,
 * far above any count of messages (see `APPEND_FUNCTION`).
 */
export const MIGRATE_FROM_GLOBAL_COUNTER = `
INSERT INTO deaddrop_drops (drop_id, last_position, message_count, byte_count)
  SELECT drop_id, (SELECT last_position FROM deaddrop_counter), count(*), sum(size)
  FROM deaddrop_messages GROUP BY drop_id;
DROP INDEX IF EXISTS deaddrop_messages_by_drop;
ALTER TABLE deaddrop_messages DROP CONSTRAINT deaddrop_messages_pkey,
  ALTER COLUMN drop_id TYPE TEXT COLLATE "C", ADD PRIMARY KEY (drop_id, position);
ALTER TABLE deaddrop_messages SET (toast_tuple_target = 8160);
DROP TABLE deaddrop_counter;
`;

/**
 * Appends one group commit. Per drop, in drop ID order (so that two transactions never wait for
 * each other's rows crosswise): locks the drop's row (creating it if needed) and shares the lock of
 * its policy row (a policy update waits for the append, and vice versa), refuses items whose
 * admission no longer holds (-4: the policy changed since; -1: at the caps; -3: the day's
 * introductions taken; -2: the ticket or stamp nonce already spent, which is how a ticket spent
 * through one instance is spent for all), records spent nonces and introduction counts, gives the
 * others the next positions, and stores the counters. Then inserts the messages and notifies.
 * Returns one position per item, or the negative code of its refusal. The bodies come as one byte
 * string (`sizes` cut it), which the driver sends in binary: an array of byte strings goes as text,
 * hex-encoded by the server and decoded by the database.
 *
 * A new position is `GREATEST(last_position + 1, now in microseconds)`: growing within the row, and
 * above every position of a row that was deleted (empty for a day, see `FORGET_EMPTY_DROPS`) and is
 * now created again, unless the database clock went back by more than that day.
 */
export const APPEND_FUNCTION = `
DROP FUNCTION IF EXISTS deaddrop_append(TEXT, TEXT[], BIGINT[], INTEGER[], BYTEA, BIGINT, BIGINT);
CREATE OR REPLACE FUNCTION deaddrop_append(
  instance TEXT, drop_ids TEXT[], received_ms BIGINT[], sizes INTEGER[], bodies BYTEA,
  max_messages BIGINT, max_bytes BIGINT,
  policy_seqs BIGINT[], standings SMALLINT[], nonces BYTEA[], nonce_expiry BIGINT[], intro_days INTEGER[], intro_limits INTEGER[]
) RETURNS BIGINT[] LANGUAGE plpgsql AS $$
DECLARE
  now_us CONSTANT BIGINT := (extract(epoch FROM clock_timestamp()) * 1000000)::BIGINT;
  positions BIGINT[] := array_fill(NULL::BIGINT, ARRAY[cardinality(drop_ids)]);
  target TEXT;
  members INTEGER[];
  i INTEGER;
  held deaddrop_drops;
  taken BOOLEAN;
  current_seq BIGINT;
  intro_taken INTEGER;
  spent_rows INTEGER;
  line TEXT;
  notice TEXT := '';
BEGIN
  FOR target, members IN
    SELECT drop_ids[s], array_agg(s ORDER BY s) FROM generate_subscripts(drop_ids, 1) AS s
    GROUP BY drop_ids[s] ORDER BY drop_ids[s] COLLATE "C"
  LOOP
    SELECT * INTO held FROM deaddrop_drops WHERE drop_id = target FOR UPDATE;
    IF NOT FOUND THEN
      INSERT INTO deaddrop_drops (drop_id, last_position, message_count, byte_count) VALUES (target, 0, 0, 0)
        ON CONFLICT (drop_id) DO UPDATE SET drop_id = EXCLUDED.drop_id
        RETURNING * INTO held;
    END IF;
    current_seq := NULL;
    SELECT seq INTO current_seq FROM deaddrop_policies WHERE drop_id = target FOR SHARE;
    current_seq := COALESCE(current_seq, 0);
    taken := false;
    FOREACH i IN ARRAY members LOOP
      IF policy_seqs[i] <> current_seq THEN
        positions[i] := -4;
        CONTINUE;
      END IF;
      IF held.message_count >= max_messages OR held.byte_count + sizes[i] > max_bytes THEN
        positions[i] := -1;
        CONTINUE;
      END IF;
      IF intro_days[i] IS NOT NULL THEN
        intro_taken := NULL;
        SELECT d.taken INTO intro_taken FROM deaddrop_intro_days d WHERE d.drop_id = target AND d.day = intro_days[i];
        IF COALESCE(intro_taken, 0) >= intro_limits[i] THEN
          positions[i] := -3;
          CONTINUE;
        END IF;
      END IF;
      IF nonces[i] IS NOT NULL THEN
        INSERT INTO deaddrop_spent (drop_id, nonce, expires_at_ms) VALUES (target, nonces[i], nonce_expiry[i])
          ON CONFLICT (drop_id, nonce) DO NOTHING;
        GET DIAGNOSTICS spent_rows = ROW_COUNT;
        IF spent_rows = 0 THEN
          positions[i] := -2;
          CONTINUE;
        END IF;
      END IF;
      IF intro_days[i] IS NOT NULL THEN
        INSERT INTO deaddrop_intro_days AS d (drop_id, day, taken) VALUES (target, intro_days[i], 1)
          ON CONFLICT (drop_id, day) DO UPDATE SET taken = d.taken + 1;
      END IF;
      held.last_position := GREATEST(held.last_position + 1, now_us);
      held.message_count := held.message_count + 1;
      held.byte_count := held.byte_count + sizes[i];
      positions[i] := held.last_position;
      taken := true;
      line := target || ' ' || held.last_position || ' ' || received_ms[i] || ' ' || sizes[i];
      IF length(notice) + length(line) > ${APPENDED_FORMAT.maxPayloadChars} THEN
        PERFORM pg_notify('${APPENDED_CHANNEL}', instance || notice);
        notice := '';
      END IF;
      notice := notice || E'\\n' || line;
    END LOOP;
    IF taken THEN
      UPDATE deaddrop_drops
        SET last_position = held.last_position, message_count = held.message_count, byte_count = held.byte_count
        WHERE drop_id = target;
    END IF;
  END LOOP;
  INSERT INTO deaddrop_messages (drop_id, position, received_at_ms, size, body, standing)
    SELECT d, p, r, n, substring(bodies FROM (ends - n + 1)::INTEGER FOR n), t
    FROM (
      SELECT d, p, r, n, t, SUM(n) OVER (ORDER BY k) AS ends
      FROM unnest(drop_ids, positions, received_ms, sizes, standings) WITH ORDINALITY AS item(d, p, r, n, t, k)
    ) item
    WHERE p > 0;
  IF notice <> '' THEN
    PERFORM pg_notify('${APPENDED_CHANNEL}', instance || notice);
  END IF;
  RETURN positions;
END $$;
`;

export const APPEND = 'SELECT deaddrop_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) AS positions';

export const POLICY_READ = 'SELECT seq, policy FROM deaddrop_policies WHERE drop_id = $1';
/** Locks the drop's policy row (if any) for a compare-and-set; appends hold it shared. */
export const POLICY_LOCK = 'SELECT seq FROM deaddrop_policies WHERE drop_id = $1 FOR UPDATE';
export const POLICY_SAVE = `INSERT INTO deaddrop_policies (drop_id, seq, policy) VALUES ($1, $2, $3)
  ON CONFLICT (drop_id) DO UPDATE SET seq = EXCLUDED.seq, policy = EXCLUDED.policy WHERE deaddrop_policies.seq = $4`;
export const STRIKE = `INSERT INTO deaddrop_spent (drop_id, nonce, expires_at_ms)
  SELECT $1, n, e FROM unnest($2::BYTEA[], $3::BIGINT[]) AS s(n, e) ON CONFLICT (drop_id, nonce) DO NOTHING`;
export const FORGET_SPENT = 'DELETE FROM deaddrop_spent WHERE expires_at_ms < $1';
export const FORGET_INTRO_DAYS = 'DELETE FROM deaddrop_intro_days WHERE day < $1';

const NEWEST_FIELDS = 'position, received_at_ms';
const MESSAGE_FIELDS = 'position, received_at_ms, body';
const IN_RANGE = 'drop_id = $1 AND position > $2 AND received_at_ms >= $3';

export const READS = {
  newest: `SELECT ${NEWEST_FIELDS} FROM deaddrop_messages WHERE ${IN_RANGE} ORDER BY position DESC LIMIT 1`,
  list: `SELECT ${MESSAGE_FIELDS} FROM deaddrop_messages WHERE ${IN_RANGE} ORDER BY position LIMIT $4`,
  at: `SELECT ${MESSAGE_FIELDS} FROM deaddrop_messages WHERE drop_id = $1 AND position = $2`,
  totalBytes: 'SELECT COALESCE(SUM(byte_count), 0) AS total FROM deaddrop_drops',
} as const;

/**
 * Takes the deleted rows (`gone`: drop_id, size) off their drops' counters and answers how many
 * there were. The drops' rows must be locked already, in drop ID order (see `APPEND_FUNCTION`).
 */
const UNCOUNT_GONE = `
freed AS (SELECT drop_id, count(*) AS n, sum(size) AS bytes FROM gone GROUP BY drop_id),
uncounted AS (
  UPDATE deaddrop_drops d SET message_count = d.message_count - f.n, byte_count = d.byte_count - f.bytes
  FROM freed f WHERE d.drop_id = f.drop_id
)
SELECT COALESCE(SUM(n), 0) AS deleted FROM freed`;

/** Deletes messages that arrived before `$1`. */
export const DELETE_EXPIRED = `
WITH locked AS (
  SELECT drop_id FROM deaddrop_drops
  WHERE drop_id IN (SELECT drop_id FROM deaddrop_messages WHERE received_at_ms < $1)
  ORDER BY drop_id FOR UPDATE
), gone AS (
  DELETE FROM deaddrop_messages WHERE received_at_ms < $1 AND drop_id IN (SELECT drop_id FROM locked)
  RETURNING drop_id, size
), ${UNCOUNT_GONE}`;

/**
 * Fair eviction for a quota of `$1` bytes (no row when the store is within it): the excess, and a
 * level that only drops above it can reach. Trimming the k largest drops (b1 >= b2 >= ...) to a
 * common level L frees (b1 + ... + bk) - k*L; the level is the highest that frees the excess, taken
 * at the first k where it does not fall below the next drop's bytes.
 */
export const EVICTION_BOUNDS = `
WITH sized AS (
  SELECT ROW_NUMBER() OVER w AS k, SUM(byte_count) OVER w AS prefix,
         LEAD(byte_count, 1, 0::BIGINT) OVER w AS next_bytes, SUM(byte_count) OVER () - $1 AS excess
  FROM deaddrop_drops WHERE byte_count > 0
  WINDOW w AS (ORDER BY byte_count DESC, drop_id ROWS UNBOUNDED PRECEDING)
)
SELECT floor((prefix - excess)::NUMERIC / k)::BIGINT AS level, excess FROM sized
WHERE excess > 0 AND (prefix - excess)::NUMERIC / k >= next_bytes
ORDER BY k LIMIT 1`;

/**
 * Deletes what "the drop holding the most bytes loses its oldest message", repeated until `$2`
 * bytes are freed, would delete. That repetition takes messages in the order of the bytes their
 * drop holds from them on, largest first (within a drop, oldest first), so it is the shortest run
 * of that order that frees `$2` bytes. Trimming every drop to the level `$1` frees at least as
 * much, so the run ends before any drop at or below the level.
 */
export const EVICT_LARGEST_FIRST = `
WITH locked AS (
  SELECT drop_id FROM deaddrop_drops WHERE byte_count > $1 ORDER BY drop_id FOR UPDATE
), ranked AS (
  SELECT drop_id, position, size, SUM(size) OVER (PARTITION BY drop_id ORDER BY position DESC) AS from_here
  FROM deaddrop_messages WHERE drop_id IN (SELECT drop_id FROM locked)
), queued AS (
  SELECT drop_id, position,
         SUM(size) OVER (ORDER BY from_here DESC, drop_id, position ROWS UNBOUNDED PRECEDING) - size AS freed_before
  FROM ranked
), gone AS (
  DELETE FROM deaddrop_messages m USING queued q
  WHERE q.freed_before < $2 AND m.drop_id = q.drop_id AND m.position = q.position
  RETURNING m.drop_id, m.size
), ${UNCOUNT_GONE}`;

/**
 * A tier of eviction (`DropStore.enforceQuota`): like `EVICTION_BOUNDS`, over the bytes of messages
 * of at most standing `$2` per drop, for the excess over a quota of `$1` or all those bytes if they
 * are fewer.
 */
export const EVICTION_BOUNDS_UP_TO = `
WITH per_drop AS (
  SELECT drop_id, SUM(size)::BIGINT AS byte_count FROM deaddrop_messages WHERE standing <= $2 GROUP BY drop_id
), sized AS (
  SELECT ROW_NUMBER() OVER w AS k, SUM(byte_count) OVER w AS prefix,
         LEAD(byte_count, 1, 0::BIGINT) OVER w AS next_bytes,
         LEAST((SELECT COALESCE(SUM(byte_count), 0) FROM deaddrop_drops) - $1, SUM(byte_count) OVER ()) AS excess
  FROM per_drop
  WINDOW w AS (ORDER BY byte_count DESC, drop_id ROWS UNBOUNDED PRECEDING)
)
SELECT GREATEST(0, floor((prefix - excess)::NUMERIC / k))::BIGINT AS level, excess FROM sized
WHERE excess > 0 AND (prefix - excess)::NUMERIC / k >= next_bytes
ORDER BY k LIMIT 1`;

/** `EVICT_LARGEST_FIRST` over messages of at most standing `$3` only. */
export const EVICT_UP_TO = `
WITH locked AS (
  SELECT drop_id FROM deaddrop_drops WHERE drop_id IN (
    SELECT drop_id FROM deaddrop_messages WHERE standing <= $3 GROUP BY drop_id HAVING SUM(size) > $1
  ) ORDER BY drop_id FOR UPDATE
), ranked AS (
  SELECT drop_id, position, size, SUM(size) OVER (PARTITION BY drop_id ORDER BY position DESC) AS from_here
  FROM deaddrop_messages WHERE standing <= $3 AND drop_id IN (SELECT drop_id FROM locked)
), queued AS (
  SELECT drop_id, position,
         SUM(size) OVER (ORDER BY from_here DESC, drop_id, position ROWS UNBOUNDED PRECEDING) - size AS freed_before
  FROM ranked
), gone AS (
  DELETE FROM deaddrop_messages m USING queued q
  WHERE q.freed_before < $2 AND m.drop_id = q.drop_id AND m.position = q.position
  RETURNING m.drop_id, m.size
), ${UNCOUNT_GONE}`;

/**
 * Forgets drops that have been empty for a day, so random drop IDs do not pile up. A row locked by
 * an append is skipped (that append is about to fill it); the clock margin is what keeps a drop
 * created again above its old positions (see `APPEND_FUNCTION`).
 */
export const FORGET_EMPTY_DROPS = `
DELETE FROM deaddrop_drops WHERE drop_id IN (
  SELECT drop_id FROM deaddrop_drops
  WHERE message_count = 0
    AND last_position < (extract(epoch FROM clock_timestamp()) * 1000000)::BIGINT - 86400000000
  FOR UPDATE SKIP LOCKED)`;

/** A tiny durable write that tells whether the write path works. */
export const PROBE = 'UPDATE deaddrop_probe SET probed_at = clock_timestamp() WHERE id = 1';
