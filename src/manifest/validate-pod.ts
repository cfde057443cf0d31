// PodSpec validation (pods and pod templates), following pkg/apis/core/validation: containers,
// ports, env, resources, probes, volumes, tolerations, affinity, topology spread.
import type { FieldErrors, Path } from './field-errors.js';
import { parseIP } from './ip.js';
import { parseQuantity } from './quantity.js';
import { isDNS1123Label, isDNS1123Subdomain, isEnvVarName, isQualifiedName, isValidLabelValue, isValidPortName, isValidPortNum } from './syntax.js';
import {
  asArr,
  asInt,
  isMissingList,
  asObj,
  asStr,
  oneOf,
  validateLabels,
  validateLabelSelector,
  validateNonnegative,
} from './validate-meta.js';

export const PROTOCOLS = ['SCTP', 'TCP', 'UDP'] as const;
export const TAINT_EFFECTS = ['NoExecute', 'NoSchedule', 'PreferNoSchedule'] as const;

/** An int-or-string port: a number 1..65535 or an IANA_SVC_NAME. Zero means unset for callers that default it. */
export function validatePortNumOrName(v: unknown, path: Path, errs: FieldErrors): void {
  if (typeof v === 'number') errs.each(path, v, isValidPortNum(v));
  else if (typeof v === 'string') {
    if (v === '') errs.required(path);
    else errs.each(path, v, isValidPortName(v));
  }
}

export interface PodSpecOptions {
  /** Restart policies a controller allows for its template (Deployment: Always only). */
  restartPolicies?: readonly string[];
  /** Template of a controller: activeDeadlineSeconds is forbidden for ReplicaSet-like owners. */
  forbidActiveDeadline?: boolean;
}

