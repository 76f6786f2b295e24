// The configs the ext-auth server serves, compiled once per file version:
// each policy's steps become evaluators. A step that cannot be compiled
// (a Rego module that does not parse, a provider that cannot be discovered)
// makes its policy answer 503 and is logged; other policies keep working.
import type { Logger } from 'pino';
import { ApiKeyStep } from './api-key.js';
import type { ExtAuthConfig, ExtAuthFile } from './config-file.js';
import { allow, deny, type AuthRequest, type Decision, type HeaderToAdd } from './decision.js';

export interface CompiledStep {
  check(req: AuthRequest): Decision | Promise<Decision>;
}

/** Builds the evaluators of the kinds that need a helper (OPA process, OIDC provider, another server). */
export interface StepFactory {
  opa?(policy: string, index: number, step: Extract<ExtAuthConfig['steps'][number], { kind: 'opa' }>): Promise<CompiledStep>;
  oidc?(policy: string, index: number, step: Extract<ExtAuthConfig['steps'][number], { kind: 'oidc' }> & { failOnRedirect: boolean }): Promise<CompiledStep>;
  passThroughGrpc?(policy: string, index: number, step: Extract<ExtAuthConfig['steps'][number], { kind: 'passThroughGrpc' }>): Promise<CompiledStep>;
  /** Called after a file version is compiled: release what it no longer uses. */
  loaded?(): Promise<void>;
}

interface CompiledPolicy {
  steps: CompiledStep[];
  /** Why this policy answers 503, when it does. */
  unavailable?: string;
}

export class Engine {
  private policies = new Map<string, CompiledPolicy>();
  private loaded = false;

  constructor(private readonly factory: StepFactory, private readonly log: Logger) {}

  get ready(): boolean {
    return this.loaded;
  }

  /** Compiles a new file version; until it is done, the previous one keeps answering. */
  async load(file: ExtAuthFile): Promise<void> {
    const next = new Map<string, CompiledPolicy>();
    for (const [key, cfg] of Object.entries(file.configs)) next.set(key, await this.compile(key, cfg));
    this.policies = next;
    this.loaded = true;
    await this.factory.loaded?.();
    this.log.info({ policies: next.size, unavailable: [...next.values()].filter((p) => p.unavailable).length }, 'ext-auth config loaded');
  }

  private async compile(key: string, cfg: ExtAuthConfig): Promise<CompiledPolicy> {
    if (cfg.waitingFor.length) return { steps: [], unavailable: `waits for ${cfg.waitingFor.join(', ')}` };
    const steps: CompiledStep[] = [];
    for (const [i, step] of cfg.steps.entries()) {
      try {
        if (step.kind === 'apiKey') steps.push(new ApiKeyStep(step));
        else {
          const make = this.factory[step.kind] as ((p: string, i: number, s: unknown) => Promise<CompiledStep>) | undefined;
          if (!make) throw new Error(`this ext-auth server was started without support for ${step.kind} steps`);
          steps.push(await make(key, i, step.kind === 'oidc' ? { ...step, failOnRedirect: cfg.failOnRedirect } : step));
        }
      } catch (err) {
        const why = `configs[${i}] (${step.kind}): ${(err as Error).message}`;
        this.log.error({ policy: key, step: i, err: (err as Error).message }, 'ext-auth step cannot be used; its routes answer 503');
        return { steps: [], unavailable: why };
      }
    }
    return { steps };
  }

  async check(policyKey: string | undefined, req: AuthRequest): Promise<Decision> {
    if (!policyKey) return deny(403, 'the route sends no meshplane.ext_auth_config context extension: its ExtAuthPolicy has no glooAuth');
    if (!this.loaded) return deny(503, 'no ext-auth config loaded yet');
    const policy = this.policies.get(policyKey);
    if (!policy) return deny(503, `no glooAuth config for ${policyKey} in the ext-auth config file (meshplane has not written it yet?)`);
    if (policy.unavailable) return deny(503, `${policyKey}: ${policy.unavailable}`);
    const headers: HeaderToAdd[] = [];
    const remove: string[] = [];
    for (const step of policy.steps) {
      const d = await step.check(req);
      if (!d.allow) return d;
      headers.push(...d.headers);
      remove.push(...(d.removeHeaders ?? []));
      // A later step sees what an earlier one added (Gloo passes headers along the chain).
      for (const h of d.headers) req.headers[h.key.toLowerCase()] = h.append && req.headers[h.key.toLowerCase()] ? `${req.headers[h.key.toLowerCase()]},${h.value}` : h.value;
    }
    return allow(headers, remove);
  }
}
