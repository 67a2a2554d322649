/**
 * Blobs in PostgreSQL, so every server instance on the database serves every blob. A blob is a row
 * in `deaddrop_blobs` and its bytes are rows of `deaddrop_blob_chunks` (1 MiB each), written in one
 * transaction: a broken-off upload rolls back and leaves nothing. Downloads read one chunk at a time,
 * so memory stays bounded by the chunk size whatever the blob's size.
 */
import pg from 'pg';
import { createServerLogger } from '../serverLog.js';
import { type BlobStore, type OpenBlob, isValidBlobId, limitedChunks } from './blobStore.js';

const log = createServerLogger('server/blobs');

export const BLOB_CHUNK_BYTES = 1024 * 1024;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS deaddrop_blobs (
  id text PRIMARY KEY,
  size bigint NOT NULL,
  created_at_ms bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS deaddrop_blobs_created ON deaddrop_blobs (created_at_ms);
CREATE TABLE IF NOT EXISTS deaddrop_blob_chunks (
  blob_id text NOT NULL REFERENCES deaddrop_blobs (id) ON DELETE CASCADE,
  seq integer NOT NULL,
  data bytea NOT NULL,
  PRIMARY KEY (blob_id, seq)
);`;

/** Joins arriving pieces into chunks of exactly `BLOB_CHUNK_BYTES` (the last one shorter). */
async function* rechunked(body: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const piece of body) {
    let rest = piece;
    while (pendingBytes + rest.length >= BLOB_CHUNK_BYTES) {
      const take = BLOB_CHUNK_BYTES - pendingBytes;
      pending.push(rest.subarray(0, take));
      yield Buffer.concat(pending, BLOB_CHUNK_BYTES);
      pending = [];
      pendingBytes = 0;
      rest = rest.subarray(take);
    }
    if (rest.length > 0) {
      pending.push(rest);
      pendingBytes += rest.length;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}

export async function openPostgresBlobStore(url: string): Promise<BlobStore> {
  const newPool = (name: string) => {
    const created = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 10_000, application_name: name });
    created.on('error', (error) => log.warn('idle database connection failed', { error: error.message }));
    return created;
  };
  // An upload holds its connection (and transaction) while its bytes arrive, as slowly as the
  // client sends them: uploads get connections of their own, so slow ones never keep downloads
  // waiting (a fifth upload at once waits for one of them, and is refused after 10 s).
  const uploads = newPool('deaddrop-blob-uploads');
  const pool = newPool('deaddrop-blobs');
  try {
    await pool.query(SCHEMA);
  } catch (error) {
    await Promise.all([pool.end(), uploads.end()]).catch(() => undefined);
    throw error;
  }

  return {
    async put(id, body, maxBytes, createdAtMs) {
      if (!isValidBlobId(id)) throw new Error('invalid blob id');
      const client = await uploads.connect();
      let size = 0;
      try {
        await client.query('BEGIN');
        await client.query('INSERT INTO deaddrop_blobs (id, size, created_at_ms) VALUES ($1, 0, $2)', [id, createdAtMs]);
        let seq = 0;
        for await (const chunk of rechunked(limitedChunks(body, maxBytes))) {
          await client.query('INSERT INTO deaddrop_blob_chunks (blob_id, seq, data) VALUES ($1, $2, $3)', [id, seq++, chunk]);
          size += chunk.length;
        }
        if (size > 0) await client.query('UPDATE deaddrop_blobs SET size = $2 WHERE id = $1', [id, size]);
        await client.query(size > 0 ? 'COMMIT' : 'ROLLBACK');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
      return size;
    },

    async open(id): Promise<OpenBlob | null> {
      if (!isValidBlobId(id)) return null;
      const { rows } = await pool.query<{ size: string; created_at_ms: string }>(
        'SELECT size, created_at_ms FROM deaddrop_blobs WHERE id = $1',
        [id],
      );
      const row = rows[0];
      if (!row) return null;
      return {
        size: Number(row.size),
        createdAtMs: Number(row.created_at_ms),
        async *read(start, end) {
          for (let seq = Math.floor(start / BLOB_CHUNK_BYTES); seq <= Math.floor(end / BLOB_CHUNK_BYTES); seq++) {
            const chunk = await pool.query<{ data: Buffer }>('SELECT data FROM deaddrop_blob_chunks WHERE blob_id = $1 AND seq = $2', [id, seq]);
            const data = chunk.rows[0]?.data;
            // Deleted by the sweeper meanwhile: the response ends short and the client resumes or gives up.
            if (!data) return;
            const offset = seq * BLOB_CHUNK_BYTES;
            yield data.subarray(Math.max(0, start - offset), Math.min(data.length, end - offset + 1));
          }
        },
        close: () => Promise.resolve(),
      };
    },

    async deleteExpired(beforeMs) {
      const result = await pool.query('DELETE FROM deaddrop_blobs WHERE created_at_ms < $1', [beforeMs]);
      return result.rowCount ?? 0;
    },

    async storedBytes() {
      const { rows } = await pool.query<{ total: string }>('SELECT COALESCE(SUM(size), 0)::text AS total FROM deaddrop_blobs');
      return Number(rows[0]!.total);
    },

    async close() {
      await Promise.all([pool.end(), uploads.end()]);
    },
  };
}