export function validatePodSpec(spec: unknown, path: Path, errs: FieldErrors, opts: PodSpecOptions = {}): void {
  const s = asObj(spec);
  if (!s) {
    if (spec === undefined || spec === null) errs.required([...path, 'containers']);
    return;
  }
  const volumes = validateVolumes(s.volumes, [...path, 'volumes'], errs);
  const hostNetwork = s.hostNetwork === true;
  const names = new Set<string>();
  const hostPorts = new Set<string>();
  const containers = asArr(s.containers);
  if (isMissingList(s.containers)) errs.required([...path, 'containers'], '', 'a pod needs at least one container');
  asArr(s.initContainers).forEach((c, i) => validateContainer(c, [...path, 'initContainers', i], errs, { volumes, names, hostPorts, hostNetwork, init: true }));
  containers.forEach((c, i) => validateContainer(c, [...path, 'containers', i], errs, { volumes, names, hostPorts, hostNetwork, init: false }));

  const allowed = opts.restartPolicies ?? ['Always', 'OnFailure', 'Never'];
  oneOf(s.restartPolicy, allowed, [...path, 'restartPolicy'], errs);
  oneOf(s.dnsPolicy, ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'], [...path, 'dnsPolicy'], errs);
  if (s.dnsPolicy === 'None' && !asObj(s.dnsConfig)) errs.required([...path, 'dnsConfig'], 'must provide `dnsConfig` when `dnsPolicy` is None');
  validateDNSConfig(s.dnsConfig, [...path, 'dnsConfig'], errs);
  validateLabels(s.nodeSelector, [...path, 'nodeSelector'], errs);
  for (const f of ['nodeName', 'serviceAccountName', 'priorityClassName', 'schedulerName'] as const) {
    const v = asStr(s[f]);
    if (v) errs.each([...path, f], v, isDNS1123Subdomain(v));
  }
  for (const f of ['hostname', 'subdomain'] as const) {
    const v = asStr(s[f]);
    if (v) errs.each([...path, f], v, isDNS1123Label(v));
  }
  const ads = asInt(s.activeDeadlineSeconds);
  if (ads !== undefined) {
    if (opts.forbidActiveDeadline) errs.forbidden([...path, 'activeDeadlineSeconds'], 'activeDeadlineSeconds in ReplicaSet is not Supported');
    else if (ads < 1) errs.invalid([...path, 'activeDeadlineSeconds'], ads, 'must be between 1 and 2147483647, inclusive');
  }
  asArr(s.tolerations).forEach((t, i) => validateToleration(t, [...path, 'tolerations', i], errs));
  validateAffinity(s.affinity, [...path, 'affinity'], errs);
  validateTopologySpread(s.topologySpreadConstraints, [...path, 'topologySpreadConstraints'], errs);
}

interface ContainerContext {
  volumes: Set<string>;
  names: Set<string>;
  hostPorts: Set<string>;
  hostNetwork: boolean;
  init: boolean;
}

function validateContainer(container: unknown, path: Path, errs: FieldErrors, ctx: ContainerContext): void {
  const c = asObj(container);
  if (!c) return;
  const name = asStr(c.name);
  if (!name) errs.required([...path, 'name']);
  else if (errs.each([...path, 'name'], name, isDNS1123Label(name))) {
    if (ctx.names.has(name)) errs.duplicate([...path, 'name'], name, 'container names must be unique within a pod');
    ctx.names.add(name);
  }
  const image = c.image;
  if (image === undefined || image === null || image === '') errs.required([...path, 'image']);
  else if (typeof image === 'string' && image.trim() !== image) errs.invalid([...path, 'image'], image, 'must not have leading or trailing whitespace');
  oneOf(c.imagePullPolicy, ['Always', 'IfNotPresent', 'Never'], [...path, 'imagePullPolicy'], errs);
  oneOf(c.terminationMessagePolicy, ['File', 'FallbackToLogsOnError'], [...path, 'terminationMessagePolicy'], errs);
  const sidecar = ctx.init && c.restartPolicy === 'Always';
  if (c.restartPolicy !== undefined && c.restartPolicy !== null) {
    if (!ctx.init) errs.forbidden([...path, 'restartPolicy'], 'may not be set for non-init containers');
    else oneOf(c.restartPolicy, ['Always'], [...path, 'restartPolicy'], errs);
  }
  validateContainerPorts(c.ports, [...path, 'ports'], errs, ctx);
  validateEnv(c.env, [...path, 'env'], errs);
  validateResources(c.resources, [...path, 'resources'], errs);
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
    if (c[probe] === undefined || c[probe] === null) continue;
    if (ctx.init && !sidecar) {
      errs.forbidden([...path, probe], 'may not be set for init containers without restartPolicy=Always');
      continue;
    }
    validateProbe(c[probe], [...path, probe], errs, probe);
  }
  const mountPaths = new Set<string>();
  asArr(c.volumeMounts).forEach((vm, i) => {
    const m = asObj(vm);
    if (!m) return;
    const p: Path = [...path, 'volumeMounts', i];
    const vname = asStr(m.name);
    if (!vname) errs.required([...p, 'name']);
    else if (!ctx.volumes.has(vname)) errs.notFound([...p, 'name'], vname, 'declare it under spec.volumes');
    const mp = asStr(m.mountPath);
    if (!mp) errs.required([...p, 'mountPath']);
    else {
      if (mountPaths.has(mp)) errs.invalid([...p, 'mountPath'], mp, 'must be unique');
      mountPaths.add(mp);
    }
  });
}

