// The key that seals OIDC login state (the original URL, nonce and PKCE
// verifier travel through the provider inside the `state` parameter, sealed
// with AES-256-GCM) and signs cookie sessions. Read from --session-secret-file
// so replicas share it; otherwise random per process (a login started on one
// process then fails on another and simply starts again).
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

export class SessionKeys {
  private readonly key: Buffer;
  constructor(secret?: string) {
    this.key = secret === undefined ? randomBytes(32) : createHash('sha256').update(`meshplane ext-auth session\0${secret}`).digest();
  }

  static fromFile(file: string | undefined): SessionKeys {
    if (!file) return new SessionKeys();
    const text = readFileSync(file, 'utf8').trim();
    if (text.length < 16) throw new Error(`${file}: the session secret must be at least 16 characters`);
    return new SessionKeys(text);
  }

  /** A per-purpose key, so one sealed value is never accepted where another is meant. */
  private keyFor(purpose: string): Buffer {
    return createHash('sha256').update(this.key).update(purpose).digest();
  }

  seal(purpose: string, value: unknown): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.keyFor(purpose), iv);
    const body = Buffer.concat([c.update(JSON.stringify(value), 'utf8'), c.final()]);
    return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url');
  }

  open<T>(purpose: string, sealed: string): T | undefined {
    try {
      const raw = Buffer.from(sealed, 'base64url');
      if (raw.length < 29) return undefined;
      const d = createDecipheriv('aes-256-gcm', this.keyFor(purpose), raw.subarray(0, 12));
      d.setAuthTag(raw.subarray(12, 28));
      return JSON.parse(Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8')) as T;
    } catch {
      return undefined;
    }
  }
}
