import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { DAEMON_NODE_FLAGS } from '../../bench/harness/run.js';
import { resolveRunConfig } from '../../src/config/run-config.js';

/* The manifests in deploy/ are data; this checks they parse and say what README.md promises. */

type Obj = Record<string, any>;

const text = readFileSync(new URL('../../deploy/kpx.yaml', import.meta.url), 'utf8');
const docs = parseAllDocuments(text);
const objects: Obj[] = (Array.isArray(docs) ? docs : []).map((d) => {
  expect(d.errors).toEqual([]);
  return d.toJS() as Obj;
});
const byKind = (kind: string): Obj => {
  const found = objects.filter((o) => o.kind === kind);
  expect(found).toHaveLength(1);
  return found[0]!;
};

describe('deploy/kpx.yaml', () => {
  it('holds one of each object kpx needs', () => {
    expect(objects.map((o) => o.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'DaemonSet', 'ServiceAccount']);
    for (const o of objects) expect(o.metadata?.name).toBeTruthy();
  });

  it('grants read access to what kpx watches and nothing it does not need', () => {
    const rules: Obj[] = byKind('ClusterRole').rules;
    const grant = (group: string, resource: string): string[] =>
      rules.filter((r) => r.apiGroups.includes(group) && r.resources.includes(resource)).flatMap((r) => r.verbs).sort();
    expect(grant('', 'services')).toEqual(['list', 'watch']);
    expect(grant('discovery.k8s.io', 'endpointslices')).toEqual(['list', 'watch']);
    expect(grant('', 'nodes')).toEqual(['get', 'list', 'watch']);
    expect(grant('events.k8s.io', 'events')).toEqual(['create', 'patch']);
    expect(grant('', 'events')).toEqual(['create', 'patch']);
    for (const r of rules) {
      expect(r.verbs).not.toContain('*');
      expect(r.resources).not.toContain('*');
      expect(r.apiGroups).not.toContain('*');
      if (!r.resources.includes('events')) expect(r.verbs.every((v: string) => ['get', 'list', 'watch'].includes(v))).toBe(true);
    }
  });

  it('binds the role to the service account the DaemonSet uses', () => {
    const binding = byKind('ClusterRoleBinding');
    const sa = byKind('ServiceAccount');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: byKind('ClusterRole').metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }]);
    expect(byKind('DaemonSet').spec.template.spec.serviceAccountName).toBe(sa.metadata.name);
  });

  it('runs on every node in the host network with only the capabilities it needs', () => {
    const ds = byKind('DaemonSet');
    expect(ds.metadata.namespace).toBe('kube-system');
    expect(ds.spec.updateStrategy.type).toBe('RollingUpdate');
    expect(ds.spec.selector.matchLabels).toEqual(ds.spec.template.metadata.labels);
    const pod = ds.spec.template.spec;
    expect(pod.hostNetwork).toBe(true);
    expect(pod.priorityClassName).toBe('system-node-critical');
    expect(pod.tolerations).toContainEqual({ operator: 'Exists' });
    const [c] = pod.containers;
    expect(c.securityContext.privileged).toBe(false);
    expect(c.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] });
    expect(c.env).toContainEqual({ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    expect(c.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
  });

  it('probes /livez for liveness and /healthz for readiness on 10256', () => {
    const [c] = byKind('DaemonSet').spec.template.spec.containers;
    expect(c.livenessProbe.httpGet).toEqual({ path: '/livez', port: 10256 });
    expect(c.startupProbe.httpGet).toEqual({ path: '/livez', port: 10256 });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/healthz', port: 10256 });
  });

  it('mounts the xtables lock, /lib/modules read-only, a writable /tmp and the config it passes to --config', () => {
    const pod = byKind('DaemonSet').spec.template.spec;
    const [c] = pod.containers;
    const volume = (name: string): Obj => pod.volumes.find((v: Obj) => v.name === name);
    const mount = (path: string): Obj => c.volumeMounts.find((m: Obj) => m.mountPath === path);
    expect(volume(mount('/run/xtables.lock').name).hostPath).toEqual({ path: '/run/xtables.lock', type: 'FileOrCreate' });
    expect(mount('/lib/modules').readOnly).toBe(true);
    expect(volume(mount('/lib/modules').name).hostPath.path).toBe('/lib/modules');
    // The root filesystem is read-only; the nft session writes its batch files to /tmp.
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(mount('/tmp').readOnly).toBeUndefined();
    expect(volume(mount('/tmp').name).emptyDir).toMatchObject({ medium: 'Memory' });

    expect(c.args[0]).toBe('run');
    const configArg = (c.args as string[]).find((a) => a.startsWith('--config='))!;
    const configPath = configArg.slice('--config='.length);
    const configMount = c.volumeMounts.find((m: Obj) => configPath.startsWith(`${m.mountPath}/`));
    expect(volume(configMount.name).configMap.name).toBe(byKind('ConfigMap').metadata.name);
    const key = configPath.slice(configMount.mountPath.length + 1);
    expect(Object.keys(byKind('ConfigMap').data)).toContain(key);
  });

  it('ships a KubeProxyConfiguration that kpx accepts without warnings', () => {
    const configText: string = Object.values(byKind('ConfigMap').data as Record<string, string>)[0]!;
    const resolved = resolveRunConfig({}, configText, { hostname: 'node-1' });
    if ('error' in resolved) throw new Error(resolved.error);
    expect(resolved.config.warnings).toEqual([]);
    expect(resolved.config).toMatchObject({ mode: 'iptables', healthz: { port: 10256 }, metrics: { host: '127.0.0.1', port: 10249 } });
  });
});

describe('Dockerfile', () => {
  it('starts the daemon with the V8 flags the benchmark workers measure it with', () => {
    const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
    expect(JSON.parse(entrypoint ?? 'null')).toEqual(['node', ...DAEMON_NODE_FLAGS, '/app/dist/src/cli/main.js']);
  });
});
