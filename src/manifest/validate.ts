// Validation of loaded objects as the API server would do it on `kubectl apply --validate=strict`:
// kind/apiVersion, strict fields, metadata, the kind's own rules, and what the allocators would
// refuse across the whole input (duplicate objects, NodePorts, ClusterIPs).
import { clusterConfig, type ClusterConfig } from '../cluster/config.js';
import type { LoadedObject } from '../scenario/types.js';
import type { Diagnostic } from './diagnostic.js';
import { FieldErrors } from './field-errors.js';
import { checkKind, splitApiVersion } from './kinds.js';
import { checkStrict, rootType } from './strict.js';
import { asArr, asInt, asObj, asStr, validateObjectMeta, type Obj } from './validate-meta.js';
import { validateEndpointSlice, validateEndpoints } from './validate-discovery.js';
import { validateIngress, validateIngressClass, validateNetworkPolicy } from './validate-networking.js';
import { validateNamespace, validateNode } from './validate-node.js';
import { validatePodSpec } from './validate-pod.js';
import { inNodePortRange, validateService } from './validate-service.js';
import { validateDaemonSet, validateDeployment, validateJob, validateReplicaSet, validateStatefulSet } from './validate-workloads.js';

export interface ValidationContext {
  config: ClusterConfig;
}

type KindValidator = (obj: Obj, errs: FieldErrors, ctx: ValidationContext) => void;

const VALIDATORS: Record<string, KindValidator> = {
  Namespace: validateNamespace,
  Node: validateNode,
  Pod: (o, e) => validatePodSpec(o.spec, ['spec'], e),
  Service: validateService,
  Endpoints: validateEndpoints,
  EndpointSlice: validateEndpointSlice,
  Deployment: validateDeployment,
  ReplicaSet: validateReplicaSet,
  StatefulSet: validateStatefulSet,
  DaemonSet: validateDaemonSet,
  Job: validateJob,
  Ingress: validateIngress,
  IngressClass: validateIngressClass,
  NetworkPolicy: validateNetworkPolicy,
};

function where(lo: LoadedObject): string {
  return `${lo.source.file}:${lo.source.line}`;
}

/** The checks for one object. */
export function validateObject(lo: LoadedObject, ctx: ValidationContext = { config: clusterConfig() }): Diagnostic[] {
  const errs = new FieldErrors(lo.source);
  const obj = lo.object as unknown as Obj;
  const apiVersion = String(obj.apiVersion);
  const kind = String(obj.kind);
  const check = checkKind(apiVersion, kind);
  if (check.status === 'mismatch') {
    errs.add('error', ['apiVersion'], check.message, check.hint);
    return errs.out;
  }
  const name = asStr(asObj(obj.metadata)?.name);
  if (check.status === 'unknown') {
    errs.warning(['kind'], check.message, check.hint);
    if (!name) errs.required(['metadata', 'name']);
    return errs.out;
  }
  if (check.status === 'custom') {
    errs.info(['kind'], `${kind} (${splitApiVersion(apiVersion).group}) is a custom resource: kept, not simulated`);
    if (!name) errs.required(['metadata', 'name']);
    return errs.out;
  }
  const info = check.info;
  if (!info.simulated) {
    errs.info(['kind'], `${kind} is not simulated: kept as-is, it does not change traffic`);
    if (!name) errs.required(['metadata', 'name']);
    return errs.out;
  }
  const root = rootType(apiVersion, kind);
  if (root) checkStrict(obj, `@${root}`, [], errs);
  validateObjectMeta(obj.metadata, info.name!, info.namespaced, errs);
  VALIDATORS[kind]?.(obj, errs, ctx);
  // Report in reading order (Array.prototype.sort is stable for equal positions).
  return errs.out.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

/** Every object's checks plus the ones across objects. */
export function validateObjects(objects: readonly LoadedObject[], ctx: ValidationContext = { config: clusterConfig() }): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const lo of objects) out.push(...validateObject(lo, ctx));
  out.push(...checkDuplicates(objects));
  out.push(...checkAllocations(objects, ctx));
  return out;
}

export function identity(lo: LoadedObject): string | undefined {
  const o = lo.object as unknown as Obj;
  const meta = asObj(o.metadata);
  const name = asStr(meta?.name);
  if (!name) return undefined;
  const info = checkKind(String(o.apiVersion), String(o.kind));
  const namespaced = info.status === 'ok' ? info.info.namespaced : true;
  return namespaced ? `${String(o.kind)} "${asStr(meta?.namespace) || 'default'}/${name}"` : `${String(o.kind)} "${name}"`;
}

function checkDuplicates(objects: readonly LoadedObject[]): Diagnostic[] {
  const seen = new Map<string, LoadedObject>();
  const out: Diagnostic[] = [];
  for (const lo of objects) {
    const id = identity(lo);
    if (!id) continue;
    const first = seen.get(id);
    if (first) {
      const errs = new FieldErrors(lo.source, out);
      errs.add('error', ['metadata', 'name'], `duplicate ${id}: also defined at ${where(first)}`, 'each object may appear once in the input; remove or rename one of them');
    } else seen.set(id, lo);
  }
  return out;
}

/** The NodePort and ClusterIP allocators refuse a value another Service of the input already holds. */
function checkAllocations(objects: readonly LoadedObject[], ctx: ValidationContext): Diagnostic[] {
  const out: Diagnostic[] = [];
  const ports = new Map<number, string>();
  const ips = new Map<string, string>();
  for (const lo of objects) {
    const o = lo.object as unknown as Obj;
    if (o.kind !== 'Service' || o.apiVersion !== 'v1') continue;
    const spec = asObj(o.spec) ?? {};
    const type = asStr(spec.type) ?? 'ClusterIP';
    const errs = new FieldErrors(lo.source, out);
    const ref = `${identity(lo)} at ${where(lo)}`;
    if (type === 'NodePort' || type === 'LoadBalancer') {
      const mine = new Set<number>();
      const claim = (np: number, path: (string | number)[]) => {
        if (!inNodePortRange(ctx.config, np) || mine.has(np)) return;
        mine.add(np);
        const other = ports.get(np);
        if (other) errs.invalid(path, np, 'provided port is already allocated', `also used by ${other}`);
        else ports.set(np, ref);
      };
      asArr(spec.ports).forEach((p, i) => {
        const np = asInt(asObj(p)?.nodePort);
        if (np) claim(np, ['spec', 'ports', i, 'nodePort']);
      });
      const hc = asInt(spec.healthCheckNodePort);
      if (hc && type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local') claim(hc, ['spec', 'healthCheckNodePort']);
    }
    if (type !== 'ExternalName') {
      const list = asArr(spec.clusterIPs).length ? asArr(spec.clusterIPs) : spec.clusterIP ? [spec.clusterIP] : [];
      list.forEach((ip, i) => {
        if (typeof ip !== 'string' || ip === 'None' || ip === '') return;
        const path = asArr(spec.clusterIPs).length ? ['spec', 'clusterIPs', i] : ['spec', 'clusterIP'];
        const other = ips.get(ip);
        if (other) errs.invalid(path, ip, `failed to allocate IP ${ip}: provided IP is already allocated`, `also used by ${other}`);
        else ips.set(ip, ref);
      });
    }
  }
  return out;
}
