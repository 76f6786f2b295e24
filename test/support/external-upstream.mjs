// A stand-in for something outside the mesh (a database's HTTP API, a public
// site), run in its own network namespace without a sidecar. It answers every
// request with what it saw:
//   {upstream, host, path, remote (the caller's address), tls: {sni, clientCert: <SANs or null>, authorized} | null}
// Usage: node external-upstream.mjs NAME PORT [CERT KEY CA]  (with CERT: TLS,
// asking for a client certificate signed by CA, not requiring one).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';

const [name, port, cert, key, ca] = process.argv.slice(2);
const answer = (req, res) => {
  const s = req.socket;
  const peer = s.getPeerCertificate ? s.getPeerCertificate() : undefined;
  const tls = s.encrypted ? { sni: s.servername ?? null, clientCert: peer && peer.subjectaltname ? peer.subjectaltname : null, authorized: s.authorized } : null;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ upstream: name, host: req.headers.host, path: req.url, remote: s.remoteAddress?.replace(/^::ffff:/, ''), tls }));
};
const server = cert
  ? createTlsServer({ cert: readFileSync(cert), key: readFileSync(key), ca: readFileSync(ca), requestCert: true, rejectUnauthorized: false }, answer)
  : createServer(answer);
server.listen(Number(port), '0.0.0.0', () => process.stdout.write('ready\n'));
