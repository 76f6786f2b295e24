// /debug/events: Server-Sent Events that tell the /ui page to refetch. One timer
// for all subscribers compares the configuration generation and each viewer's
// view of the proxies' ACK/NACK state; it runs only while someone listens.
import type { ServerResponse } from 'node:http';
import { seesKey, type Viewer } from '../access.js';
import type { PipelineState } from '../../pipeline.js';
import type { XdsServer } from '../../xds/server.js';
import type { ProxyInfo } from '../../xds/stream.js';
import type { UiEvent } from './payload.js';

interface Subscriber {
  res: ServerResponse;
  viewer: Viewer;
  generation: number;
  proxies: string;
}

export class UiEvents {
  private readonly subs = new Set<Subscriber>();
  private timer?: NodeJS.Timeout;
  private beat?: NodeJS.Timeout;

  constructor(
    private readonly state: PipelineState,
    private readonly xds: XdsServer,
    private readonly everyMs = 200,
  ) {}

  subscribe(res: ServerResponse, viewer: Viewer): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    const sub: Subscriber = { res, viewer, generation: this.state.generation, proxies: this.proxiesOf(viewer, this.xds.proxies()) };
    this.subs.add(sub);
    res.write('retry: 1000\n\n');
    send(sub, { type: 'config', generation: sub.generation });
    res.on('close', () => {
      this.subs.delete(sub);
      if (!this.subs.size) this.stopTimers();
    });
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.everyMs).unref();
      // A comment now and then keeps idle proxies and load balancers from closing the stream.
      this.beat = setInterval(() => this.subs.forEach((s) => s.res.write(': keep-alive\n\n')), 15_000).unref();
    }
  }

  /** Ends every stream (the server is closing). */
  close(): void {
    for (const s of this.subs) s.res.end();
    this.subs.clear();
    this.stopTimers();
  }

  private tick(): void {
    const all = this.xds.proxies();
    for (const s of this.subs) {
      if (s.generation !== this.state.generation) {
        s.generation = this.state.generation;
        send(s, { type: 'config', generation: s.generation });
      }
      const p = this.proxiesOf(s.viewer, all);
      if (p !== s.proxies) {
        s.proxies = p;
        send(s, { type: 'proxies' });
      }
    }
  }

  private proxiesOf(viewer: Viewer, all: ProxyInfo[]): string {
    return JSON.stringify(all.filter((p) => seesKey(viewer, p.key, this.state.core?.ir)));
  }

  private stopTimers(): void {
    clearInterval(this.timer);
    clearInterval(this.beat);
    this.timer = this.beat = undefined;
  }
}

const send = (s: Subscriber, e: UiEvent) => s.res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
