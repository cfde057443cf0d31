import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Service, ServiceSpec } from 'kubernetes-types/core/v1.js';
import { Cluster } from '../../../src/cluster/cluster.js';
import { clusterConfig, type ClusterConfig } from '../../../src/cluster/config.js';
import { installApiServer, createDefaultServices } from '../../../src/cluster/apiserver.js';
import { ApiError } from '../../../src/cluster/store.js';
import type { Stored } from '../../../src/cluster/object.js';
import { parseIp } from '../../../src/net/ip.js';
import { containsIp } from '../../../src/net/cidr.js';

function setup(config: Partial<ClusterConfig> = {}, seed = 1) {
  const cluster = new Cluster(clusterConfig(config), { seed });
  const api = installApiServer(cluster.store, cluster.config, cluster.rng, { clock: cluster.clock });
  return { cluster, store: cluster.store, api };
}

function svc(name: string, spec: ServiceSpec, namespace = 'default'): Stored<Service> {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec } as Stored<Service>;
}

function apiError(f: () => unknown): ApiError {
  try {
    f();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('expected an ApiError');
}

const ipv = (s: string) => parseIp(s)!.value;

describe('Service defaulting', () => {
  it('fills the scheme defaults and the IP families of a single-stack cluster', () => {
    const { store } = setup();
    const s = store.create(svc('web', { selector: { app: 'web' }, ports: [{ port: 80 }] }));
    expect(s.spec).toMatchObject({
      type: 'ClusterIP',
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
      ipFamilyPolicy: 'SingleStack',
      ipFamilies: ['IPv4'],
      ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }],
    });
    expect(s.spec!.externalTrafficPolicy).toBeUndefined();
    expect(s.spec!.clusterIPs).toEqual([s.spec!.clusterIP]);
  });

  it('gives NodePort and LoadBalancer Services externalTrafficPolicy Cluster, and LB allocateLoadBalancerNodePorts', () => {
    const { store } = setup();
    const np = store.create(svc('np', { type: 'NodePort', ports: [{ port: 80 }] }));
    expect(np.spec!.externalTrafficPolicy).toBe('Cluster');
    expect(np.spec!.allocateLoadBalancerNodePorts).toBeUndefined();
    const lb = store.create(svc('lb', { type: 'LoadBalancer', ports: [{ port: 80 }] }));
    expect(lb.spec!.externalTrafficPolicy).toBe('Cluster');
    expect(lb.spec!.allocateLoadBalancerNodePorts).toBe(true);
    expect(lb.spec!.ports![0]!.nodePort).toBeGreaterThanOrEqual(30086);
  });

  it('defaults the ClientIP affinity timeout to 3 hours', () => {
    const { store } = setup();
    const s = store.create(svc('a', { sessionAffinity: 'ClientIP', ports: [{ port: 80 }] }));
    expect(s.spec!.sessionAffinityConfig).toEqual({ clientIP: { timeoutSeconds: 10800 } });
  });

  it('keeps a headless Service headless and allocates nothing', () => {
    const { store, api } = setup();
    const s = store.create(svc('h', { clusterIP: 'None', selector: { app: 'x' }, ports: [{ port: 80 }] }));
    expect(s.spec!.clusterIP).toBe('None');
    expect(s.spec!.clusterIPs).toEqual(['None']);
    expect(s.spec!.ipFamilies).toEqual(['IPv4']);
    expect(api.services.serviceIPs[0]!.used).toBe(0);
  });

  it('leaves ExternalName Services without addresses or families', () => {
    const { store } = setup();
    const s = store.create(svc('ext', { type: 'ExternalName', externalName: 'example.com' }));
    expect(s.spec!.clusterIP).toBeUndefined();
    expect(s.spec!.ipFamilies).toBeUndefined();
  });
});

