#!/usr/bin/env node
// A tiny upstream for the demo: answers every request with what it received.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 9080);
const name = process.env.NAME ?? 'echo';
createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ upstream: name, method: req.method, path: req.url, host: req.headers.host, headers: req.headers }) + '\n');
}).listen(port, '127.0.0.1', () => console.log(`${name} upstream on http://127.0.0.1:${port}`));
