/**
 * Test helper: an existing Express application with routes of its own, the drop service mounted
 * in it at a service path, and push attached to its server: the "existing HTTP environment" case.
 */
import express from 'express';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { createDropHandler, type DropServerOptions, type MountedDropHandler } from '../../server/index.js';
import { makeDataDir, removeDataDir } from './serverProcess.js';

export interface ExpressHost {
  /** The service path's URL, as drop URLs start. */
  url: string;
  /** The host application's own root. */
  origin: string;
  drops: MountedDropHandler;
  stop(): Promise<void>;
}

/**
 * @param mountPath where Express mounts the middleware: `/tools/drop` (Express strips it from
 *   `req.url`) or `/` (the middleware sees every request and picks its own)
 */
export async function startExpressHost(options: Partial<DropServerOptions> & { mountPath?: string } = {}): Promise<ExpressHost> {
  const { mountPath = '/tools/drop', ...dropOptions } = options;
  const dataDir = makeDataDir();
  const drops = await createDropHandler({
    db: `sqlite:${join(dataDir, 'drops.db')}`,
    logLevel: 'warn',
    basePath: '/tools/drop',
    ...dropOptions,
  });
  const app = express();
  app.disable('x-powered-by');
  app.get('/', (_req, res) => void res.type('text').send('host home'));
  app.get('/api/hello', (_req, res) => void res.json({ hello: 'world' }));
  app.use(mountPath, drops.middleware);
  app.get('/tools/after', (_req, res) => void res.type('text').send('host route after the drops'));
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  drops.attach(server);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/tools/drop`,
    origin: `http://127.0.0.1:${port}`,
    drops,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await drops.close();
      removeDataDir(dataDir);
    },
  };
}
