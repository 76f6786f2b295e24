// Small Envoy value builders shared by the policy translators.
import type { StringMatch } from '../resources/policy-configs.js';

/** A percentage as envoy.type.v3.FractionalPercent. */
export function fractionalPercent(pct: number): { numerator: number; denominator: string } {
  return Number.isInteger(pct) ? { numerator: pct, denominator: 'HUNDRED' } : { numerator: Math.round(pct * 10_000), denominator: 'MILLION' };
}

export function stringMatcher(m: StringMatch): Record<string, unknown> {
  const base = m.ignoreCase ? { ignoreCase: true } : {};
  if (m.exact !== undefined) return { exact: m.exact, ...base };
  if (m.prefix !== undefined) return { prefix: m.prefix, ...base };
  if (m.suffix !== undefined) return { suffix: m.suffix, ...base };
  return { safeRegex: { regex: m.regex! } };
}

/** A plain JSON value as google.protobuf.Value (protobufjs has no JSON wrapper for Struct). */
export function protoValue(v: unknown): Record<string, unknown> {
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(protoValue) } };
  return { structValue: protoStruct(v as Record<string, unknown>) };
}

export function protoStruct(o: Record<string, unknown>): Record<string, unknown> {
  return { fields: Object.fromEntries(Object.entries(o).map(([k, v]) => [k, protoValue(v)])) };
}
