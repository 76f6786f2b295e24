// Writes the rate-limit service's config files (one per domain) into the
// directory the service watches. Only changed files are rewritten, atomically;
// files of domains no longer in use are removed.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { stringify } from 'yaml';
import type { IR } from '../ir/types.js';
import { rateLimitServiceConfigs } from '../translate/ratelimit-config.js';

const PREFIX = 'meshplane-';

export function writeRateLimitConfigs(dir: string, ir: IR, log: Logger): void {
  mkdirSync(dir, { recursive: true });
  const wanted = new Map<string, string>();
  for (const [domain, cfg] of rateLimitServiceConfigs(ir)) {
    wanted.set(`${PREFIX}${domain.replace(/[^a-zA-Z0-9_.-]/g, '_')}.yaml`, `# written by meshplane; edits are overwritten\n${stringify(cfg)}`);
  }
  for (const [file, text] of wanted) {
    const path = join(dir, file);
    if (existsSync(path) && readFileSync(path, 'utf8') === text) continue;
    // A dotfile while writing: the service ignores dotfiles, so it never reads half a file.
    const tmp = join(dir, `.${file}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, path);
    log.info({ file: path }, 'rate-limit service config written');
  }
  for (const file of readdirSync(dir)) {
    if (file.startsWith(PREFIX) && file.endsWith('.yaml') && !wanted.has(file)) {
      unlinkSync(join(dir, file));
      log.info({ file: join(dir, file) }, 'rate-limit service config removed');
    }
  }
}
