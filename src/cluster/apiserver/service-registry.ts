// The Service registry's allocation logic (pkg/registry/core/service/storage/alloc.go):
// ClusterIPs per family, NodePorts and the health-check NodePort on create, update and delete.
// Every write is a transaction: a failure gives back what it took; releases happen on success.
import type { Service, ServicePort, ServiceSpec } from 'kubernetes-types/core/v1.js';
import type { ClusterConfig } from '../config.js';
import type { Rng } from '../rng.js';
import type { IpFamily } from '../../net/ip.js';
import { ServiceIpAllocator } from '../ipam/service-ip-allocator.js';
import { NodePortAllocator } from '../ipam/node-port-allocator.js';
import { AllocationError } from '../ipam/errors.js';
import {
  defaultServiceSpec,
  externallyAccessible,
  initIpFamilies,
  needsClusterIP,
  needsHealthCheckNodePort,
  shouldAllocateNodePorts,
} from './service-defaults.js';
import { duplicate, forbidden, internal, invalid } from './errors.js';
import { withKeys } from '../copy.js';

type MutableSpec = { -readonly [K in keyof ServiceSpec]: ServiceSpec[K] };

class Transaction {
  private readonly undo: (() => void)[] = [];
  private readonly onCommit: (() => void)[] = [];
  took(release: () => void): void {
    this.undo.push(release);
  }
  releaseOnCommit(release: () => void): void {
    this.onCommit.push(release);
  }
  commit(): void {
    for (const f of this.onCommit) f();
  }
  rollback(): void {
    for (let i = this.undo.length - 1; i >= 0; i--) this.undo[i]!();
  }
}

export class ServiceRegistry {
  /** One allocator per --service-cluster-ip-range, in flag order (the first family is the default). */
  readonly serviceIPs: ServiceIpAllocator[];
  readonly nodePorts: NodePortAllocator;
  readonly families: IpFamily[];

  constructor(
    config: ClusterConfig,
    private readonly rng: Rng,
  ) {
    this.serviceIPs = config.serviceCIDRs.map((c) => new ServiceIpAllocator(c));
    this.families = this.serviceIPs.map((a) => a.family);
    this.nodePorts = new NodePortAllocator(config.nodePortRange.base, config.nodePortRange.size);
  }

  allocatorFor(family: IpFamily): ServiceIpAllocator | undefined {
    return this.serviceIPs.find((a) => a.family === family);
  }

  create(svc: Service): Service {
    const name = svc.metadata?.name ?? '';
    let spec = defaultServiceSpec(svc.spec);
    spec = initIpFamilies(svc, spec, this.families);
    const s: MutableSpec = { ...spec };
    this.validate(name, s);
    const tx = new Transaction();
    try {
      if (needsClusterIP(s)) this.allocClusterIPs(name, s, [], tx);
      else if (s.clusterIPs?.[0] === 'None') s.clusterIP = 'None';
      if (s.type === 'NodePort' || s.type === 'LoadBalancer') this.initNodePorts(name, s, tx);
      if (needsHealthCheckNodePort(s)) this.allocHealthCheckNodePort(s, tx);
    } catch (e) {
      tx.rollback();
      throw e;
    }
    tx.commit();
    // withKeys: a spread adding `status` would give every Service a hidden class of its own (copy.ts).
    return withKeys(svc, 'spec', s, 'status', svc.status ?? { loadBalancer: {} });
  }

  update(svc: Service, old: Service): Service {
    if (svc.spec === old.spec) return svc;
    const name = svc.metadata?.name ?? '';
    const oldSpec = old.spec ?? {};
    const s: MutableSpec = { ...defaultServiceSpec(svc.spec) };
    patchAllocatedValues(s, oldSpec);
    const status = dropTypeDependentFields(s, oldSpec, svc.status);
    const spec: MutableSpec = { ...initIpFamilies(svc, s, this.families) };
    this.validate(name, spec);
    this.validateUpdate(name, spec, oldSpec);
    const tx = new Transaction();
    try {
      this.updateClusterIPs(name, spec, oldSpec, tx);
      const oldNeedsNP = oldSpec.type === 'NodePort' || oldSpec.type === 'LoadBalancer';
      const newNeedsNP = spec.type === 'NodePort' || spec.type === 'LoadBalancer';
      if (oldNeedsNP && !newNeedsNP) {
        for (const p of uniqueNodePorts(oldSpec)) tx.releaseOnCommit(() => this.nodePorts.release(p));
      }
      if (newNeedsNP) this.updateNodePorts(name, spec, oldSpec, tx);
      const hcBefore = needsHealthCheckNodePort(oldSpec);
      const hcAfter = needsHealthCheckNodePort(spec);
      if (!hcBefore && hcAfter) this.allocHealthCheckNodePort(spec, tx);
      else if (hcBefore && !hcAfter && oldSpec.healthCheckNodePort) {
        const p = oldSpec.healthCheckNodePort;
        tx.releaseOnCommit(() => this.nodePorts.release(p));
      }
    } catch (e) {
      tx.rollback();
      throw e;
    }
    tx.commit();
    const nextStatus = spec.type !== 'LoadBalancer' && status?.loadBalancer?.ingress ? { ...status, loadBalancer: {} } : status;
    return { ...svc, spec, ...(nextStatus ? { status: nextStatus } : {}) };
  }

