/**
 * A service port's rules in the shared chains: the nat dispatch into its own chains, and
 * the filter verdicts (REJECT/DROP when there are no endpoints, the firewall's DROP, the
 * health check port's ACCEPT).
 */
import { comment, jump, noEndpointsComment, protocol } from './matches.js';
import {
  KUBE_EXTERNAL_SERVICES,
  KUBE_NODEPORTS,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
  type IptablesTable,
} from './ruleset.js';
import type { LoweringContext, ServicePortPlan } from './service-plan.js';

export interface SharedRule {
  table: IptablesTable;
  chain: string;
  args: string[];
}

export function dispatchRules(plan: ServicePortPlan, ctx: LoweringContext): SharedRule[] {
  const { sp } = plan;
  const rules: SharedRule[] = [];
  const nat = (chain: string, args: string[]) => rules.push({ table: 'nat', chain, args });
  const filter = (chain: string, args: string[]) => rules.push({ table: 'filter', chain, args });
  const proto = protocol(sp.protocol);
  const toAddress = (ip: string) => [...proto, '-d', ip, '--dport', String(sp.port)];

  if (plan.internalChain !== null) {
    nat(KUBE_SERVICES, [...comment(`${sp.name} cluster IP`), ...toAddress(sp.clusterIP), ...jump(plan.internalChain)]);
  } else if (plan.internalVerdict !== null) {
    const verdict = plan.internalVerdict;
    filter(KUBE_SERVICES, [...comment(noEndpointsComment(sp.name, verdict)), ...toAddress(sp.clusterIP), ...jump(verdict)]);
  }

  if (sp.external !== null) {
    const externalVerdict = plan.externalVerdict;
    const refuse = (destination: string[]) => {
      if (externalVerdict === null) return;
      filter(KUBE_EXTERNAL_SERVICES, [...comment(noEndpointsComment(sp.name, externalVerdict)), ...destination, ...jump(externalVerdict)]);
    };
    for (const ip of sp.externalIPs) {
      if (plan.externalChain !== null) {
        nat(KUBE_SERVICES, [...comment(`${sp.name} external IP`), ...toAddress(ip), ...jump(plan.externalChain)]);
      }
      refuse(toAddress(ip));
    }
    for (const ip of sp.loadBalancerIPs) {
      const target = plan.firewallChain ?? plan.externalChain;
      if (target !== null) {
        nat(KUBE_SERVICES, [...comment(`${sp.name} loadbalancer IP`), ...toAddress(ip), ...jump(target)]);
      }
      if (plan.firewallChain !== null) {
        filter(KUBE_PROXY_FIREWALL, [
          ...comment(`${sp.name} traffic not accepted by ${plan.firewallChain}`),
          ...toAddress(ip),
          ...jump('DROP'),
        ]);
      }
      refuse(toAddress(ip));
    }
    if (sp.nodePort !== 0) {
      const toNodePort = [...proto, '--dport', String(sp.nodePort)];
      if (plan.externalChain !== null) {
        nat(KUBE_NODEPORTS, [...comment(sp.name), ...toNodePort, ...jump(plan.externalChain)]);
      }
      for (const destination of ctx.nodePortDestinations) refuse([...destination, ...toNodePort]);
    }
  }

  if (sp.healthCheckNodePort !== 0) {
    filter(KUBE_NODEPORTS, [
      ...comment(`${sp.name} health check node port`),
      ...proto,
      '--dport',
      String(sp.healthCheckNodePort),
      ...jump('ACCEPT'),
    ]);
  }
  return rules;
}
