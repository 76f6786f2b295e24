// Which meshplane resource an Envoy resource name comes from, so a proxy's
// rejection can be reported on the status of what produced it.
import type { ResourceType } from '../xds/protos.js';

const KIND_OF_TAG: Record<string, string> = { svc: 'Service', vd: 'VirtualDestination', ext: 'ExternalService' };

export function ownerOfEnvoyResource(type: ResourceType, name: string): string | undefined {
  if (type === 'cluster' || type === 'endpoint') {
    const m = /^(svc|vd|ext)\/([^/]+)\/([^:]+):/.exec(name);
    return m ? `${KIND_OF_TAG[m[1]]}/${m[2]}/${m[3]}` : undefined;
  }
  if (type === 'listener' || type === 'route') {
    const m = /^([^/]+)\/([^:]+):\d+(#\d+)?$/.exec(name);
    return m ? `VirtualGateway/${m[1]}/${m[2]}` : undefined;
  }
  if (type === 'secret') {
    const m = /^(?:tls|ca)\/([^/]+)\/(.+)$/.exec(name);
    return m ? `Secret/${m[1]}/${m[2]}` : undefined;
  }
  return undefined;
}