  deleted(svc: Service): void {
    const spec = svc.spec;
    if (!spec) return;
    if (needsClusterIP(spec)) for (const ip of spec.clusterIPs ?? []) this.releaseIP(ip);
    for (const p of uniqueNodePorts(spec)) this.nodePorts.release(p);
    if (spec.healthCheckNodePort) this.nodePorts.release(spec.healthCheckNodePort);
  }

  // ---- ClusterIPs ----------------------------------------------------------------------------

  private allocClusterIPs(name: string, s: MutableSpec, keep: readonly string[], tx: Transaction): void {
    const families = (s.ipFamilies ?? []) as IpFamily[];
    const ips = [...(s.clusterIPs ?? [])];
    families.forEach((family, i) => {
      const requested = ips[i];
      if (requested && keep[i] === requested) return;
      const alloc = this.allocatorFor(family);
      if (!alloc) throw invalid('Service', name, `spec.ipFamilies[${i}]`, family, 'not configured on this cluster');
      if (requested) {
        try {
          alloc.allocate(requested);
        } catch (e) {
          if (e instanceof AllocationError) {
            throw invalid('Service', name, `spec.clusterIPs[${i}]`, requested, `failed to allocate IP ${requested}: ${e.message}`);
          }
          throw e;
        }
        tx.took(() => alloc.release(requested));
      } else {
        let ip: string;
        try {
          ip = alloc.allocateNext(this.rng);
        } catch (e) {
          if (e instanceof AllocationError) throw internal(`failed to allocate a serviceIP: ${e.message}`, `spec.clusterIPs[${i}]`);
          throw e;
        }
        tx.took(() => alloc.release(ip));
        ips[i] = ip;
      }
    });
    s.clusterIPs = ips.slice(0, families.length);
    s.clusterIP = s.clusterIPs[0];
  }

  private updateClusterIPs(name: string, s: MutableSpec, old: ServiceSpec, tx: Transaction): void {
    const before = needsClusterIP(old);
    const after = needsClusterIP(s);
    const oldIPs = old.clusterIPs ?? (old.clusterIP ? [old.clusterIP] : []);
    if (before && !after) {
      for (const ip of oldIPs) tx.releaseOnCommit(() => this.releaseIP(ip));
      if (s.clusterIPs?.[0] === 'None') s.clusterIP = 'None';
      return;
    }
    if (!after) return;
    // Families added (single → dual stack) get addresses; families dropped give theirs back.
    this.allocClusterIPs(name, s, before ? oldIPs : [], tx);
    const kept = new Set(s.clusterIPs ?? []);
    if (before) for (const ip of oldIPs) if (!kept.has(ip)) tx.releaseOnCommit(() => this.releaseIP(ip));
  }

  private releaseIP(ip: string): void {
    for (const a of this.serviceIPs) if (a.indexOf(ip) !== undefined) a.release(ip);
  }

  // ---- NodePorts -----------------------------------------------------------------------------

  /** initNodePorts: ports sharing a port number (TCP and UDP 53) share one NodePort. */
  private initNodePorts(name: string, s: MutableSpec, tx: Transaction): void {
    const ports = (s.ports ?? []).map((p) => ({ ...p }) as { -readonly [K in keyof ServicePort]: ServicePort[K] });
    const byServicePort = new Map<number, number>();
    ports.forEach((sp, i) => {
      if (!sp.nodePort && !shouldAllocateNodePorts(s)) return;
      const allocated = byServicePort.get(sp.port) ?? 0;
      if (allocated === 0) {
        const requested = findRequestedNodePort(sp.port, ports);
        if (requested) {
          this.allocPort(name, requested, `spec.ports[${i}].nodePort`, tx);
          sp.nodePort = requested;
          byServicePort.set(sp.port, requested);
        } else {
          const np = this.allocNextPort(tx);
          sp.nodePort = np;
          byServicePort.set(sp.port, np);
        }
      } else if (sp.nodePort !== allocated) {
        if (!sp.nodePort) sp.nodePort = allocated;
        else this.allocPort(name, sp.nodePort, `spec.ports[${i}].nodePort`, tx);
      }
    });
    s.ports = ports;
  }