describe('ClusterIP allocation (C11, C12)', () => {
  it('C11: kubernetes gets 10.96.0.1, kube-dns 10.96.0.10, a new Service the dynamic band', () => {
    const { store } = setup();
    const { kubernetes, kubeDns } = createDefaultServices(store, clusterConfig());
    expect(kubernetes.spec!.clusterIP).toBe('10.96.0.1');
    expect(kubernetes.metadata.namespace).toBe('default');
    expect(kubernetes.spec!.ports).toEqual([{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }]);
    expect(kubeDns.spec!.clusterIP).toBe('10.96.0.10');
    expect(kubeDns.metadata.namespace).toBe('kube-system');
    expect(kubeDns.spec!.selector).toEqual({ 'k8s-app': 'kube-dns' });
    expect(kubeDns.spec!.ports!.map((p) => `${p.name}/${p.port}/${p.protocol}`)).toEqual(['dns/53/UDP', 'dns-tcp/53/TCP', 'metrics/9153/TCP']);
    for (let i = 0; i < 50; i++) {
      const s = store.create(svc(`s${i}`, { ports: [{ port: 80 }] }));
      expect(ipv(s.spec!.clusterIP!) >= ipv('10.96.1.1')).toBe(true);
      expect(containsIp('10.96.0.0/12', s.spec!.clusterIP!)).toBe(true);
    }
  });

  it('createDefaultServices is idempotent', () => {
    const { store } = setup();
    createDefaultServices(store, clusterConfig());
    expect(() => createDefaultServices(store, clusterConfig())).not.toThrow();
    expect(store.count('Service')).toBe(2);
  });

  it('C12: asking for kube-dns address fails on spec.clusterIPs[0] with "provided IP is already allocated"', () => {
    const { store } = setup();
    createDefaultServices(store, clusterConfig());
    const e = apiError(() => store.create(svc('dup', { clusterIP: '10.96.0.10', ports: [{ port: 53 }] })));
    expect(e.reason).toBe('Invalid');
    expect(e.field).toBe('spec.clusterIPs[0]');
    expect(e.message).toBe(
      'Service "dup" is invalid: spec.clusterIPs[0]: Invalid value: "10.96.0.10": failed to allocate IP 10.96.0.10: provided IP is already allocated',
    );
    expect(store.get('Service', 'default', 'dup')).toBeUndefined();
  });

  it('refuses a requested address outside the service range', () => {
    const { store } = setup();
    const e = apiError(() => store.create(svc('x', { clusterIP: '10.0.0.5', ports: [{ port: 80 }] })));
    expect(e.field).toBe('spec.clusterIPs[0]');
    expect(e.message).toContain('the provided IP (10.0.0.5) is not in the valid range. The range of valid IPs is 10.96.0.0/12');
  });

  it('accepts a requested address anywhere in range, low band included', () => {
    const { store } = setup();
    expect(store.create(svc('a', { clusterIP: '10.96.0.200', ports: [{ port: 80 }] })).spec!.clusterIP).toBe('10.96.0.200');
    expect(store.create(svc('b', { clusterIP: '10.100.1.1', ports: [{ port: 80 }] })).spec!.clusterIP).toBe('10.100.1.1');
  });

  it('releases the address on delete so it can be requested again', () => {
    const { store } = setup();
    const a = store.create(svc('a', { ports: [{ port: 80 }] }));
    store.delete('Service', 'default', 'a');
    expect(store.create(svc('b', { clusterIP: a.spec!.clusterIP!, ports: [{ port: 80 }] })).spec!.clusterIP).toBe(a.spec!.clusterIP);
  });

  it('dual-stack: PreferDualStack gets one address per family, SingleStack one, families may be chosen', () => {
    const { store } = setup({ serviceCIDRs: ['10.96.0.0/12', 'fd00:10:96::/108'] });
    const dual = store.create(svc('d', { ipFamilyPolicy: 'PreferDualStack', ports: [{ port: 80 }] }));
    expect(dual.spec!.ipFamilies).toEqual(['IPv4', 'IPv6']);
    expect(dual.spec!.clusterIPs).toHaveLength(2);
    expect(containsIp('10.96.0.0/12', dual.spec!.clusterIPs![0]!)).toBe(true);
    expect(containsIp('fd00:10:96::/108', dual.spec!.clusterIPs![1]!)).toBe(true);
    const single = store.create(svc('s', { ports: [{ port: 80 }] }));
    expect(single.spec!.clusterIPs).toHaveLength(1);
    expect(single.spec!.ipFamilyPolicy).toBe('SingleStack');
    const v6 = store.create(svc('v6', { ipFamilies: ['IPv6'], ipFamilyPolicy: 'PreferDualStack', ports: [{ port: 80 }] }));
    expect(v6.spec!.ipFamilies).toEqual(['IPv6', 'IPv4']);
    expect(containsIp('fd00:10:96::/108', v6.spec!.clusterIP!)).toBe(true);
    const req = store.create(svc('r', { clusterIPs: ['fd00:10:96::50'], ports: [{ port: 80 }] }));
    expect(req.spec!.ipFamilies).toEqual(['IPv6']);
  });

  it('refuses RequireDualStack on a single-stack cluster', () => {
    const { store } = setup();
    const e = apiError(() => store.create(svc('d', { ipFamilyPolicy: 'RequireDualStack', ports: [{ port: 80 }] })));
    expect(e.field).toBe('spec.ipFamilyPolicy');
    expect(e.message).toContain('not configured for dual-stack');
  });

  it('headless without a selector asks for both families even on a single-stack cluster', () => {
    const { store } = setup();
    const s = store.create(svc('h', { clusterIP: 'None', ports: [{ port: 80 }] }));
    expect(s.spec!.ipFamilyPolicy).toBe('RequireDualStack');
    expect(s.spec!.ipFamilies).toEqual(['IPv4', 'IPv6']);
  });
});

