// `kubepath get`: objects as `kubectl get` prints them (columns, -o wide, -o yaml|json).
import type { Node, Pod, Service, Endpoints } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Ingress } from 'kubernetes-types/networking/v1.js';
import { stringify } from 'yaml';
import type { KObject, Stored } from '../cluster/object.js';
import { formatColumns } from './table.js';
import { humanDuration } from './age.js';
import { formatSelector } from '../cluster/labels.js';

export type GetFormat = 'text' | 'wide' | 'yaml' | 'json';

export const GET_KINDS: Record<string, string> = {
  nodes: 'Node',
  node: 'Node',
  no: 'Node',
  pods: 'Pod',
  pod: 'Pod',
  po: 'Pod',
  services: 'Service',
  service: 'Service',
  svc: 'Service',
  endpointslices: 'EndpointSlice',
  endpointslice: 'EndpointSlice',
  endpoints: 'Endpoints',
  ep: 'Endpoints',
  ingresses: 'Ingress',
  ingress: 'Ingress',
  ing: 'Ingress',
  deployments: 'Deployment',
  deployment: 'Deployment',
  deploy: 'Deployment',
  replicasets: 'ReplicaSet',
  rs: 'ReplicaSet',
  statefulsets: 'StatefulSet',
  sts: 'StatefulSet',
  daemonsets: 'DaemonSet',
  ds: 'DaemonSet',
  jobs: 'Job',
  namespaces: 'Namespace',
  ns: 'Namespace',
  networkpolicies: 'NetworkPolicy',
  netpol: 'NetworkPolicy',
};

interface Printer {
  columns: string[];
  wide: string[];
  row(o: KObject, age: string): string[];
  wideRow(o: KObject): string[];
}

/** Render objects of one kind; `nowMs` is the virtual time AGE is measured from. */
export function renderGet(kind: string, objects: KObject[], format: GetFormat, nowMs: number, showNamespace: boolean): string {
  if (format === 'json') return JSON.stringify(asList(objects), null, 2);
  if (format === 'yaml') return stringify(asList(objects), { lineWidth: 0 }).trimEnd();
  if (objects.length === 0) return 'No resources found.';
  const p = PRINTERS[kind] ?? genericPrinter;
  const nsCol = showNamespace && objects.some((o) => o.metadata.namespace);
  const header = [...(nsCol ? ['NAMESPACE'] : []), ...p.columns, ...(format === 'wide' ? p.wide : [])];
  const rows = objects.map((o) => {
    const age = humanDuration((nowMs - Date.parse(o.metadata.creationTimestamp ?? new Date(nowMs).toISOString())) / 1000);
    return [...(nsCol ? [o.metadata.namespace ?? ''] : []), ...p.row(o, age), ...(format === 'wide' ? p.wideRow(o) : [])];
  });
  return formatColumns(header, rows);
}

function asList(objects: KObject[]): unknown {
  return { apiVersion: 'v1', kind: 'List', items: objects.map(canonicalOrder), metadata: { resourceVersion: '' } };
}

