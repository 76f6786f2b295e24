// Kubernetes refuses loopback addresses in EndpointSlices, so upstreams in
// Kubernetes tests need a host address that is not 127/8. A veth pair whose
// peer sits in a network namespace of our own gives the host one (from
// 198.18.0.0/15, the range reserved for network tests); traffic to it stays
// on this host. A forwarder there reaches an upstream on 127.0.0.1.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface HostAddress {
  ip: string;
  /** Listens on ip:port (a free port when 0) and forwards to 127.0.0.1:target. */
  forward(target: number, port?: number): Promise<{ port: number; close(): Promise<void> }>;
  close(): Promise<void>;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });

export async function hostAddress(): Promise<HostAddress> {
  const id = randomBytes(3).toString('hex');
  const ns = `kube-${id}`;
  const host = `kube-${id}h`;
  const addr = `198.18.${1 + (parseInt(id.slice(0, 2), 16) % 250)}.${1 + (parseInt(id.slice(2, 4), 16) % 250)}`;
  try {
    ip('netns', 'add', ns);
    ip('link', 'add', host, 'type', 'veth', 'peer', 'name', `kube-${id}n`, 'netns', ns);
    ip('addr', 'add', `${addr}/32`, 'dev', host);
    ip('link', 'set', host, 'up');
  } catch (err) {
    try { ip('link', 'del', host); } catch { /* not created */ }
    try { ip('netns', 'del', ns); } catch { /* not created */ }
    throw new Error(`could not give this host a test address with a veth pair (needs root and iproute2): ${(err as { stderr?: Buffer }).stderr?.toString() ?? (err as Error).message}`);
  }
  const servers = new Set<Server>();
  const sockets = new Set<Socket>();
  return {
    ip: addr,
    forward(target, port = 0) {
      const server = createServer((inbound) => {
        const outbound = createConnection({ host: '127.0.0.1', port: target });
        for (const s of [inbound, outbound]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => { inbound.destroy(); outbound.destroy(); });
        }
        inbound.pipe(outbound).pipe(inbound);
      });
      servers.add(server);
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, addr, () =>
          resolve({
            port: (server.address() as { port: number }).port,
            close: () => new Promise<void>((r) => { servers.delete(server); server.close(() => r()); }),
          }),
        );
      });
    },
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all([...servers].map((s) => new Promise<void>((r) => s.close(() => r()))));
      try { ip('link', 'del', host); } catch { /* gone with the namespace */ }
      try { ip('netns', 'del', ns); } catch { /* already gone */ }
    },
  };
}
