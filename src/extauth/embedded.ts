// `meshplane serve --ext-auth-port`: the ext-auth server inside the control
// plane, fed straight from each core result instead of through the config
// file (nothing with key material touches the disk).
import type { Logger } from 'pino';
import type { CoreResult } from '../ir/types.js';
import { extAuthFile } from './config-file.js';
import { Engine } from './engine.js';
import { startExtAuthServer } from './server.js';
import { stepFactory } from './steps.js';

export interface EmbeddedExtAuth {
  sink(core: CoreResult): void;
  stop(): Promise<void>;
}

export async function startEmbeddedExtAuth(opts: { address: string; port: number; opaBin?: string; sessionSecretFile?: string }, log: Logger): Promise<EmbeddedExtAuth & { port: number }> {
  const steps = stepFactory(opts, log);
  const engine = new Engine(steps.factory, log);
  const server = await startExtAuthServer(engine, opts.address, opts.port, log);
  log.info({ address: opts.address, port: server.port }, 'ext-auth is serving inside meshplane serve');
  let last = '';
  let loading = Promise.resolve();
  return {
    port: server.port,
    sink: (core) => {
      const file = extAuthFile(core.ir);
      const text = JSON.stringify(file);
      if (text === last) return;
      last = text;
      // One load at a time, in order; the previous config answers meanwhile.
      loading = loading.then(() => engine.load(file)).catch((err: Error) => log.error({ err: err.message }, 'ext-auth config not loaded'));
    },
    stop: async () => {
      await server.close();
      steps.close();
    },
  };
}