  /** updateNodePorts: keep ports the old Service held, allocate new ones, release the dropped. */
  private updateNodePorts(name: string, s: MutableSpec, old: ServiceSpec, tx: Transaction): void {
    const oldNumbers = uniqueNodePorts(old);
    const taken = new Set<number>();
    const ports = (s.ports ?? []).map((p) => ({ ...p }) as { -readonly [K in keyof ServicePort]: ServicePort[K] });
    ports.forEach((sp, i) => {
      if (!sp.nodePort && !shouldAllocateNodePorts(s)) return;
      if (sp.nodePort) {
        if (!oldNumbers.includes(sp.nodePort) && !taken.has(sp.nodePort)) {
          this.allocPort(name, sp.nodePort, `spec.ports[${i}].nodePort`, tx);
          taken.add(sp.nodePort);
        }
      } else {
        sp.nodePort = this.allocNextPort(tx);
      }
    });
    s.ports = ports;
    const now = new Set(ports.map((p) => p.nodePort ?? 0));
    for (const p of oldNumbers) if (!now.has(p)) tx.releaseOnCommit(() => this.nodePorts.release(p));
  }

  private allocHealthCheckNodePort(s: MutableSpec, tx: Transaction): void {
    const requested = s.healthCheckNodePort;
    if (requested) {
      try {
        this.nodePorts.allocate(requested);
      } catch (e) {
        if (e instanceof AllocationError) {
          throw internal(`failed to allocate requested HealthCheck NodePort ${requested}: ${e.message}`, 'spec.healthCheckNodePort');
        }
        throw e;
      }
      tx.took(() => this.nodePorts.release(requested));
    } else {
      let p: number;
      try {
        p = this.nodePorts.allocateNext(this.rng);
      } catch (e) {
        if (e instanceof AllocationError) throw internal(`failed to allocate a HealthCheck NodePort 0: ${e.message}`, 'spec.healthCheckNodePort');
        throw e;
      }
      tx.took(() => this.nodePorts.release(p));
      s.healthCheckNodePort = p;
    }
  }

  private allocPort(name: string, port: number, field: string, tx: Transaction): void {
    try {
      this.nodePorts.allocate(port);
    } catch (e) {
      if (e instanceof AllocationError) throw invalid('Service', name, field, port, e.message);
      throw e;
    }
    tx.took(() => this.nodePorts.release(port));
  }

  private allocNextPort(tx: Transaction): number {
    let p: number;
    try {
      p = this.nodePorts.allocateNext(this.rng);
    } catch (e) {
      if (e instanceof AllocationError) throw internal(`failed to allocate a nodePort: ${e.message}`);
      throw e;
    }
    tx.took(() => this.nodePorts.release(p));
    return p;
  }

  // ---- validation (the parts allocation depends on) ------------------------------------------

  private validate(name: string, s: ServiceSpec): void {
    const seen = new Set<string>();
    (s.ports ?? []).forEach((p, i) => {
      if (!p.nodePort) return;
      if (s.type === 'ClusterIP' || s.type === 'ExternalName') {
        throw forbidden('Service', name, `spec.ports[${i}].nodePort`, `may not be used when \`type\` is '${s.type}'`);
      }
      const key = `${p.protocol ?? 'TCP'}/${p.nodePort}`;
      if (seen.has(key)) throw duplicate('Service', name, `spec.ports[${i}].nodePort`, p.nodePort);
      seen.add(key);
    });
    if (s.healthCheckNodePort && !needsHealthCheckNodePort(s)) {
      throw invalid(
        'Service',
        name,
        'spec.healthCheckNodePort',
        s.healthCheckNodePort,
        "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
      );
    }
  }

  private validateUpdate(name: string, s: ServiceSpec, old: ServiceSpec): void {
    if (!needsClusterIP(old) && old.clusterIPs?.[0] !== 'None') return;
    if (s.type === 'ExternalName') return;
    const oldIPs = old.clusterIPs ?? [];
    const newIPs = s.clusterIPs ?? [];
    if (oldIPs[0] !== undefined && newIPs[0] !== undefined && oldIPs[0] !== newIPs[0]) {
      throw invalid('Service', name, 'spec.clusterIPs[0]', newIPs[0], 'may not change once set');
    }
    if (needsHealthCheckNodePort(old) && needsHealthCheckNodePort(s) && s.healthCheckNodePort !== old.healthCheckNodePort) {
      throw invalid('Service', name, 'spec.healthCheckNodePort', s.healthCheckNodePort ?? 0, 'field is immutable');
    }
  }
}

