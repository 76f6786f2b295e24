// Cookie header parsing and Set-Cookie values for the OIDC session.
import type { OidcStepIR } from '../ir/ext-auth.js';

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const name = part.slice(0, i).trim();
    // The first occurrence wins, as browsers send the most specific path first.
    if (!(name in out)) out[name] = part.slice(i + 1).trim();
  }
  return out;
}

type CookieOpts = OidcStepIR['session']['cookie'];

export function setCookie(name: string, value: string, o: CookieOpts, clear = false): string {
  const parts = [`${name}=${clear ? '' : value}`, `Path=${o.path}`];
  if (o.domain) parts.push(`Domain=${o.domain}`);
  if (clear) parts.push('Max-Age=0', 'Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  else if (o.maxAge !== undefined) parts.push(`Max-Age=${o.maxAge}`);
  if (o.httpOnly) parts.push('HttpOnly');
  if (o.secure) parts.push('Secure');
  if (o.sameSite) parts.push(`SameSite=${o.sameSite}`);
  return parts.join('; ');
}