// The order the API server serializes ObjectMeta in (Go struct order), so output reads like kubectl's.
const META_ORDER = ['name', 'generateName', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers'];

function canonicalOrder(o: KObject): KObject {
  const meta: Record<string, unknown> = {};
  const m = o.metadata as Record<string, unknown>;
  for (const k of META_ORDER) if (m[k] !== undefined) meta[k] = m[k];
  for (const k of Object.keys(m)) if (!(k in meta)) meta[k] = m[k];
  const { apiVersion, kind, metadata: _m, ...rest } = o;
  return { apiVersion, kind, metadata: meta, ...rest } as KObject;
}

const genericPrinter: Printer = {
  columns: ['NAME', 'AGE'],
  wide: [],
  row: (o, age) => [o.metadata.name ?? '', age],
  wideRow: () => [],
};

const nodePrinter: Printer = {
  columns: ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION'],
  wide: ['INTERNAL-IP', 'EXTERNAL-IP', 'OS-IMAGE', 'KERNEL-VERSION', 'CONTAINER-RUNTIME'],
  row(o, age) {
    const n = o as Stored<Node>;
    const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
    let status = ready?.status === 'True' ? 'Ready' : ready?.status === 'False' ? 'NotReady' : 'Unknown';
    if (n.spec?.unschedulable) status += ',SchedulingDisabled';
    const roles = Object.keys(n.metadata.labels ?? {})
      .filter((k) => k.startsWith('node-role.kubernetes.io/'))
      .map((k) => k.slice('node-role.kubernetes.io/'.length))
      .sort();
    return [n.metadata.name!, status, roles.length ? roles.join(',') : '<none>', age, n.status?.nodeInfo?.kubeletVersion ?? ''];
  },
  wideRow(o) {
    const n = o as Stored<Node>;
    const addr = (t: string) => n.status?.addresses?.find((a) => a.type === t)?.address ?? '<none>';
    const i = n.status?.nodeInfo;
    return [addr('InternalIP'), addr('ExternalIP'), i?.osImage || '<unknown>', i?.kernelVersion || '<unknown>', i?.containerRuntimeVersion || '<unknown>'];
  },
};

const podPrinter: Printer = {
  columns: ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'],
  wide: ['IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES'],
  row(o, age) {
    const p = o as Stored<Pod>;
    const total = p.spec?.containers?.length ?? 0;
    const ready = p.status?.containerStatuses?.filter((c) => c.ready).length ?? 0;
    const restarts = p.status?.containerStatuses?.reduce((n, c) => n + (c.restartCount ?? 0), 0) ?? 0;
    return [p.metadata.name!, `${ready}/${total}`, podStatus(p), String(restarts), age];
  },
  wideRow(o) {
    const p = o as Stored<Pod>;
    return [p.status?.podIP ?? '<none>', p.spec?.nodeName ?? '<none>', p.status?.nominatedNodeName ?? '<none>', '<none>'];
  },
};

// kubectl's printPod reason logic, reduced to what the simulation produces.
function podStatus(p: Pod): string {
  if (p.metadata?.deletionTimestamp) return 'Terminating';
  let reason = p.status?.reason ?? p.status?.phase ?? 'Pending';
  if (p.status?.phase === 'Succeeded') reason = 'Completed';
  for (const c of p.status?.containerStatuses ?? []) {
    if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
    else if (c.state?.terminated?.reason) reason = c.state.terminated.reason;
  }
  return reason;
}

const servicePrinter: Printer = {
  columns: ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE'],
  wide: ['SELECTOR'],
  row(o, age) {
    const s = o as Stored<Service>;
    const type = s.spec?.type ?? 'ClusterIP';
    const lb = s.status?.loadBalancer?.ingress?.map((i) => i.ip ?? i.hostname ?? '').filter(Boolean) ?? [];
    const external =
      type === 'ExternalName'
        ? (s.spec?.externalName ?? '<none>')
        : [...(s.spec?.externalIPs ?? []), ...lb].join(',') || (type === 'LoadBalancer' ? '<pending>' : '<none>');
    const ports =
      (s.spec?.ports ?? [])
        .map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`)
        .join(',') || '<none>';
    return [s.metadata.name!, type, s.spec?.clusterIP ?? '<none>', external, ports, age];
  },
  wideRow(o) {
    const sel = (o as Stored<Service>).spec?.selector;
    return [sel && Object.keys(sel).length ? formatSelector(sel) : '<none>'];
  },
};

const endpointSlicePrinter: Printer = {
  columns: ['NAME', 'ADDRESSTYPE', 'PORTS', 'ENDPOINTS', 'AGE'],
  wide: [],
  row(o, age) {
    const s = o as Stored<EndpointSlice>;
    const ports = s.ports?.length ? s.ports.map((p) => (p.port === undefined ? '<unset>' : String(p.port))).join(',') : '<unset>';
    const addrs = (s.endpoints ?? []).flatMap((e) => e.addresses);
    return [s.metadata.name!, s.addressType, ports, firstThree(addrs, '<unset>'), age];
  },
  wideRow: () => [],
};

const endpointsPrinter: Printer = {
  columns: ['NAME', 'ENDPOINTS', 'AGE'],
  wide: [],
  row(o, age) {
    const e = o as Stored<Endpoints>;
    const list: string[] = [];
    for (const ss of e.subsets ?? []) {
      for (const a of ss.addresses ?? []) {
        if (!ss.ports?.length) list.push(a.ip);
        for (const p of ss.ports ?? []) list.push(`${a.ip}:${p.port}`);
      }
    }
    return [e.metadata.name!, firstThree(list, '<none>'), age];
  },
  wideRow: () => [],
};

const ingressPrinter: Printer = {
  columns: ['NAME', 'CLASS', 'HOSTS', 'ADDRESS', 'PORTS', 'AGE'],
  wide: [],
  row(o, age) {
    const i = o as Stored<Ingress>;
    const hosts = (i.spec?.rules ?? []).map((r) => r.host ?? '*');
    const addr = i.status?.loadBalancer?.ingress?.map((x) => x.ip ?? x.hostname).join(',') ?? '';
    const ports = i.spec?.tls?.length ? '80, 443' : '80';
    return [i.metadata.name!, i.spec?.ingressClassName ?? '<none>', hosts.length ? hosts.join(',') : '*', addr, ports, age];
  },
  wideRow: () => [],
};

type Workload = KObject & {
  spec?: { replicas?: number; selector?: { matchLabels?: Record<string, string> }; template?: { spec?: { containers?: { name: string; image?: string }[]; nodeSelector?: Record<string, string> } }; completions?: number };
  status?: Record<string, number | undefined> & { conditions?: { type: string; status: string }[] };
};

function containersAndImages(o: Workload): string[] {
  const cs = o.spec?.template?.spec?.containers ?? [];
  return [cs.map((c) => c.name).join(','), cs.map((c) => c.image ?? '').join(',')];
}

function workloadSelector(o: Workload): string {
  return formatSelector(o.spec?.selector as Parameters<typeof formatSelector>[0]);
}

const n = (v: number | undefined) => String(v ?? 0);

const deploymentPrinter: Printer = {
  columns: ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE'],
  wide: ['CONTAINERS', 'IMAGES', 'SELECTOR'],
  row(o, age) {
    const d = o as Workload;
    return [d.metadata.name!, `${n(d.status?.['readyReplicas'])}/${n(d.spec?.replicas ?? 1)}`, n(d.status?.['updatedReplicas']), n(d.status?.['availableReplicas']), age];
  },
  wideRow: (o) => [...containersAndImages(o as Workload), workloadSelector(o as Workload)],
};

const replicaSetPrinter: Printer = {
  columns: ['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE'],
  wide: ['CONTAINERS', 'IMAGES', 'SELECTOR'],
  row(o, age) {
    const r = o as Workload;
    return [r.metadata.name!, n(r.spec?.replicas ?? 1), n(r.status?.['replicas']), n(r.status?.['readyReplicas']), age];
  },
  wideRow: (o) => [...containersAndImages(o as Workload), workloadSelector(o as Workload)],
};

const statefulSetPrinter: Printer = {
  columns: ['NAME', 'READY', 'AGE'],
  wide: ['CONTAINERS', 'IMAGES'],
  row: (o, age) => [o.metadata.name!, `${n((o as Workload).status?.['readyReplicas'])}/${n((o as Workload).spec?.replicas ?? 1)}`, age],
  wideRow: (o) => containersAndImages(o as Workload),
};

const daemonSetPrinter: Printer = {
  columns: ['NAME', 'DESIRED', 'CURRENT', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'NODE SELECTOR', 'AGE'],
  wide: ['CONTAINERS', 'IMAGES', 'SELECTOR'],
  row(o, age) {
    const d = o as Workload;
    const st = d.status ?? {};
    const ns = d.spec?.template?.spec?.nodeSelector;
    return [d.metadata.name!, n(st['desiredNumberScheduled']), n(st['currentNumberScheduled']), n(st['numberReady']), n(st['updatedNumberScheduled']), n(st['numberAvailable']), ns ? formatSelector(ns) : '<none>', age];
  },
  wideRow: (o) => [...containersAndImages(o as Workload), workloadSelector(o as Workload)],
};

const jobPrinter: Printer = {
  columns: ['NAME', 'STATUS', 'COMPLETIONS', 'AGE'],
  wide: ['CONTAINERS', 'IMAGES', 'SELECTOR'],
  row(o, age) {
    const j = o as Workload;
    const cond = (t: string) => j.status?.conditions?.some((c) => c.type === t && c.status === 'True');
    const status = cond('Complete') ? 'Complete' : cond('Failed') ? 'Failed' : 'Running';
    return [j.metadata.name!, status, `${n(j.status?.['succeeded'])}/${n(j.spec?.completions ?? 1)}`, age];
  },
  wideRow: (o) => [...containersAndImages(o as Workload), workloadSelector(o as Workload)],
};

const namespacePrinter: Printer = {
  columns: ['NAME', 'STATUS', 'AGE'],
  wide: [],
  row: (o, age) => [o.metadata.name!, o.metadata.deletionTimestamp ? 'Terminating' : 'Active', age],
  wideRow: () => [],
};

function firstThree(list: string[], none: string): string {
  if (list.length === 0) return none;
  const shown = list.slice(0, 3).join(',');
  return list.length > 3 ? `${shown} + ${list.length - 3} more...` : shown;
}

const PRINTERS: Record<string, Printer> = {
  Node: nodePrinter,
  Pod: podPrinter,
  Service: servicePrinter,
  EndpointSlice: endpointSlicePrinter,
  Endpoints: endpointsPrinter,
  Ingress: ingressPrinter,
  Deployment: deploymentPrinter,
  ReplicaSet: replicaSetPrinter,
  StatefulSet: statefulSetPrinter,
  DaemonSet: daemonSetPrinter,
  Job: jobPrinter,
  Namespace: namespacePrinter,
};