/** The first non-zero nodePort requested by any port with this port number. */
function findRequestedNodePort(port: number, ports: readonly ServicePort[]): number {
  for (const p of ports) if (p.port === port && p.nodePort) return p.nodePort;
  return 0;
}

function uniqueNodePorts(spec: ServiceSpec): number[] {
  const out: number[] = [];
  for (const p of spec.ports ?? []) if (p.nodePort && !out.includes(p.nodePort)) out.push(p.nodePort);
  return out;
}

/** Fill values the client left out but the old object has (clusterIPs, NodePorts by port name, hcNodePort). */
function patchAllocatedValues(s: MutableSpec, old: ServiceSpec): void {
  if (needsClusterIP(old) && needsClusterIP(s)) {
    if (!s.clusterIP && old.clusterIP) s.clusterIP = old.clusterIP;
    if (!s.clusterIPs?.length && old.clusterIPs?.length) s.clusterIPs = old.clusterIPs;
    if (s.clusterIP && !s.clusterIPs?.length) s.clusterIPs = [s.clusterIP];
    if (!s.ipFamilies?.length && old.ipFamilies?.length && sameIPs(s.clusterIPs, old.clusterIPs)) s.ipFamilies = old.ipFamilies;
    if (!s.ipFamilyPolicy && old.ipFamilyPolicy && sameIPs(s.clusterIPs, old.clusterIPs)) s.ipFamilyPolicy = old.ipFamilyPolicy;
  }
  const needsNP = (t: ServiceSpec) => t.type === 'NodePort' || t.type === 'LoadBalancer';
  if (needsNP(old) && needsNP(s) && s.ports) {
    const used = new Set<number>();
    const newUsed = new Set((s.ports ?? []).map((p) => p.nodePort ?? 0));
    for (const p of old.ports ?? []) if (p.nodePort && newUsed.has(p.nodePort)) used.add(p.nodePort);
    const byName = new Map<string, number>();
    for (const p of old.ports ?? []) byName.set(p.name ?? '', p.nodePort ?? 0);
    s.ports = s.ports.map((p) => {
      if (p.nodePort) return p;
      const v = byName.get(p.name ?? '') ?? 0;
      return v && !used.has(v) ? { ...p, nodePort: v } : p;
    });
  }
  if (needsHealthCheckNodePort(old) && needsHealthCheckNodePort(s) && !s.healthCheckNodePort) {
    s.healthCheckNodePort = old.healthCheckNodePort;
  }
}

function sameIPs(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  return (a ?? []).length === (b ?? []).length && (a ?? []).every((v, i) => v === b?.[i]);
}

/** Wipe fields the new type no longer uses when the client left them as they were. */
function dropTypeDependentFields(s: MutableSpec, old: ServiceSpec, status: Service['status']): Service['status'] {
  if (needsClusterIP(old) && !needsClusterIP(s)) {
    if (sameIPs(s.clusterIPs, old.clusterIPs) && s.clusterIP === old.clusterIP) {
      delete s.clusterIP;
      delete s.clusterIPs;
    }
    if (sameIPs(s.ipFamilies, old.ipFamilies)) delete s.ipFamilies;
    if (s.ipFamilyPolicy === old.ipFamilyPolicy) delete s.ipFamilyPolicy;
  }
  const needsNP = (t: ServiceSpec) => t.type === 'NodePort' || t.type === 'LoadBalancer';
  if (needsNP(old) && !needsNP(s) && s.ports) {
    const same = s.ports.length === (old.ports ?? []).length && s.ports.every((p, i) => (p.nodePort ?? 0) === (old.ports?.[i]?.nodePort ?? 0));
    if (same) s.ports = s.ports.map((p) => (p.nodePort ? (({ nodePort: _n, ...rest }) => rest)(p) : p));
  }
  if (old.type === 'LoadBalancer' && s.type !== 'LoadBalancer' && s.allocateLoadBalancerNodePorts === old.allocateLoadBalancerNodePorts) {
    delete s.allocateLoadBalancerNodePorts;
  }
  if (needsHealthCheckNodePort(old) && !needsHealthCheckNodePort(s) && s.healthCheckNodePort === old.healthCheckNodePort) {
    delete s.healthCheckNodePort;
  }
  if (!externallyAccessible(s) && s.externalTrafficPolicy === old.externalTrafficPolicy) delete s.externalTrafficPolicy;
  if (old.type === 'LoadBalancer' && s.type !== 'LoadBalancer' && status) return { ...status, loadBalancer: {} };
  return status;
}
