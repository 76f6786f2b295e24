// A bookinfo-like app for mesh tests, run inside its workload's network
// namespace. On its service port it answers with its name and what it got
// (headers include x-forwarded-client-cert from its sidecar). On a control
// port (never captured by iptables) the test asks it to call another service:
//   GET /call?addr=IP&port=P&host=H&path=/x&h=name:value  -> {status, body}
// The call leaves through the workload's own sidecar (transparent capture).
import { createServer, request } from 'node:http';

const [name, port, controlPort] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];

createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ app: name, path: req.url, headers: req.headers }));
}).listen(port, '0.0.0.0');

createServer((req, res) => {
  const u = new URL(req.url ?? '/', 'http://x');
  if (u.pathname !== '/call') return void res.end(JSON.stringify({ app: name, ready: true }));
  const headers = { host: u.searchParams.get('host') ?? 'localhost' };
  for (const h of u.searchParams.getAll('h')) headers[h.slice(0, h.indexOf(':'))] = h.slice(h.indexOf(':') + 1);
  const out = request({ host: u.searchParams.get('addr'), port: Number(u.searchParams.get('port')), path: u.searchParams.get('path') ?? '/', headers, timeout: 5000 }, (r) => {
    let body = '';
    r.on('data', (c) => (body += c));
    r.on('end', () => res.end(JSON.stringify({ status: r.statusCode, body })));
  });
  out.on('timeout', () => out.destroy(new Error('timeout')));
  out.on('error', (err) => res.end(JSON.stringify({ status: 0, error: err.message })));
  out.end();
}).listen(controlPort, '0.0.0.0', () => process.stdout.write('ready\n'));