function validateContainerPorts(ports: unknown, path: Path, errs: FieldErrors, ctx: ContainerContext): void {
  const names = new Set<string>();
  asArr(ports).forEach((port, i) => {
    const p = asObj(port);
    if (!p) return;
    const pp: Path = [...path, i];
    const name = asStr(p.name);
    if (name) {
      if (errs.each([...pp, 'name'], name, isValidPortName(name))) {
        if (names.has(name)) errs.duplicate([...pp, 'name'], name);
        names.add(name);
      }
    }
    const cp = p.containerPort;
    if (cp === undefined || cp === null || cp === 0) errs.required([...pp, 'containerPort']);
    else if (typeof cp === 'number') errs.each([...pp, 'containerPort'], cp, isValidPortNum(cp));
    const hp = asInt(p.hostPort);
    if (hp !== undefined && hp !== 0) {
      errs.each([...pp, 'hostPort'], hp, isValidPortNum(hp));
      const key = `${hp}/${asStr(p.protocol) ?? 'TCP'}`;
      if (ctx.hostPorts.has(key)) errs.duplicate([...pp, 'hostPort'], key);
      ctx.hostPorts.add(key);
    }
    if (ctx.hostNetwork && hp !== undefined && hp !== 0 && typeof cp === 'number' && hp !== cp)
      errs.invalid([...pp, 'containerPort'], cp, 'must match `hostPort` when `hostNetwork` is true');
    oneOf(p.protocol, PROTOCOLS, [...pp, 'protocol'], errs);
    const hostIP = asStr(p.hostIP);
    if (hostIP && !parseIP(hostIP)) errs.invalid([...pp, 'hostIP'], hostIP, 'must be a valid IP address');
  });
}

function validateEnv(env: unknown, path: Path, errs: FieldErrors): void {
  asArr(env).forEach((e, i) => {
    const v = asObj(e);
    if (!v) return;
    const p: Path = [...path, i];
    const name = asStr(v.name);
    if (!name) errs.required([...p, 'name']);
    else errs.each([...p, 'name'], name, isEnvVarName(name));
    const from = asObj(v.valueFrom);
    if (from) {
      const sources = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef'].filter((k) => from[k] !== undefined && from[k] !== null);
      if (asStr(v.value)) errs.invalid([...p, 'valueFrom'], '', 'may not be specified when `value` is not empty');
      if (sources.length === 0) errs.invalid([...p, 'valueFrom'], '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`');
      else if (sources.length > 1) errs.invalid([...p, 'valueFrom'], '', 'may not have more than one field specified at a time');
    }
  });
}

const STANDARD_CONTAINER_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage']);

function validateResources(res: unknown, path: Path, errs: FieldErrors): void {
  const r = asObj(res);
  if (!r) return;
  const limits = asObj(r.limits) ?? {};
  const requests = asObj(r.requests) ?? {};
  for (const [kind, list] of [
    ['limits', limits],
    ['requests', requests],
  ] as const) {
    for (const [name, q] of Object.entries(list)) {
      const p: Path = [...path, kind, name];
      if (!name.includes('/') && !STANDARD_CONTAINER_RESOURCES.has(name) && !name.startsWith('hugepages-'))
        errs.invalid(p, name, 'must be a standard resource for containers', 'use cpu, memory, ephemeral-storage, hugepages-<size>, or a domain-prefixed extended resource');
      else if (name.includes('/')) errs.each(p, name, isQualifiedName(name));
      const v = typeof q === 'string' || typeof q === 'number' ? parseQuantity(q) : undefined;
      if (v !== undefined && v < 0) errs.invalid(p, q, 'must be greater than or equal to 0');
    }
  }
  for (const [name, q] of Object.entries(requests)) {
    const req = typeof q === 'string' || typeof q === 'number' ? parseQuantity(q) : undefined;
    const lq = limits[name];
    const lim = typeof lq === 'string' || typeof lq === 'number' ? parseQuantity(lq) : undefined;
    if (req === undefined) continue;
    if (name.includes('/') && !name.startsWith('kubernetes.io/')) {
      if (lim === undefined || lim !== req) errs.invalid([...path, 'requests', name], q, `must be equal to ${name} limit of ${lq ?? 0}`, 'extended resources cannot be overcommitted');
    } else if (lim !== undefined && req > lim) errs.invalid([...path, 'requests', name], q, `must be less than or equal to ${name} limit of ${lq}`);
  }
}

