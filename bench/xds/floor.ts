// The physical floor of one bench:xds change, measured on this machine: the
// work no server can avoid. Encode and hash the changed endpoint resources
// once, copy each client's response once, and move all responses over
// loopback TCP. (Decoding and ACKing on the clients is theirs, not counted.)
import { createServer, connect } from 'node:net';
import { encodeResource, TYPES } from '../../src/xds/protos.js';
import { hash } from '../../src/xds/encodings.js';
import { median } from '../stats.js';
import { estate } from './snapshots.js';

export async function floorOfChange(keys: number, clients: number): Promise<{ encodeMs: number; hashMs: number; copyMs: number; loopbackMs: number; totalMs: number; bytes: number }> {
  const bodies = estate(keys, 1).flatMap(([, r]) => r.endpoint.map((e) => e.body));
  const runs = 7;
  const encode: number[] = [];
  const hashes: number[] = [];
  let values: Uint8Array[] = [];
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    values = bodies.map((b) => encodeResource(TYPES.endpoint, b));
    encode.push(performance.now() - t);
    t = performance.now();
    for (const v of values) hash(v);
    hashes.push(performance.now() - t);
  }
  // One response per client: its gateway's endpoints.
  const perKey = values.reduce((s, v) => s + v.byteLength + 64, 0) / keys;
  const response = Buffer.alloc(Math.round(perKey));
  const bytes = response.byteLength * clients;
  const copy: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    for (let c = 0; c < clients; c++) Buffer.from(response);
    copy.push(performance.now() - t);
  }
  const loopback: number[] = [];
  for (let i = 0; i < runs; i++) loopback.push(await moveOverLoopback(response, clients));
  const r = (n: number) => Math.round(n * 10) / 10;
  const f = { encodeMs: r(median(encode)), hashMs: r(median(hashes)), copyMs: r(median(copy)), loopbackMs: r(median(loopback)) };
  return { ...f, totalMs: r(f.encodeMs + f.hashMs + f.copyMs + f.loopbackMs), bytes };
}

/** Time to write `count` copies of `chunk` to a loopback socket until the reader has them all. */
function moveOverLoopback(chunk: Buffer, count: number): Promise<number> {
  return new Promise((resolve) => {
    const total = chunk.byteLength * count;
    const server = createServer((sock) => {
      let got = 0;
      sock.on('data', (d) => {
        got += d.byteLength;
        if (got >= total) {
          resolve(performance.now() - t);
          sock.destroy();
          server.close();
        }
      });
    });
    let t = 0;
    server.listen(0, '127.0.0.1', () => {
      const c = connect((server.address() as { port: number }).port, '127.0.0.1', () => {
        t = performance.now();
        for (let i = 0; i < count; i++) c.write(chunk);
        c.end();
      });
    });
  });
}