describe('NodePort allocation (C13)', () => {
  it('C13: an unspecified nodePort is random in 30086-32767; 30001 may be requested when free', () => {
    const { store } = setup();
    for (let i = 0; i < 30; i++) {
      const s = store.create(svc(`np${i}`, { type: 'NodePort', ports: [{ port: 80 }] }));
      const p = s.spec!.ports![0]!.nodePort!;
      expect(p).toBeGreaterThanOrEqual(30086);
      expect(p).toBeLessThanOrEqual(32767);
    }
    const s = store.create(svc('fixed', { type: 'NodePort', ports: [{ port: 80, nodePort: 30001 }] }));
    expect(s.spec!.ports![0]!.nodePort).toBe(30001);
  });

  it('a taken nodePort fails on spec.ports[i].nodePort with "provided port is already allocated"', () => {
    const { store } = setup();
    store.create(svc('a', { type: 'NodePort', ports: [{ port: 80, nodePort: 30001 }] }));
    const e = apiError(() =>
      store.create(svc('b', { type: 'NodePort', ports: [{ port: 81, name: 'x' }, { port: 80, name: 'y', nodePort: 30001 }] })),
    );
    expect(e.field).toBe('spec.ports[1].nodePort');
    expect(e.message).toBe('Service "b" is invalid: spec.ports[1].nodePort: Invalid value: 30001: provided port is already allocated');
  });

  it('refuses nodePorts outside the configured range', () => {
    const { store } = setup({ nodePortRange: { base: 30000, size: 100 } });
    const e = apiError(() => store.create(svc('a', { type: 'NodePort', ports: [{ port: 80, nodePort: 30100 }] })));
    expect(e.field).toBe('spec.ports[0].nodePort');
    expect(e.message).toContain('The range of valid ports is 30000-30099');
  });

  it('TCP and UDP of one port number share a nodePort; the same nodePort twice for one protocol is a duplicate', () => {
    const { store } = setup();
    const dns = store.create(svc('dns', { type: 'NodePort', ports: [{ name: 'u', port: 53, protocol: 'UDP' }, { name: 't', port: 53, protocol: 'TCP' }] }));
    const [u, t] = dns.spec!.ports!;
    expect(u!.nodePort).toBe(t!.nodePort);
    const e = apiError(() =>
      store.create(svc('dup', { type: 'NodePort', ports: [{ name: 'a', port: 80, nodePort: 30010 }, { name: 'b', port: 81, nodePort: 30010 }] })),
    );
    expect(e.field).toBe('spec.ports[1].nodePort');
    expect(e.message).toContain('Duplicate value: 30010');
  });

  it('forbids nodePort on a ClusterIP Service', () => {
    const { store } = setup();
    const e = apiError(() => store.create(svc('a', { ports: [{ port: 80, nodePort: 30010 }] })));
    expect(e.message).toContain("may not be used when `type` is 'ClusterIP'");
  });

  it('LoadBalancer with externalTrafficPolicy Local gets a healthCheckNodePort, released on delete', () => {
    const { store, api } = setup();
    const s = store.create(svc('lb', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ port: 80 }] }));
    const hc = s.spec!.healthCheckNodePort!;
    expect(hc).toBeGreaterThanOrEqual(30086);
    expect(hc).not.toBe(s.spec!.ports![0]!.nodePort);
    expect(api.services.nodePorts.has(hc)).toBe(true);
    store.delete('Service', 'default', 'lb');
    expect(api.services.nodePorts.has(hc)).toBe(false);
    expect(api.services.nodePorts.used).toBe(0);
  });

  it('allocateLoadBalancerNodePorts=false gives a LoadBalancer no nodePorts', () => {
    const { store } = setup();
    const s = store.create(svc('lb', { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ports: [{ port: 80 }] }));
    expect(s.spec!.ports![0]!.nodePort).toBeUndefined();
  });

  it('a failed create gives back what it had taken', () => {
    const { store, api } = setup();
    store.create(svc('a', { type: 'NodePort', ports: [{ port: 80, nodePort: 30050 }] }));
    const ipsBefore = api.services.serviceIPs[0]!.used;
    apiError(() => store.create(svc('b', { type: 'NodePort', ports: [{ name: 'x', port: 81 }, { name: 'y', port: 82, nodePort: 30050 }] })));
    expect(api.services.serviceIPs[0]!.used).toBe(ipsBefore);
    expect(api.services.nodePorts.used).toBe(1);
  });
});

