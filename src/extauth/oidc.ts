// Gloo's oauth2.oidcAuthorizationCode: a request without a valid session is
// redirected to the provider's login (or answered 401 with failOnRedirect);
// the callback exchanges the code (openid-client: state, nonce and PKCE
// checked, id token validated) and starts a session; later requests carry it.
// Sessions: Gloo's cookie store (the id and access tokens in cookies
// <keyPrefix>id_token / <keyPrefix>access_token, the id token verified on
// every request) or Redis (an opaque session id in the cookie).
import { randomBytes } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import * as client from 'openid-client';
import type { Logger } from 'pino';
import type { OidcStepIR } from '../ir/ext-auth.js';
import type { Revealed } from './config-file.js';
import { parseCookies, setCookie } from './cookies.js';
import { allow, deny, type AuthRequest, type Decision, type HeaderToAdd } from './decision.js';
import type { CompiledStep } from './engine.js';
import type { SessionKeys } from './session-keys.js';

/** With the config's failOnRedirect (answer 401 instead of redirecting). */
type Step = Revealed<OidcStepIR> & { failOnRedirect?: boolean };
/** What travels through the provider in `state`, sealed. */
interface LoginState { returnTo: string; nonce: string; verifier: string; exp: number }
interface Tokens { idToken: string; accessToken?: string }

/** Login state older than this is refused: the user starts again. */
const LOGIN_TTL_S = 600;

export interface SessionStore {
  get(key: string): Promise<Tokens | undefined>;
  set(key: string, tokens: Tokens, ttlSeconds: number): Promise<void>;
  delete(key: string): Promise<void>;
}

export interface OidcDeps {
  keys: SessionKeys;
  log: Logger;
  /** A Redis session store for a host:port and db (session.redis). */
  redis(host: string, db: number): SessionStore;
}

export class OidcStep implements CompiledStep {
  private provider?: Promise<{ config: client.Configuration; jwks: ReturnType<typeof createRemoteJWKSet>; issuer: string }>;
  private readonly redirectUri: string;
  private readonly store?: SessionStore;

  constructor(private readonly step: Step, private readonly deps: OidcDeps) {
    this.redirectUri = step.appUrl + step.callbackPath;
    if (step.session.store === 'redis') this.store = deps.redis(step.session.redis!.host, step.session.redis!.db);
  }

  /** Discovery, retried on the next request when the provider cannot be reached. */
  private discover() {
    this.provider ??= (async () => {
      const issuer = new URL(this.step.issuerUrl);
      const auth = this.step.clientSecret !== undefined ? client.ClientSecretBasic(this.step.clientSecret) : client.None();
      const config = await client.discovery(issuer, this.step.clientId, undefined, auth, issuer.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : undefined);
      const meta = config.serverMetadata();
      if (!meta.jwks_uri) throw new Error(`${this.step.issuerUrl}: the discovery document has no jwks_uri`);
      return { config, jwks: createRemoteJWKSet(new URL(meta.jwks_uri)), issuer: meta.issuer };
    })().catch((err: Error) => {
      this.provider = undefined;
      throw new Error(`OIDC discovery of ${this.step.issuerUrl} failed: ${err.message}`);
    });
    return this.provider;
  }

  async check(req: AuthRequest): Promise<Decision> {
    let p;
    try {
      p = await this.discover();
    } catch (err) {
      return deny(503, (err as Error).message);
    }
    const [pathname, query = ''] = splitPath(req.path);
    const cookies = parseCookies(req.headers.cookie);
    if (this.step.logoutPath && pathname === this.step.logoutPath) return this.logout(cookies, p.config);
    if (pathname === this.step.callbackPath) return this.callback(req, new URLSearchParams(query), p);

    const tokens = await this.session(cookies);
    const claims = tokens && (await this.verify(tokens.idToken, p));
    if (tokens && claims) {
      req.state.jwt = tokens.idToken;
      return allow(this.headers(tokens, claims));
    }
    if (this.step.failOnRedirect) return deny(401, 'no valid OIDC session', { body: 'login required\n' });
    return this.login(req, p.config);
  }

