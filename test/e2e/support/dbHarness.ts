import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { Page } from '@playwright/test';
import { build } from 'vite';
import { createStaticHandler } from '../../../tools/webHost/staticFiles.js';

const HARNESS_OUT = resolve('test-results/db-harness');

/** Builds test/dbHarness (the database layer on a bare page) and serves it on loopback. */
export async function serveDbHarness(): Promise<{ url: string; close: () => Promise<void> }> {
  await build({ configFile: resolve('test/dbHarness/vite.config.ts') });
  const server: Server = createServer(createStaticHandler(HARNESS_OUT));
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((done) => server.close(() => done())) };
}

/** Calls `window.harness[name](...args)` in the page; arguments and results are plain JSON. */
export async function harnessCall<T>(page: Page, name: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(
    ({ name, args }) => {
      const harness = (globalThis as unknown as { harness: Record<string, (...a: unknown[]) => unknown> }).harness;
      return harness[name]!(...args);
    },
    { name, args },
  ) as Promise<T>;
}
