// Gloo's apiKeyAuth: the key in a request header must be one of the keys in
// the selected Secrets; the Secret's other entries become request headers
// (headersFromMetadataEntry). Keys are looked up by their SHA-256, so the
// comparison time says nothing about how close a wrong key was.
import { createHash } from 'node:crypto';
import type { ApiKeyStepIR } from '../ir/ext-auth.js';
import type { Revealed } from './config-file.js';
import { allow, deny, type AuthRequest, type Decision } from './decision.js';

type Step = Revealed<ApiKeyStepIR>;
type Key = Step['keys'][number];

const digest = (s: string) => createHash('sha256').update(s).digest('base64');

export class ApiKeyStep {
  private readonly byDigest = new Map<string, Key>();
  constructor(private readonly step: Step) {
    for (const k of step.keys) this.byDigest.set(digest(k.key), k);
  }

  check(req: AuthRequest): Decision {
    const presented = req.headers[this.step.headerName];
    if (presented === undefined || presented === '') return deny(401, `no API key in header ${this.step.headerName}`, { body: 'API key missing\n' });
    const key = this.byDigest.get(digest(presented.trim()));
    if (!key) return deny(401, `the API key in header ${this.step.headerName} is not a known key`, { body: 'API key invalid\n' });
    const headers = [];
    for (const h of this.step.headersFromMetadata) {
      const v = key.metadata[h.entry];
      if (v === undefined) {
        if (h.required) return deny(401, `${key.source} has no metadata entry "${h.entry}" (required for header ${h.header})`, { body: 'API key invalid\n' });
        continue;
      }
      headers.push({ key: h.header, value: v });
    }
    return allow(headers);
  }
}