  private async login(req: AuthRequest, config: client.Configuration): Promise<Decision> {
    const verifier = client.randomPKCECodeVerifier();
    const nonce = client.randomNonce();
    const state = this.deps.keys.seal('oidc-state', { returnTo: this.step.appUrl + req.path, nonce, verifier, exp: Math.floor(Date.now() / 1000) + LOGIN_TTL_S } satisfies LoginState);
    const url = client.buildAuthorizationUrl(config, {
      ...this.step.authEndpointQueryParams,
      redirect_uri: this.redirectUri,
      response_type: 'code',
      scope: this.step.scopes.join(' '),
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    return deny(302, 'redirect to the OIDC provider to log in', { headers: [{ key: 'location', value: url.href }, { key: 'cache-control', value: 'no-store' }] });
  }

  private async callback(req: AuthRequest, params: URLSearchParams, p: { config: client.Configuration }): Promise<Decision> {
    const error = params.get('error');
    if (error) return deny(401, `the OIDC provider answered ${error.slice(0, 100)}`, { body: `login failed: ${error.slice(0, 100)}\n` });
    const rawState = params.get('state') ?? '';
    const st = this.deps.keys.open<LoginState>('oidc-state', rawState);
    if (!st || st.exp < Date.now() / 1000) return deny(401, 'the OIDC callback has no valid state (expired, forged, or from another ext-auth key)', { body: 'login expired, try again\n' });
    let tokens: Tokens;
    try {
      const r = await client.authorizationCodeGrant(p.config, new URL(this.step.appUrl + req.path), { expectedState: rawState, expectedNonce: st.nonce, pkceCodeVerifier: st.verifier, idTokenExpected: true }, this.step.tokenEndpointQueryParams);
      tokens = { idToken: r.id_token!, ...(r.access_token ? { accessToken: r.access_token } : {}) };
    } catch (err) {
      return deny(401, `the OIDC code exchange failed: ${(err as Error).message}`, { body: 'login failed\n' });
    }
    const s = this.step.session;
    const headers: HeaderToAdd[] = [{ key: 'location', value: st.returnTo }, { key: 'cache-control', value: 'no-store' }];
    if (this.store) {
      const id = randomBytes(32).toString('base64url');
      await this.store.set(s.keyPrefix + id, tokens, s.cookie.maxAge ?? 24 * 3600);
      headers.push({ key: 'set-cookie', value: setCookie(s.cookieName, id, s.cookie), append: true });
    } else {
      headers.push({ key: 'set-cookie', value: setCookie(`${s.keyPrefix}id_token`, tokens.idToken, s.cookie), append: true });
      if (tokens.accessToken) headers.push({ key: 'set-cookie', value: setCookie(`${s.keyPrefix}access_token`, tokens.accessToken, s.cookie), append: true });
    }
    return deny(302, 'logged in: back to the page that asked for it', { headers });
  }

  private async session(cookies: Record<string, string>): Promise<Tokens | undefined> {
    const s = this.step.session;
    if (!this.store) {
      const idToken = cookies[`${s.keyPrefix}id_token`];
      const accessToken = cookies[`${s.keyPrefix}access_token`];
      return idToken ? { idToken, ...(accessToken ? { accessToken } : {}) } : undefined;
    }
    const id = cookies[s.cookieName];
    if (!id) return undefined;
    try {
      return await this.store.get(s.keyPrefix + id);
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'OIDC session store cannot be read');
      if (s.failOnFetchFailure) throw err;
      return undefined;
    }
  }

  private async verify(idToken: string, p: { jwks: ReturnType<typeof createRemoteJWKSet>; issuer: string }): Promise<JWTPayload | undefined> {
    try {
      return (await jwtVerify(idToken, p.jwks, { issuer: p.issuer, audience: this.step.clientId })).payload;
    } catch (err) {
      this.deps.log.debug({ err: (err as Error).message }, 'OIDC session id token not accepted; logging in again');
      return undefined; // expired or not ours: log in again
    }
  }

  private headers(t: Tokens, claims: JWTPayload): HeaderToAdd[] {
    const bearer = (name: string, v: string) => (this.step.useBearerSchemaForAuthorization && name.toLowerCase() === 'authorization' ? `Bearer ${v}` : v);
    const out: HeaderToAdd[] = [];
    if (this.step.idTokenHeader) out.push({ key: this.step.idTokenHeader, value: bearer(this.step.idTokenHeader, t.idToken) });
    if (this.step.accessTokenHeader && t.accessToken) out.push({ key: this.step.accessTokenHeader, value: bearer(this.step.accessTokenHeader, t.accessToken) });
    for (const c of this.step.idTokenClaimsToHeaders) {
      const v = claims[c.claim];
      if (v !== undefined) out.push({ key: c.header, value: typeof v === 'string' ? v : JSON.stringify(v), append: c.append });
    }
    return out;
  }

  private async logout(cookies: Record<string, string>, config: client.Configuration): Promise<Decision> {
    const s = this.step.session;
    const headers: HeaderToAdd[] = [{ key: 'location', value: this.step.afterLogoutUrl ?? `${this.step.appUrl}/` }, { key: 'cache-control', value: 'no-store' }];
    if (this.store) {
      const id = cookies[s.cookieName];
      if (id) await this.store.delete(s.keyPrefix + id).catch(() => undefined);
      headers.push({ key: 'set-cookie', value: setCookie(s.cookieName, '', s.cookie, true), append: true });
    } else {
      for (const n of ['id_token', 'access_token']) headers.push({ key: 'set-cookie', value: setCookie(`${s.keyPrefix}${n}`, '', s.cookie, true), append: true });
    }
    void config;
    return deny(302, 'logged out', { headers });
  }
}

function splitPath(path: string): [string, string?] {
  const i = path.indexOf('?');
  return i < 0 ? [path] : [path.slice(0, i), path.slice(i + 1)];
}