function validateProbe(probe: unknown, path: Path, errs: FieldErrors, kind: string): void {
  const pr = asObj(probe);
  if (!pr) return;
  const handlers = ['exec', 'httpGet', 'tcpSocket', 'grpc'].filter((h) => pr[h] !== undefined && pr[h] !== null);
  if (handlers.length === 0) errs.required(path, 'must specify a handler type', 'set one of exec, httpGet, tcpSocket or grpc');
  else if (handlers.length > 1) errs.forbidden([...path, handlers[1]!], 'may not specify more than 1 handler type');
  for (const f of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold'])
    validateNonnegative(pr[f], [...path, f], errs);
  if (kind !== 'readinessProbe' && typeof pr.successThreshold === 'number' && pr.successThreshold !== 1)
    errs.invalid([...path, 'successThreshold'], pr.successThreshold, 'must be 1');
  if (kind === 'readinessProbe' && pr.terminationGracePeriodSeconds != null)
    errs.invalid([...path, 'terminationGracePeriodSeconds'], pr.terminationGracePeriodSeconds, 'must not be set for readinessProbes');
  const http = asObj(pr.httpGet);
  if (http) {
    if (http.port === undefined || http.port === null) errs.required([...path, 'httpGet', 'port']);
    else validatePortNumOrName(http.port, [...path, 'httpGet', 'port'], errs);
    oneOf(http.scheme, ['HTTP', 'HTTPS'], [...path, 'httpGet', 'scheme'], errs);
  }
  const tcp = asObj(pr.tcpSocket);
  if (tcp) {
    if (tcp.port === undefined || tcp.port === null) errs.required([...path, 'tcpSocket', 'port']);
    else validatePortNumOrName(tcp.port, [...path, 'tcpSocket', 'port'], errs);
  }
  const grpc = asObj(pr.grpc);
  if (grpc && typeof grpc.port === 'number') errs.each([...path, 'grpc', 'port'], grpc.port, isValidPortNum(grpc.port));
  const exec = asObj(pr.exec);
  if (exec && isMissingList(exec.command)) errs.required([...path, 'exec', 'command']);
}

function validateVolumes(volumes: unknown, path: Path, errs: FieldErrors): Set<string> {
  const names = new Set<string>();
  asArr(volumes).forEach((vol, i) => {
    const v = asObj(vol);
    if (!v) return;
    const p: Path = [...path, i];
    const name = asStr(v.name);
    if (!name) errs.required([...p, 'name']);
    else if (errs.each([...p, 'name'], name, isDNS1123Label(name))) {
      if (names.has(name)) errs.duplicate([...p, 'name'], name);
      names.add(name);
    }
    const sources = Object.keys(v).filter((k) => k !== 'name' && v[k] !== undefined && v[k] !== null);
    if (sources.length === 0) errs.required(p, 'must specify a volume type', 'for example emptyDir: {}, configMap or persistentVolumeClaim');
    else if (sources.length > 1) errs.forbidden([...p, sources[1]!], 'may not specify more than 1 volume type');
  });
  return names;
}

function validateDNSConfig(cfg: unknown, path: Path, errs: FieldErrors): void {
  const c = asObj(cfg);
  if (!c) return;
  const ns = asArr(c.nameservers);
  if (ns.length > 3) errs.invalid([...path, 'nameservers'], ns, 'must not have more than 3 nameservers');
  ns.forEach((n, i) => {
    if (typeof n === 'string' && !parseIP(n)) errs.invalid([...path, 'nameservers', i], n, 'must be valid IP address');
  });
  const searches = asArr(c.searches);
  if (searches.length > 32) errs.invalid([...path, 'searches'], searches, 'must not have more than 32 search paths');
  searches.forEach((d, i) => {
    if (typeof d === 'string') errs.each([...path, 'searches', i], d, isDNS1123Subdomain(d.replace(/\.$/, '')));
  });
}

export function validateToleration(tol: unknown, path: Path, errs: FieldErrors): void {
  const t = asObj(tol);
  if (!t) return;
  const key = asStr(t.key) ?? '';
  if (key) errs.each([...path, 'key'], key, isQualifiedName(key));
  const op = asStr(t.operator) ?? 'Equal';
  if (!key && op !== 'Exists')
    errs.invalid([...path, 'operator'], op, 'operator must be Exists when `key` is empty, which means "match all values and all keys"');
  if (t.tolerationSeconds != null && t.effect !== 'NoExecute')
    errs.invalid([...path, 'effect'], t.effect ?? '', 'effect must be \'NoExecute\' when `tolerationSeconds` is set');
  if (op === 'Equal') {
    const v = asStr(t.value);
    if (v) errs.each([...path, 'value'], v, isValidLabelValue(v));
  } else if (op === 'Exists') {
    if (asStr(t.value)) errs.invalid([...path, 'operator'], t.value, 'value must be empty when `operator` is \'Exists\'');
  } else errs.notSupported([...path, 'operator'], op, ['Equal', 'Exists']);
  oneOf(t.effect, TAINT_EFFECTS, [...path, 'effect'], errs);
}

function validateNodeSelectorRequirement(req: unknown, path: Path, errs: FieldErrors, fieldsOnly = false): void {
  const r = asObj(req);
  if (!r) return;
  const values = asArr(r.values);
  switch (r.operator) {
    case 'In':
    case 'NotIn':
      if (values.length === 0) errs.required([...path, 'values'], "must be specified when `operator` is 'In' or 'NotIn'");
      break;
    case 'Exists':
    case 'DoesNotExist':
      if (fieldsOnly) errs.notSupported([...path, 'operator'], r.operator, ['In', 'NotIn']);
      else if (values.length > 0) errs.forbidden([...path, 'values'], "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
      break;
    case 'Gt':
    case 'Lt':
      if (fieldsOnly) errs.notSupported([...path, 'operator'], r.operator, ['In', 'NotIn']);
      else if (values.length !== 1) errs.required([...path, 'values'], "must be specified single value when `operator` is 'Lt' or 'Gt'");
      else if (typeof values[0] === 'string' && !/^-?\d+$/.test(values[0])) errs.invalid([...path, 'values', 0], values[0], 'must be an integer');
      break;
    case undefined:
      errs.required([...path, 'operator']);
      break;
    default:
      errs.invalid([...path, 'operator'], r.operator, 'not a valid selector operator', 'use In, NotIn, Exists, DoesNotExist, Gt or Lt');
  }
  const key = asStr(r.key);
  if (key === undefined) errs.required([...path, 'key']);
  else if (!fieldsOnly) errs.each([...path, 'key'], key, isQualifiedName(key));
}

function validateNodeSelectorTerm(term: unknown, path: Path, errs: FieldErrors): void {
  const t = asObj(term);
  if (!t) return;
  asArr(t.matchExpressions).forEach((r, i) => validateNodeSelectorRequirement(r, [...path, 'matchExpressions', i], errs));
  asArr(t.matchFields).forEach((r, i) => validateNodeSelectorRequirement(r, [...path, 'matchFields', i], errs, true));
}

function validateWeight(w: unknown, path: Path, errs: FieldErrors): void {
  if (typeof w === 'number' && (w < 1 || w > 100)) errs.invalid(path, w, 'must be in the range 1-100');
}

function validatePodAffinityTerm(term: unknown, path: Path, errs: FieldErrors): void {
  const t = asObj(term);
  if (!t) return;
  validateLabelSelector(t.labelSelector, [...path, 'labelSelector'], errs);
  validateLabelSelector(t.namespaceSelector, [...path, 'namespaceSelector'], errs);
  asArr(t.namespaces).forEach((n, i) => {
    if (typeof n === 'string') errs.each([...path, 'namespaces', i], n, isDNS1123Label(n));
  });
  const tk = asStr(t.topologyKey);
  if (!tk) errs.required([...path, 'topologyKey'], 'can not be empty');
  else errs.each([...path, 'topologyKey'], tk, isQualifiedName(tk));
}

function validateAffinity(aff: unknown, path: Path, errs: FieldErrors): void {
  const a = asObj(aff);
  if (!a) return;
  const na = asObj(a.nodeAffinity);
  if (na) {
    const req = asObj(na.requiredDuringSchedulingIgnoredDuringExecution);
    if (req) {
      const p: Path = [...path, 'nodeAffinity', 'requiredDuringSchedulingIgnoredDuringExecution', 'nodeSelectorTerms'];
      const terms = asArr(req.nodeSelectorTerms);
      if (isMissingList(req.nodeSelectorTerms)) errs.required(p, 'must have at least one node selector term');
      terms.forEach((t, i) => validateNodeSelectorTerm(t, [...p, i], errs));
    }
    asArr(na.preferredDuringSchedulingIgnoredDuringExecution).forEach((pref, i) => {
      const p = asObj(pref);
      if (!p) return;
      const pp: Path = [...path, 'nodeAffinity', 'preferredDuringSchedulingIgnoredDuringExecution', i];
      validateWeight(p.weight, [...pp, 'weight'], errs);
      validateNodeSelectorTerm(p.preference, [...pp, 'preference'], errs);
    });
  }
  for (const kind of ['podAffinity', 'podAntiAffinity'] as const) {
    const pa = asObj(a[kind]);
    if (!pa) continue;
    asArr(pa.requiredDuringSchedulingIgnoredDuringExecution).forEach((t, i) =>
      validatePodAffinityTerm(t, [...path, kind, 'requiredDuringSchedulingIgnoredDuringExecution', i], errs),
    );
    asArr(pa.preferredDuringSchedulingIgnoredDuringExecution).forEach((w, i) => {
      const wt = asObj(w);
      if (!wt) return;
      const pp: Path = [...path, kind, 'preferredDuringSchedulingIgnoredDuringExecution', i];
      validateWeight(wt.weight, [...pp, 'weight'], errs);
      validatePodAffinityTerm(wt.podAffinityTerm, [...pp, 'podAffinityTerm'], errs);
    });
  }
}

function validateTopologySpread(list: unknown, path: Path, errs: FieldErrors): void {
  const seen = new Set<string>();
  asArr(list).forEach((c, i) => {
    const t = asObj(c);
    if (!t) return;
    const p: Path = [...path, i];
    if (typeof t.maxSkew === 'number' && t.maxSkew <= 0) errs.invalid([...p, 'maxSkew'], t.maxSkew, 'must be greater than zero');
    else if (t.maxSkew === undefined) errs.invalid([...p, 'maxSkew'], 0, 'must be greater than zero');
    const tk = asStr(t.topologyKey);
    if (!tk) errs.required([...p, 'topologyKey'], 'can not be empty');
    else errs.each([...p, 'topologyKey'], tk, isQualifiedName(tk));
    oneOf(t.whenUnsatisfiable, ['DoNotSchedule', 'ScheduleAnyway'], [...p, 'whenUnsatisfiable'], errs, true);
    if (t.minDomains != null) {
      if (typeof t.minDomains === 'number' && t.minDomains <= 0) errs.invalid([...p, 'minDomains'], t.minDomains, 'must be greater than 0');
      else if (t.whenUnsatisfiable !== 'DoNotSchedule')
        errs.invalid([...p, 'minDomains'], t.minDomains, 'can only use minDomains if whenUnsatisfiable=DoNotSchedule');
    }
    oneOf(t.nodeAffinityPolicy, ['Honor', 'Ignore'], [...p, 'nodeAffinityPolicy'], errs);
    oneOf(t.nodeTaintsPolicy, ['Honor', 'Ignore'], [...p, 'nodeTaintsPolicy'], errs);
    validateLabelSelector(t.labelSelector, [...p, 'labelSelector'], errs);
    const key = `${tk}/${String(t.whenUnsatisfiable)}`;
    if (tk && seen.has(key)) errs.duplicate(p, `{${tk}, ${String(t.whenUnsatisfiable)}}`);
    seen.add(key);
  });
}
