/**
 * The address plan every kernel test shares. Tests should name addresses through these
 * constants and helpers rather than repeat literals.
 *
 *   client ──── node ──── pods     (this node's pods, 10.244.1.0/24, fd00:244:0:1::/64)
 *                  └───── remote   (pods on other nodes, 10.244.2.0/24, fd00:244:0:2::/64)
 *
 * - node: primary IPs 192.168.50.10 / fd00:50::10 on its link to client; 10.244.1.1 /
 *   fd00:244:0:1::1 on its link to pods; forwarding on. Its link to remote is unnumbered:
 *   it carries the primary IPs again (/32, /128), so traffic the node sends or masquerades
 *   towards remote pods leaves from the node's primary IP in both families, as on a
 *   single-IP node. (With a numbered transit subnet, MASQUERADE, which takes an address of
 *   the egress interface, would show remote pods the node's transit address instead.)
 *   Default routes go via 192.168.50.1 / fd00:50::1, which nobody owns: they exist so
 *   node-originated connections to service VIPs get a route (connect() needs one before
 *   nat OUTPUT can DNAT), and traffic no rule rewrites goes nowhere.
 * - pods: 10.244.1.2 … and fd00:244:0:1::2 … on one interface, default via the node.
 * - remote: 10.244.2.2 … and fd00:244:0:2::2 …, default via the node's primary IPs.
 * - client: 192.168.50.20–29 and fd00:50::20–29, default via the node; explicit routes for
 *   198.51.100.0/24, 203.0.113.0/24 and 2001:db8:113::/64 (externalIPs, LoadBalancer IPs)
 *   via the node, as a cloud load balancer would forward them.
 *
 * IPv6 host parts mirror the IPv4 last octet digit for digit (10.244.1.12 ↔ fd00:244:0:1::12,
 * which is hex 0x12): easy to read, and still canonical RFC 5952 text.
 */

export const NODE_IPV4 = '192.168.50.10';
export const NODE_IPV6 = 'fd00:50::10';
export const NODE_POD_GATEWAY_IPV4 = '10.244.1.1';
export const NODE_POD_GATEWAY_IPV6 = 'fd00:244:0:1::1';

export const UPSTREAM_ROUTER_IPV4 = '192.168.50.1';
export const UPSTREAM_ROUTER_IPV6 = 'fd00:50::1';

export const LOCAL_POD_CIDR_IPV4 = '10.244.1.0/24';
export const LOCAL_POD_CIDR_IPV6 = 'fd00:244:0:1::/64';
export const REMOTE_POD_CIDR_IPV4 = '10.244.2.0/24';
export const REMOTE_POD_CIDR_IPV6 = 'fd00:244:0:2::/64';
export const CLUSTER_CIDR_IPV4 = '10.244.0.0/16';
export const CLUSTER_CIDR_IPV6 = 'fd00:244::/48';

/** Destinations the client reaches through the node (externalIPs, LoadBalancer IPs). */
export const EXTERNAL_CIDRS = ['198.51.100.0/24', '203.0.113.0/24', '2001:db8:113::/64'] as const;

export const CLIENT_IP_COUNT = 10;

/** i-th address (0-based) of this node's pods: 10.244.1.2, 10.244.1.3, … */
export function podIPv4(i: number): string {
  return `10.244.1.${2 + i}`;
}
export function podIPv6(i: number): string {
  return `fd00:244:0:1::${2 + i}`;
}

/** i-th address (0-based) of the pods on other nodes: 10.244.2.2, 10.244.2.3, … */
export function remoteIPv4(i: number): string {
  return `10.244.2.${2 + i}`;
}
export function remoteIPv6(i: number): string {
  return `fd00:244:0:2::${2 + i}`;
}

/** i-th client address (0-based, < CLIENT_IP_COUNT): 192.168.50.20 … 192.168.50.29. */
export function clientIPv4(i: number): string {
  return `192.168.50.${20 + i}`;
}
export function clientIPv6(i: number): string {
  return `fd00:50::${20 + i}`;
}

/** Hosts per pod subnet the plan allows (.2 … .254). */
export const MAX_PODS_PER_SUBNET = 253;
