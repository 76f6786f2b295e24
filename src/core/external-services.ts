// Seed 05: an ExternalService that repeats an address already used in its own
// workspace, or in a workspace it shares external services with, is not translated.
import type { ExternalServiceR } from '../resources/schema.js';
import { nsName, resourceKey } from '../resources/schema.js';
import { byAge } from './match.js';
import type { StatusBook } from './status.js';
import type { WorkspaceIndex } from './workspaces.js';

export function checkExternalServiceOverlap(all: ExternalServiceR[], ws: WorkspaceIndex, status: StatusBook): ExternalServiceR[] {
  const accepted: Array<{ es: ExternalServiceR; workspace: string; addresses: Set<string> }> = [];
  for (const es of [...all].sort(byAge)) {
    const workspace = ws.ownerOf(es)!;
    const addresses = new Set([...es.spec.hosts, ...es.spec.addresses].map((a) => a.toLowerCase()));
    const clash = accepted.find(
      (o) =>
        [...addresses].some((a) => o.addresses.has(a)) &&
        (o.workspace === workspace ||
          ws.isVisible('EXTERNAL_SERVICE', o.es, o.workspace, workspace) ||
          ws.isVisible('EXTERNAL_SERVICE', es, workspace, o.workspace)),
    );
    if (clash) {
      const shared = [...addresses].filter((a) => clash.addresses.has(a));
      status.invalid(
        resourceKey(es),
        `address ${shared.join(', ')} is already used by ExternalService ${nsName(clash.es)} (older) in workspace "${clash.workspace}"${clash.workspace === workspace ? '' : ', which shares external services with this one'}; this ExternalService is not translated`,
      );
      continue;
    }
    accepted.push({ es, workspace, addresses });
  }
  return accepted.map((a) => a.es);
}
