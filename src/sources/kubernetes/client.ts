// Connection to one Kubernetes API server (one kubeconfig context). Auth and
// TLS come from @kubernetes/client-node's KubeConfig; plain JSON requests go
// through node:http(s) so objects stay exactly as the API server sent them
// (the generated typed clients turn timestamps into Date objects).
import { KubeConfig } from '@kubernetes/client-node';
import { Agent as HttpAgent, request as httpRequest, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; generation?: number; [k: string]: unknown };
  [k: string]: unknown;
}

export interface KubeList {
  items: KubeObject[];
  metadata: { resourceVersion?: string; continue?: string };
}

export class KubeApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly statusCode: number,
    readonly body: unknown,
  ) {
    const reason = typeof body === 'object' && body && 'message' in body ? String((body as { message: unknown }).message) : String(body).slice(0, 200);
    super(`${method} ${path}: HTTP ${statusCode}: ${reason}`);
  }
}

/** How to reach a cluster: a kubeconfig file (and a context in it), or the pod's service account. */
export interface ConnectionSpec {
  kubeconfig?: string;
  context?: string;
  inCluster?: boolean;
}

/** A --kube-context of this name means the pod's own service account. */
export const IN_CLUSTER_CONTEXT = 'in-cluster';

export function loadKubeConfig(spec: ConnectionSpec): KubeConfig {
  const kc = new KubeConfig();
  if (spec.inCluster || spec.context === IN_CLUSTER_CONTEXT) {
    if (!process.env.KUBERNETES_SERVICE_HOST) throw new Error('in-cluster config needs KUBERNETES_SERVICE_HOST and a service account token: run meshplane in a pod, or pass --kubeconfig');
    kc.loadFromCluster();
    return kc;
  }
  if (spec.kubeconfig) kc.loadFromFile(spec.kubeconfig);
  else kc.loadFromDefault();
  if (spec.context) {
    if (!kc.getContextObject(spec.context)) {
      throw new Error(`kubeconfig ${spec.kubeconfig ?? '(default)'} has no context "${spec.context}"; it has: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'}`);
    }
    kc.setCurrentContext(spec.context);
  }
  if (!kc.getCurrentCluster()) throw new Error(`kubeconfig ${spec.kubeconfig ?? '(default)'}: the current context names no cluster`);
  return kc;
}

/** JSON over HTTP(S) to one API server, with the kubeconfig's credentials. */
export class KubeHttp {
  readonly server: string;
  private agent?: HttpAgent;

  constructor(readonly kc: KubeConfig) {
    this.server = kc.getCurrentCluster()!.server.replace(/\/+$/, '');
  }

  async request<T = unknown>(method: string, path: string, body?: unknown, contentType = 'application/json', timeoutMs = 30_000): Promise<T> {
    const url = new URL(this.server + path);
    const opts: RequestOptions & Record<string, unknown> = { method, headers: { accept: 'application/json' } };
    await this.kc.applyToHTTPSOptions(opts as never);
    const https = url.protocol === 'https:';
    this.agent ??= https
      ? new HttpsAgent({ keepAlive: true, ca: opts.ca as string, cert: opts.cert as string, key: opts.key as string, rejectUnauthorized: opts.rejectUnauthorized as boolean | undefined })
      : new HttpAgent({ keepAlive: true });
    const data = body === undefined ? undefined : JSON.stringify(body);
    const headers = { ...(opts.headers as Record<string, string>), ...(data ? { 'content-type': contentType, 'content-length': String(Buffer.byteLength(data)) } : {}) };
    return new Promise<T>((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)(url, { method, headers, agent: this.agent, timeout: timeoutMs, ...(opts.auth ? { auth: opts.auth as string } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            /* keep the text */
          }
          if ((res.statusCode ?? 0) >= 300) reject(new KubeApiError(method, path, res.statusCode ?? 0, parsed));
          else resolve(parsed as T);
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${this.server}${path} timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      if (data) req.write(data);
      req.end();
    });
  }

  /** Lists a collection in pages; items get their apiVersion and kind (lists leave them out). */
  async list(path: string, apiVersion: string, kind: string, pageSize = 500): Promise<KubeList> {
    const items: KubeObject[] = [];
    let cont: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const q = new URLSearchParams({ limit: String(pageSize), ...(cont ? { continue: cont } : {}) });
      const page = await this.request<KubeList>('GET', `${path}?${q}`);
      for (const item of page.items ?? []) items.push({ ...item, apiVersion, kind });
      cont = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion;
    } while (cont);
    return { items, metadata: { resourceVersion } };
  }

  close(): void {
    this.agent?.destroy();
  }
}
