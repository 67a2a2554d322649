/** Test helper: a fresh PostgreSQL database per test run, on the server named by DEADDROP_TEST_PG_URL. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_URL = process.env.DEADDROP_TEST_PG_URL;

export function explainPostgresSkip(): void {
  if (!PG_URL) console.warn('PostgreSQL tests skipped: set DEADDROP_TEST_PG_URL (.ci/run starts a server and sets it)');
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(serverUrl: string): Promise<TestDatabase> {
  const name = `deaddrop_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