describe('Service updates', () => {
  it('keeps nodePorts the client left out, allocates for new ports and releases removed ones', () => {
    const { store, api } = setup();
    const s = store.create(svc('np', { type: 'NodePort', ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443 }] }));
    const [http, https] = s.spec!.ports!.map((p) => p.nodePort!);
    // The client re-applies its manifest: no clusterIP, no nodePorts; https dropped, metrics added.
    const u = store.update<Stored<Service>>({ ...s, spec: { type: 'NodePort', ports: [{ name: 'http', port: 80 }, { name: 'metrics', port: 9000 }] } });
    expect(u.spec!.clusterIP).toBe(s.spec!.clusterIP);
    expect(u.spec!.ports![0]!.nodePort).toBe(http);
    const metrics = u.spec!.ports![1]!.nodePort!;
    expect(metrics).not.toBe(https);
    expect(api.services.nodePorts.has(https!)).toBe(false);
    expect(api.services.nodePorts.allocated().sort()).toEqual([http!, metrics].sort());
  });

  it('ClusterIP → NodePort allocates nodePorts; NodePort → ClusterIP releases them', () => {
    const { store, api } = setup();
    const s = store.create(svc('a', { ports: [{ port: 80 }] }));
    const np = store.update({ ...s, spec: { ...s.spec!, type: 'NodePort' } });
    const port = np.spec!.ports![0]!.nodePort!;
    expect(port).toBeGreaterThanOrEqual(30000);
    expect(np.spec!.externalTrafficPolicy).toBe('Cluster');
    const back = store.update({ ...np, spec: { ...np.spec!, type: 'ClusterIP' } });
    expect(back.spec!.ports![0]!.nodePort).toBeUndefined();
    expect(back.spec!.externalTrafficPolicy).toBeUndefined();
    expect(back.spec!.clusterIP).toBe(s.spec!.clusterIP);
    expect(api.services.nodePorts.used).toBe(0);
  });

  it('refuses to change an allocated clusterIP', () => {
    const { store } = setup();
    const s = store.create(svc('a', { ports: [{ port: 80 }] }));
    const e = apiError(() => store.update({ ...s, spec: { ...s.spec!, clusterIP: '10.96.5.5', clusterIPs: ['10.96.5.5'] } }));
    expect(e.field).toBe('spec.clusterIPs[0]');
  });

  it('single → dual stack adds an address of the second family; dropping it gives it back', () => {
    const { store, api } = setup({ serviceCIDRs: ['10.96.0.0/12', 'fd00:10:96::/108'] });
    const s = store.create(svc('a', { ports: [{ port: 80 }] }));
    const dual = store.update({ ...s, spec: { ...s.spec!, ipFamilyPolicy: 'PreferDualStack', ipFamilies: undefined } });
    expect(dual.spec!.clusterIPs).toHaveLength(2);
    expect(dual.spec!.clusterIPs![0]).toBe(s.spec!.clusterIP);
    expect(api.services.serviceIPs[1]!.used).toBe(1);
    const single = store.update({ ...dual, spec: { ...dual.spec!, ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4'], clusterIPs: [s.spec!.clusterIP!] } });
    expect(single.spec!.clusterIPs).toEqual([s.spec!.clusterIP]);
    expect(api.services.serviceIPs[1]!.used).toBe(0);
  });

  it('status-only updates pass through untouched', () => {
    const { store } = setup();
    const s = store.create(svc('lb', { type: 'LoadBalancer', ports: [{ port: 80 }] }));
    const u = store.update({ ...s, status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } } });
    expect(u.spec).toBe(s.spec);
  });
});

