import type { ResourceType } from '../xds/protos.js';

/** One Envoy resource as a protobufjs-ready object (camelCase, Any as {"@type": ...}). */
export interface NamedResource {
  name: string;
  body: Record<string, unknown>;
}

export type EnvoyResources = Record<ResourceType, NamedResource[]>;

export interface TranslateOptions {
  /** Address gateway listeners bind to. */
  listenerAddress: string;
}

export const ANY = (typeName: string, body: Record<string, unknown> = {}): Record<string, unknown> => ({
  '@type': `type.googleapis.com/${typeName}`,
  ...body,
});

export const ADS_CONFIG_SOURCE = { ads: {}, resourceApiVersion: 'V3' } as const;

/** "1.5s" / "250ms" / "2m" -> google.protobuf.Duration fields. */
export function duration(text: string): { seconds: number; nanos: number } {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  const mult = { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  const total = Number(m[1]) * mult;
  const seconds = Math.floor(total);
  return { seconds, nanos: Math.round((total - seconds) * 1e9) };
}
