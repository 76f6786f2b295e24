// Defect class 4 (issue 9): `GET /%` ended the process with URIError. Every
// admin request now gets an answer (4xx for bad input) and the server stays up.
import fc from 'fast-check';
import { connect } from 'node:net';
import type { Server } from 'node:http';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminServer } from '../../../src/admin/server.js';
import { computeCore } from '../../../src/core/index.js';
import { XdsServer } from '../../../src/xds/server.js';
import { SnapshotCache } from '../../../src/xds/snapshot.js';

/** Sends raw bytes, returns the status code of the answer (0 if the socket closed without one). */
function raw(port: number, request: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let data = '';
    sock.on('data', (c) => (data += c.toString('latin1')));
    sock.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0)));
    sock.on('error', reject);
    sock.write(request, 'latin1');
    setTimeout(() => sock.end(), 200);
  });
}

describe('admin API under bad requests', () => {
  let server: Server;
  let port: number;
  const xds = new XdsServer(new SnapshotCache(), pino({ level: 'silent' }));
  beforeAll(async () => {
    server = await startAdminServer('127.0.0.1', 0, { core: computeCore([]), generation: 1 }, xds);
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    server.close();
    await xds.close(100);
  });
  const get = (path: string) => raw(port, `GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);

  it('answers malformed percent-encoding with 400 and keeps serving', async () => {
    for (const p of ['/%', '/%E0%A4%A', '/debug/config/%ZZ', '/debug/config/%', '/%00%']) expect(await get(p)).toBe(400);
    expect(await get('/healthz')).toBe(200);
  });

  it('answers unknown paths, odd methods, huge and garbage requests with 4xx', async () => {
    expect(await get('/debug/config/nobody')).toBe(404);
    expect(await get('/' + 'x'.repeat(100_000))).toBeGreaterThanOrEqual(400);
    expect(await raw(port, 'DELETE /debug/status HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n')).toBe(405);
    expect(await raw(port, 'NOT HTTP AT ALL\r\n\r\n')).toBe(400);
    expect(await get('/healthz')).toBe(200);
  });

  it('never drops the server for any request path (property)', async () => {
    const segment = fc.string({ unit: fc.constantFrom('%', 'a', 'Z', '0', 'F', '/', '.', '?', '#', '\u00ff', '~'), maxLength: 30 });
    await fc.assert(
      fc.asyncProperty(segment, async (s) => {
        const code = await get('/' + s);
        return code >= 200 && code < 500;
      }),
      { numRuns: 150 },
    );
    expect(await get('/healthz')).toBe(200);
  });
});
