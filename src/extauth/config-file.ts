// The file `meshplane serve --ext-auth-config-file` writes and `meshplane
// ext-auth` reads: every ExtAuthPolicy glooAuth config by policy key, with its
// key material in clear (the server needs it), so the file is written 0600
// and its contents are never logged. Written atomically, only when it changes.
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import type { Logger } from 'pino';
import type { GlooAuthIR } from '../ir/ext-auth.js';
import { SecretMaterial, type IR } from '../ir/types.js';

/** The IR with SecretMaterial turned into its text. */
export type Revealed<T> = T extends SecretMaterial ? string : T extends Array<infer E> ? Array<Revealed<E>> : T extends object ? { [K in keyof T]: Revealed<T[K]> } : T;

export type ExtAuthConfig = Revealed<GlooAuthIR>;

export interface ExtAuthFile {
  /** Bumped on incompatible changes; the server refuses a file it does not know. */
  format: 1;
  /** By policy key (ExtAuthPolicy/ns/name[@cluster]): what Envoy sends as context extension meshplane.ext_auth_config. */
  configs: Record<string, ExtAuthConfig>;
}

export const EXT_AUTH_FILE_FORMAT = 1;

function reveal(v: unknown): unknown {
  if (v instanceof SecretMaterial) return v.pem;
  if (Array.isArray(v)) return v.map(reveal);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reveal(x)]));
  return v;
}

export function extAuthFile(ir: IR): ExtAuthFile {
  const configs: Record<string, ExtAuthConfig> = {};
  for (const key of Object.keys(ir.policies).sort()) {
    const g = ir.policies[key]!.extAuth?.glooAuth;
    if (g) configs[key] = reveal(g) as ExtAuthConfig;
  }
  return { format: EXT_AUTH_FILE_FORMAT, configs };
}

export function writeExtAuthConfig(file: string, ir: IR, log: Logger): void {
  const text = JSON.stringify(extAuthFile(ir), null, 1) + '\n';
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return;
  const tmp = join(dirname(file), `.${basename(file)}.tmp`);
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  log.info({ file, configs: Object.keys(JSON.parse(text).configs).length }, 'ext-auth config written');
}

/** Parses the file; the error says what is wrong without quoting its contents. */
export function parseExtAuthFile(text: string, file: string): ExtAuthFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not JSON: is it the file meshplane serve --ext-auth-config-file writes?`);
  }
  const f = doc as Partial<ExtAuthFile>;
  if (!f || typeof f !== 'object' || typeof f.configs !== 'object' || f.configs === null) throw new Error(`${file}: no "configs" object: is it the file meshplane serve --ext-auth-config-file writes?`);
  if (f.format !== EXT_AUTH_FILE_FORMAT) throw new Error(`${file}: format ${String(f.format)}, this ext-auth server reads format ${EXT_AUTH_FILE_FORMAT}: run the same meshplane version for serve and ext-auth`);
  return f as ExtAuthFile;
}
