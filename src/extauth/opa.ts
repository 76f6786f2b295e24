// Gloo's opaAuth, evaluated by Open Policy Agent itself: tools/opa (OPA's Go
// library) runs as a child process and answers prepare/eval lines on
// stdin/stdout. One prepared query per policy step, so modules of different
// policies never mix. Input as Gloo gives it: input.check_request (the
// CheckRequest in protobuf JSON), input.http_request (its attributes.request.http)
// and input.state (what earlier steps learnt, e.g. state.jwt after an OIDC login).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import type { OpaStepIR } from '../ir/ext-auth.js';
import type { Revealed } from './config-file.js';
import { allow, deny, type AuthRequest, type Decision } from './decision.js';
import type { CompiledStep } from './engine.js';

interface Reply {
  id: number;
  ok?: boolean;
  allowed?: boolean;
  error?: string;
}

export class OpaEvaluator {
  private child?: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, (r: Reply) => void>();
  /** What is prepared, so a restarted evaluator gets it again. */
  private readonly prepared = new Map<string, { modules: Record<string, string>; query: string }>();

  constructor(private readonly bin: string, private readonly log: Logger) {}

  private start(): ChildProcess {
    if (this.child && this.child.exitCode === null && !this.child.killed) return this.child;
    const child = spawn(this.bin, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let r: Reply;
      try {
        r = JSON.parse(line) as Reply;
      } catch {
        return this.log.error('the Rego evaluator wrote a line that is not JSON');
      }
      const done = this.pending.get(r.id);
      this.pending.delete(r.id);
      done?.(r);
    });
    createInterface({ input: child.stderr! }).on('line', (line) => this.log.warn({ line: line.slice(0, 500) }, 'Rego evaluator'));
    child.on('error', (err) => this.log.error({ bin: this.bin, err: err.message }, 'cannot run the Rego evaluator (build it with scripts/build-opa.sh and pass --opa-bin)'));
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      for (const [id, done] of this.pending) done({ id, error: `the Rego evaluator exited (${signal ?? code})` });
      this.pending.clear();
      if (code !== 0 && code !== null) this.log.error({ code }, 'the Rego evaluator exited; it is restarted on the next check');
    });
    // Re-prepare everything a previous process had.
    for (const [key, p] of this.prepared) void this.send({ op: 'prepare', key, ...p });
    return child;
  }

  private send(msg: Record<string, unknown>): Promise<Reply> {
    const child = this.start();
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      child.stdin!.write(JSON.stringify({ id, ...msg }) + '\n', (err) => {
        if (err && this.pending.delete(id)) resolve({ id, error: `cannot write to the Rego evaluator: ${err.message}` });
      });
    });
  }

  async prepare(key: string, modules: Record<string, string>, query: string): Promise<void> {
    const r = await this.send({ op: 'prepare', key, modules, query });
    if (r.error) throw new Error(r.error);
    this.prepared.set(key, { modules, query });
  }

  async eval(key: string, input: unknown): Promise<boolean> {
    const r = await this.send({ op: 'eval', key, input });
    if (r.error) throw new Error(r.error);
    return r.allowed === true;
  }

  async drop(key: string): Promise<void> {
    this.prepared.delete(key);
    if (this.child) await this.send({ op: 'drop', key });
  }

  /** Drops every prepared query not in `keys` (after a reload). */
  async retainOnly(keys: Set<string>): Promise<void> {
    for (const key of [...this.prepared.keys()]) if (!keys.has(key)) await this.drop(key);
  }

  close(): void {
    this.child?.stdin?.end();
    this.child = undefined;
  }
}

export async function opaStep(opa: OpaEvaluator, policy: string, index: number, step: Revealed<OpaStepIR>, used?: Set<string>): Promise<CompiledStep> {
  const modules = Object.fromEntries(step.modules.map((m) => [m.name, m.rego]));
  // Content-addressed: an unchanged step keeps its prepared query across reloads.
  const key = `${policy}#${index}#${createHash('sha256').update(JSON.stringify([modules, step.query])).digest('hex').slice(0, 16)}`;
  used?.add(key);
  await opa.prepare(key, modules, step.query);
  return {
    async check(req: AuthRequest): Promise<Decision> {
      // Headers as earlier steps left them (an API key's metadata headers, say).
      const http = { ...((req.checkRequest as any)?.attributes?.request?.http ?? {}), headers: req.headers };
      const allowed = await opa.eval(key, { check_request: req.checkRequest, http_request: http, state: req.state });
      return allowed ? allow() : deny(403, `the OPA query ${step.query} did not allow the request`);
    },
  };
}