describe('allocation invariants', () => {
  it('live Services never share a ClusterIP or NodePort, and all stay in range (random create/delete)', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.array(
          fc.record({
            del: fc.boolean(),
            type: fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer'),
            ports: fc.integer({ min: 1, max: 3 }),
            requestIp: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
            requestPort: fc.option(fc.integer({ min: 30000, max: 30100 }), { nil: undefined }),
          }),
          { maxLength: 60 },
        ),
        (seed, ops) => {
          const { store } = setup({ serviceCIDRs: ['10.0.0.0/26'], nodePortRange: { base: 30000, size: 100 } }, seed);
          let n = 0;
          for (const op of ops) {
            const live = store.list<Stored<Service>>('Service');
            if (op.del && live.length) {
              store.delete('Service', 'default', live[n % live.length]!.metadata.name!);
              continue;
            }
            const ports = Array.from({ length: op.ports }, (_, i) => ({
              name: `p${i}`,
              port: 80 + i,
              ...(i === 0 && op.requestPort && op.type !== 'ClusterIP' ? { nodePort: op.requestPort } : {}),
            }));
            try {
              store.create(svc(`s${n++}`, { type: op.type, ports, ...(op.requestIp ? { clusterIP: `10.0.0.${op.requestIp}` } : {}) }));
            } catch (e) {
              expect(e).toBeInstanceOf(ApiError);
            }
          }
          const ips = new Set<string>();
          const ports = new Set<number>();
          for (const s of store.list<Stored<Service>>('Service')) {
            const ip = s.spec!.clusterIP!;
            expect(ips.has(ip)).toBe(false);
            ips.add(ip);
            const v = ipv(ip);
            expect(v > ipv('10.0.0.0') && v < ipv('10.0.0.63')).toBe(true);
            for (const p of new Set(s.spec!.ports!.map((x) => x.nodePort).filter((x): x is number => !!x))) {
              expect(ports.has(p)).toBe(false);
              expect(p >= 30000 && p < 30100).toBe(true);
              ports.add(p);
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
