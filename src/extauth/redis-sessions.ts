// OIDC sessions in Redis (Gloo's session.redis): the cookie holds an opaque
// id, the tokens live under <keyPrefix><id> with the cookie's lifetime.
// One client per host and db, shared by every policy that names them.
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { SessionStore } from './oidc.js';

export class RedisSessions {
  private readonly clients = new Map<string, Redis>();
  constructor(private readonly log: Logger) {}

  store(host: string, db: number): SessionStore {
    const key = `${host}/${db}`;
    let r = this.clients.get(key);
    if (!r) {
      // Gloo writes host:port; the port defaults to 6379.
      const m = /^(.*?)(?::(\d+))?$/.exec(host)!;
      r = new Redis({ host: m[1]!.replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : 6379, db, lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: true });
      r.on('error', (err: Error) => this.log.warn({ redis: host, err: err.message }, 'OIDC session store (Redis) error'));
      this.clients.set(key, r);
    }
    const redis = r;
    return {
      get: async (k) => {
        const v = await redis.get(k);
        return v ? JSON.parse(v) : undefined;
      },
      set: async (k, tokens, ttl) => {
        await redis.set(k, JSON.stringify(tokens), 'EX', Math.max(1, ttl));
      },
      delete: async (k) => {
        await redis.del(k);
      },
    };
  }

  close(): void {
    for (const r of this.clients.values()) r.disconnect();
    this.clients.clear();
  }
}
