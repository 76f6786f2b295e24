// IR -> the reference rate-limit service's configuration: one document per
// domain, with the descriptors of every RateLimitServerConfig in use.
import type { IR } from '../ir/types.js';

interface Descriptor { key: string; value?: string; rateLimit?: { unit: string; requestsPerUnit: number }; descriptors?: Descriptor[] }

const toService = (d: Descriptor): Record<string, unknown> => ({
  key: d.key,
  ...(d.value !== undefined ? { value: d.value } : {}),
  ...(d.rateLimit ? { rate_limit: { unit: d.rateLimit.unit.toLowerCase(), requests_per_unit: d.rateLimit.requestsPerUnit } } : {}),
  ...(d.descriptors ? { descriptors: d.descriptors.map(toService) } : {}),
});

/** domain -> { domain, descriptors } in the service's own (snake_case) format. */
export function rateLimitServiceConfigs(ir: IR): Map<string, { domain: string; descriptors: unknown[] }> {
  const byDomain = new Map<string, Map<string, unknown>>();
  for (const p of Object.values(ir.policies)) {
    if (!p.rateLimit) continue;
    const seen = byDomain.get(p.rateLimit.domain) ?? new Map<string, unknown>();
    for (const d of p.rateLimit.descriptors as Descriptor[]) {
      const out = toService(d);
      seen.set(JSON.stringify(out), out);
    }
    byDomain.set(p.rateLimit.domain, seen);
  }
  return new Map(
    [...byDomain.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([domain, ds]) => [domain, { domain, descriptors: [...ds.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v) }]),
  );
}
