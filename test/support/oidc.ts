// A real OpenID Connect provider on loopback for the OIDC tests: npm
// oidc-provider (a certified implementation) with its development login and
// consent pages, and a small cookie-keeping browser that follows redirects
// and submits those pages the way a user would.
import { request as httpRequestRaw } from 'node:http';
import Provider from 'oidc-provider';
import { freePort } from './net.js';

export interface OidcProviderHandle {
  issuer: string;
  close(): Promise<void>;
}

export async function startOidcProvider(clients: Array<{ clientId: string; clientSecret: string; redirectUris: string[] }>): Promise<OidcProviderHandle> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: clients.map((c) => ({ client_id: c.clientId, client_secret: c.clientSecret, redirect_uris: c.redirectUris, grant_types: ['authorization_code'], response_types: ['code'] })),
    findAccount: async (_ctx: unknown, id: string) => ({ accountId: id, claims: async () => ({ sub: id, email: `${id}@example.com`, email_verified: true }) }),
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    cookies: { keys: ['meshplane-test-oidc-cookie-key'] },
    features: { devInteractions: { enabled: true } },
    // Claims in the id token too (Gloo's claimsToHeaders reads the id token), not only at userinfo.
    conformIdTokenClaims: false,
  } as any);
  // The development pages warn on every start; they are what a test wants.
  const server = provider.listen(port, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  return { issuer, close: () => new Promise((r) => (server.closeAllConnections?.(), server.close(() => r()))) };
}

export interface BrowserResponse {
  url: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Cookies per host name (as browsers keep them: the port does not count), redirects followed, dev login pages submitted. */
export class Browser {
  readonly jar = new Map<string, Map<string, string>>();
  /** Every URL visited, in order. */
  readonly visited: string[] = [];

  /** connectTo: where to send requests for a host (the gateway's port for the app's host names). */
  constructor(private readonly connectTo: (url: URL) => number, private readonly login = 'alice') {}

  cookies(host: string): Map<string, string> {
    let m = this.jar.get(host);
    if (!m) this.jar.set(host, (m = new Map()));
    return m;
  }

  async send(url: string, opts: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<BrowserResponse> {
    const u = new URL(url);
    this.visited.push(url);
    const jar = this.cookies(u.hostname);
    const body = opts.form ? new URLSearchParams(opts.form).toString() : undefined;
    const headers: Record<string, string> = { host: u.host, ...(jar.size ? { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {}), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...(opts.headers ?? {}) };
    const res = await new Promise<BrowserResponse>((resolve, reject) => {
      const req = httpRequestRaw({ host: '127.0.0.1', port: this.connectTo(u), path: u.pathname + u.search, method: opts.method ?? (body ? 'POST' : 'GET'), headers, timeout: 10_000 }, (r) => {
        let text = '';
        r.setEncoding('utf8');
        r.on('data', (c) => (text += c));
        r.on('end', () => resolve({ url, status: r.statusCode ?? 0, headers: r.headers, body: text }));
      });
      req.on('timeout', () => req.destroy(new Error(`${url} timed out`)));
      req.on('error', reject);
      if (body) req.write(body);
      req.end();
    });
    for (const c of ([] as string[]).concat(res.headers['set-cookie'] ?? [])) {
      const [pair, ...attrs] = c.split(';');
      const i = pair!.indexOf('=');
      const [name, value] = [pair!.slice(0, i).trim(), pair!.slice(i + 1).trim()];
      if (attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  }

  /** Follows redirects and submits the provider's login and consent pages until a page that is neither. */
  async visit(url: string, maxSteps = 20): Promise<BrowserResponse> {
    let res = await this.send(url);
    for (let i = 0; i < maxSteps; i++) {
      if (res.status >= 300 && res.status < 400 && res.headers.location) {
        res = await this.send(new URL(String(res.headers.location), res.url).href);
        continue;
      }
      const form = /<form[^>]*action="([^"]+)"[^>]*method="post"[\s\S]*?name="prompt" value="(login|consent)"/.exec(res.body);
      if (res.status === 200 && form) {
        const action = new URL(form[1]!.replace(/&amp;/g, '&'), res.url).href;
        res = await this.send(action, { form: form[2] === 'login' ? { prompt: 'login', login: this.login, password: 'any' } : { prompt: 'consent' } });
        continue;
      }
      return res;
    }
    throw new Error(`more than ${maxSteps} redirects or pages from ${url}: ${this.visited.slice(-5).join(' -> ')}`);
  }
}
