/** The fixed part of the ruleset: jumps from the built-in chains and the masquerade/forward rules. */
import { comment, hexMark, jump } from './matches.js';
import {
  KUBE_EXTERNAL_SERVICES,
  KUBE_FORWARD,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
  type IptablesJump,
  type IptablesTable,
} from './ruleset.js';

const NEW_CONNECTIONS = ['-m', 'conntrack', '--ctstate', 'NEW'];

function jumpRule(table: IptablesTable, chain: string, onlyNew: boolean, text: string, target: string): IptablesJump {
  return { table, chain, args: [...(onlyNew ? NEW_CONNECTIONS : []), ...comment(text), ...jump(target)] };
}

/** kube-proxy's jump rules, in its order, so operators find the same entry points. */
export function builtinJumps(): IptablesJump[] {
  const firewall = 'kubernetes load balancer firewall';
  const portals = 'kubernetes service portals';
  const external = 'kubernetes externally-visible service portals';
  return [
    jumpRule('filter', 'INPUT', true, firewall, KUBE_PROXY_FIREWALL),
    jumpRule('filter', 'INPUT', false, 'kubernetes health check service ports', KUBE_NODEPORTS),
    jumpRule('filter', 'INPUT', true, external, KUBE_EXTERNAL_SERVICES),
    jumpRule('filter', 'FORWARD', true, firewall, KUBE_PROXY_FIREWALL),
    jumpRule('filter', 'FORWARD', false, 'kubernetes forwarding rules', KUBE_FORWARD),
    jumpRule('filter', 'FORWARD', true, portals, KUBE_SERVICES),
    jumpRule('filter', 'FORWARD', true, external, KUBE_EXTERNAL_SERVICES),
    jumpRule('filter', 'OUTPUT', true, firewall, KUBE_PROXY_FIREWALL),
    jumpRule('filter', 'OUTPUT', true, portals, KUBE_SERVICES),
    jumpRule('nat', 'PREROUTING', false, portals, KUBE_SERVICES),
    jumpRule('nat', 'OUTPUT', false, portals, KUBE_SERVICES),
    jumpRule('nat', 'POSTROUTING', false, 'kubernetes postrouting rules', KUBE_POSTROUTING),
  ];
}

/**
 * Packets marked by KUBE-MARK-MASQ are masqueraded on the way out; the mark is cleared
 * first so that a packet re-entering the stack (e.g. through a tunnel) is not SNATed twice.
 */
export function postroutingRules(mark: number): string[][] {
  const hex = hexMark(mark);
  return [
    ['-m', 'mark', '!', '--mark', `${hex}/${hex}`, ...jump('RETURN')],
    [...jump('MARK'), '--xor-mark', hex],
    [...comment('kubernetes service traffic requiring SNAT'), ...jump('MASQUERADE'), '--random-fully'],
  ];
}

export function markMasqRules(mark: number): string[][] {
  return [[...jump('MARK'), '--or-mark', hexMark(mark)]];
}

/**
 * For hosts whose FORWARD policy is DROP: accept service traffic and its replies.
 * INVALID packets are dropped first, as kube-proxy does unless
 * `nf_conntrack_tcp_be_liberal` is set: an out-of-window TCP segment would otherwise reach
 * the pod un-DNATed, and the pod's RST would tear down the client's connection.
 */
export function forwardRules(mark: number): string[][] {
  const hex = hexMark(mark);
  return [
    ['-m', 'conntrack', '--ctstate', 'INVALID', ...jump('DROP')],
    [...comment('kubernetes forwarding rules'), '-m', 'mark', '--mark', `${hex}/${hex}`, ...jump('ACCEPT')],
    [
      ...comment('kubernetes forwarding conntrack rule'),
      '-m',
      'conntrack',
      '--ctstate',
      'RELATED,ESTABLISHED',
      ...jump('ACCEPT'),
    ],
  ];
}
