// A team's small app for the compose demo: answers every request with who it
// is and what it received (the headers policies added show up here).
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 8080);
const app = process.env.APP ?? 'app';
const server = createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ app, method: req.method, path: req.url, host: req.headers.host, headers: req.headers }) + '\n');
}).listen(port, '0.0.0.0', () => console.log(`${app} listening on :${port}`));
// Stop at once on SIGTERM (docker stop): keep-alive connections must not hold the exit.
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { server.closeAllConnections(); server.close(() => process.exit(0)); });
