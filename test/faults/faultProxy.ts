/**
 * A fault-injecting HTTP proxy in front of one real drop server (127.0.0.1 only). Engines use the
 * proxy's address as the server's: every request goes through it, and the proxy may, per its current
 * mode, reset the connection before forwarding, forward and then lose the answer, forward a POST
 * twice, delay or hold (reorder) a request, answer 503, refuse everything while "down" (a window of
 * the simulated clock), or answer 200 to a POST it never forwards ("lossy": the server that forgets).
 * Every choice comes from a seeded generator, so a run is repeatable up to the order in which the
 * engines' requests arrive. It records what it saw: bytes each way, faults by kind, and the bodies of
 * POSTs (for the linkability check).
 */
import { type IncomingMessage, type ServerResponse, Agent, createServer, request } from 'node:http';
import type { Socket } from 'node:net';
import { type Random } from './random.js';

export interface FaultMode {
  /** Reset the connection before forwarding (the server never sees it). */
  resetP?: number;
  /** Forward, then reset the connection instead of answering (the server stored it; the client cannot know). */
  lostAnswerP?: number;
  /** Forward a POST twice. */
  duplicateP?: number;
  /** Hold a request this long (real ms, uniform) before forwarding. */
  delayMs?: readonly [number, number];
  /** Hold a POST until the next request to this server has been forwarded, or `reorderMaxMs` passed. */
  reorderP?: number;
  reorderMaxMs?: number;
  /** Answer 503 without forwarding. */
  errorP?: number;
  /** Answer 200 to a POST and never forward it. */
  lossyP?: number;
  /** Simulated-time windows [start, end) during which every request is refused (connection reset). */
  down?: readonly (readonly [number, number])[];
}

export type FaultKind = 'reset' | 'lostAnswer' | 'duplicate' | 'delay' | 'reorder' | 'error' | 'lossy' | 'down';

export interface CapturedPost {
  /** The drop ID (the URL path's last segment). */
  dropId: string;
  body: Buffer;
  /** Simulated time it arrived. */
  at: number;
  /** Whether the server got it (false: reset, 503, lossy, down). */
  forwarded: boolean;
}

export interface ProxyStats {
  requests: number;
  posts: number;
  gets: number;
  /** Body bytes clients POSTed to the proxy (whatever became of them). */
  postBytes: number;
  /** Response body bytes the proxy passed back to clients on GETs. */
  getBytes: number;
  faults: Record<FaultKind, number>;
}

export interface FaultProxyOptions {
  /** The drop server behind the proxy. */
  target: string;
  random: Random;
  /** The simulation's clock (for `down` windows and capture times). */
  now(): number;
  /** Keep POST bodies (default false: only counts). */
  capture?: boolean;
}

const emptyFaults = (): Record<FaultKind, number> => ({ reset: 0, lostAnswer: 0, duplicate: 0, delay: 0, reorder: 0, error: 0, lossy: 0, down: 0 });

export class FaultProxy {
  mode: FaultMode = {};
  readonly stats: ProxyStats = { requests: 0, posts: 0, gets: 0, postBytes: 0, getBytes: 0, faults: emptyFaults() };
  readonly captured: CapturedPost[] = [];
  /** With `capture`: requests other than POST (reads, probes) per drop ID, to show who reads which drop. */
  readonly reads = new Map<string, number>();
  private readonly server = createServer((req, res) => void this.handle(req, res));
  private readonly sockets = new Set<Socket>();
  private readonly upstream = new Agent({ keepAlive: true, maxSockets: 16 });
  private readonly target: URL;
  /** POSTs held for reordering: released when the next request has gone through. */
  private held: (() => void)[] = [];
  private closed = false;
  url = '';

  constructor(private readonly options: FaultProxyOptions) {
    this.target = new URL(options.target);
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  /** True while a `down` window covers the simulated time now. */
  isDown(at = this.options.now()): boolean {
    return (this.mode.down ?? []).some(([start, end]) => at >= start && at < end);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const release of this.held) release();
    this.held = [];
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.upstream.destroy();
  }

  private chance(p: number | undefined): boolean {
    return p !== undefined && p > 0 && this.options.random.next() < p;
  }

  private count(kind: FaultKind): void {
    this.stats.faults[kind]++;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req).catch(() => null);
    if (body === null) return void res.destroy();
    const mode = this.mode;
    const at = this.options.now();
    const isPost = req.method === 'POST';
    this.stats.requests++;
    if (isPost) {
      this.stats.posts++;
      this.stats.postBytes += body.length;
    } else if (req.method === 'GET') this.stats.gets++;
    if (!isPost && this.options.capture) {
      const dropId = (req.url ?? '').split('?')[0]!.split('/').at(-1) ?? '';
      this.reads.set(dropId, (this.reads.get(dropId) ?? 0) + 1);
    }
    const capture = (forwarded: boolean) => {
      if (isPost && this.options.capture) this.captured.push({ dropId: (req.url ?? '').split('?')[0]!.split('/').at(-1) ?? '', body, at, forwarded });
    };
    // Whatever came before this request and was held for reordering now goes after it.
    const release = this.held;
    this.held = [];
    try {
      if (this.isDown(at)) {
        this.count('down');
        capture(false);
        return void res.destroy();
      }
      if (this.chance(mode.resetP)) {
        this.count('reset');
        capture(false);
        return void res.destroy();
      }
      if (this.chance(mode.errorP)) {
        this.count('error');
        capture(false);
        return void res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' }).end('injected fault');
      }
      if (isPost && this.chance(mode.lossyP)) {
        this.count('lossy');
        capture(false);
        return void res.writeHead(200, { 'content-type': 'text/plain' }).end();
      }
      if (mode.delayMs && mode.delayMs[1] > 0) {
        this.count('delay');
        await sleep(mode.delayMs[0] + this.options.random.next() * (mode.delayMs[1] - mode.delayMs[0]));
      }
      if (isPost && this.chance(mode.reorderP)) {
        this.count('reorder');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, mode.reorderMaxMs ?? 200);
          this.held.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      if (this.closed) return void res.destroy();
      capture(true);
      if (isPost && this.chance(mode.duplicateP)) {
        this.count('duplicate');
        await this.forward(req, body).catch(() => null);
      }
      const answer = await this.forward(req, body);
      if (this.chance(mode.lostAnswerP)) {
        this.count('lostAnswer');
        return void res.destroy();
      }
      if (req.method === 'GET') this.stats.getBytes += answer.body.length;
      res.writeHead(answer.status, answer.headers).end(answer.body);
    } catch {
      res.destroy();
    } finally {
      for (const next of release) next();
    }
  }

  private forward(req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: this.target.host };
      delete headers.connection;
      const upstream = request(
        { agent: this.upstream, host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, headers },
        (answer) => {
          readBody(answer).then((data) => {
            const out: Record<string, string | string[]> = {};
            for (const [name, value] of Object.entries(answer.headers)) {
              if (value === undefined || name === 'connection' || name === 'keep-alive' || name === 'transfer-encoding') continue;
              out[name] = value;
            }
            out['content-length'] = String(data.length);
            resolve({ status: answer.statusCode ?? 502, headers: out, body: data });
          }, reject);
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });
  }
}

function readBody(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
