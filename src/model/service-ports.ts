/**
 * `spec.ports` of a Service, with the API server's rules: protocol TCP, UDP or SCTP (TCP by
 * default), port 1-65535, nodePort 0-65535, names DNS-1123 labels that are unique and may be
 * empty only for a lone port, and no two ports alike in (port, protocol) or (nodePort, protocol).
 * The last two matter beyond tidiness: a duplicate key in an nft map makes the kernel
 * refuse the whole batch.
 */
import { type Findings, field, isAbsent, readEnum, readInt, readList, readRecord } from './fields.js';
import { checkDNS1123Label, readName } from './k8s-names.js';
import type { Protocol, ServicePortSpec } from './types.js';

export const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

function readPortName(f: Findings, path: string, value: unknown): string | null {
  if (value === undefined || value === null || value === '') return '';
  return readName(f, path, value, checkDNS1123Label);
}

export function readServicePorts(f: Findings, value: unknown): ServicePortSpec[] {
  const items = readList(f, 'spec.ports', value);
  const ports: ServicePortSpec[] = [];
  const seen = { names: new Map<string, number>(), ports: new Map<string, number>(), nodePorts: new Map<string, number>() };
  const firstSeen = (map: Map<string, number>, key: string, i: number): number | undefined => {
    const before = map.get(key);
    if (before === undefined) map.set(key, i);
    return before;
  };

  items.forEach((item, i) => {
    const path = `spec.ports[${i}]`;
    const raw = readRecord(f, path, item);
    const name = readPortName(f, `${path}.name`, field(raw, 'name'));
    const protocol = readEnum(f, `${path}.protocol`, field(raw, 'protocol'), PROTOCOLS, 'TCP');
    const rawPort = field(raw, 'port');
    if (isAbsent(rawPort)) f.add(`${path}.port`, 'missing');
    const port = readInt(f, `${path}.port`, rawPort, 1, 65535, 0);
    const nodePort = readInt(f, `${path}.nodePort`, field(raw, 'nodePort'), 0, 65535, 0);
    if (name === null) return;

    if (name === '' && items.length > 1) f.add(`${path}.name`, 'must be set when the service has more than one port');
    const sameName = name === '' ? undefined : firstSeen(seen.names, name, i);
    if (sameName !== undefined) f.add(`${path}.name`, `duplicate of spec.ports[${sameName}].name "${name}"`);
    const samePort = port === 0 ? undefined : firstSeen(seen.ports, `${port}/${protocol}`, i);
    if (samePort !== undefined) f.add(`${path}.port`, `${port}/${protocol} duplicates spec.ports[${samePort}]`);
    const sameNodePort = nodePort === 0 ? undefined : firstSeen(seen.nodePorts, `${nodePort}/${protocol}`, i);
    if (sameNodePort !== undefined) {
      f.add(`${path}.nodePort`, `${nodePort}/${protocol} duplicates spec.ports[${sameNodePort}]`);
    }
    ports.push({ name, protocol, port, nodePort });
  });
  return ports;
}
