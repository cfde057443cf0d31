// Deployment, ReplicaSet, StatefulSet, DaemonSet, Job and the pod template they carry.
import { describe, expect, test } from 'vitest';
import { brief, errors, yaml } from './helpers.js';

/** A workload whose `spec:` is on line 5, whose pod spec content starts at line 12 and extra spec fields at line 15. */
const workload = (kind: string, podSpec: string, extraSpec = '', apiVersion = 'apps/v1', labels = '{app: web}') =>
  `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: ${labels}\n    spec:\n${podSpec}${extraSpec}`;
const container = '      containers:\n        - name: web\n          image: nginx\n';

describe('Deployment', () => {
  test('a minimal Deployment passes', () => {
    expect(errors(workload('Deployment', container))).toEqual([]);
  });
  test('the selector is required', () => {
    const text = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n        - {name: web, image: nginx}\n';
    expect(brief(errors(text))).toEqual(['spec.selector@5: Required value']);
  });
  test('an empty selector is invalid', () => {
    const text = workload('Deployment', container).replace('matchLabels: {app: web}', 'matchLabels: {}');
    expect(brief(errors(text))).toEqual(['spec.selector@6: Invalid value: {"matchLabels":{}}: empty selector is invalid for deployment']);
  });
  test('the selector must match the template labels', () => {
    expect(brief(errors(workload('Deployment', container, '', 'apps/v1', '{app: frontend}')))).toEqual([
      'spec.template.metadata.labels@10: Invalid value: {"app":"frontend"}: `selector` does not match template `labels`',
    ]);
  });
  test('matchExpressions count in the selector/template check', () => {
    const text = workload('Deployment', container).replace('matchLabels: {app: web}', 'matchExpressions: [{key: app, operator: In, values: [api]}]');
    expect(errors(text).map((d) => d.field)).toEqual(['spec.template.metadata.labels']);
  });
  test('selector operators and values follow the LabelSelector rules', () => {
    const text = workload('Deployment', container).replace(
      'matchLabels: {app: web}',
      'matchLabels: {app: web}\n    matchExpressions:\n      - {key: tier, operator: In}\n      - {key: env, operator: Exists, values: [x]}\n      - {key: zone, operator: Near, values: [a]}',
    );
    expect(brief(errors(text))).toEqual([
      "spec.selector.matchExpressions[0].values@9: Required value: must be specified when `operator` is 'In' or 'NotIn'",
      "spec.selector.matchExpressions[1].values@10: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
      'spec.selector.matchExpressions[2].operator@11: Invalid value: "Near": not a valid selector operator',
    ]);
  });
  test('the template restartPolicy must be Always', () => {
    expect(brief(errors(workload('Deployment', `      restartPolicy: Never\n${container}`)))).toEqual([
      'spec.template.spec.restartPolicy@12: Unsupported value: "Never": supported values: "Always"',
    ]);
  });
  test('negative replicas are refused', () => {
    expect(brief(errors(workload('Deployment', container).replace('spec:\n  selector', 'spec:\n  replicas: -1\n  selector')))).toEqual([
      'spec.replicas@6: Invalid value: -1: must be greater than or equal to 0',
    ]);
  });
  test('strategy type must be RollingUpdate or Recreate, and Recreate takes no rollingUpdate', () => {
    expect(brief(errors(workload('Deployment', container, '  strategy:\n    type: BlueGreen\n')))).toEqual([
      'spec.strategy.type@16: Unsupported value: "BlueGreen": supported values: "Recreate", "RollingUpdate"',
    ]);
    expect(brief(errors(workload('Deployment', container, '  strategy:\n    type: Recreate\n    rollingUpdate: {maxSurge: 1}\n')))).toEqual([
      "spec.strategy.rollingUpdate@17: Forbidden: may not be specified when strategy `type` is 'Recreate'",
    ]);
  });
  test('maxUnavailable and maxSurge may not both be 0, and percentages are checked', () => {
    expect(brief(errors(workload('Deployment', container, '  strategy:\n    rollingUpdate: {maxSurge: 0, maxUnavailable: 0}\n')))).toEqual([
      'spec.strategy.rollingUpdate.maxUnavailable@16: Invalid value: 0: may not be 0 when `maxSurge` is 0',
    ]);
    expect(brief(errors(workload('Deployment', container, '  strategy:\n    rollingUpdate: {maxSurge: 10percent, maxUnavailable: 120%}\n')))).toEqual([
      "spec.strategy.rollingUpdate.maxSurge@16: Invalid value: \"10percent\": a valid percent string must be a numeric string followed by an ending '%'",
      'spec.strategy.rollingUpdate.maxUnavailable@16: Invalid value: "120%": must not be greater than 100%',
    ]);
  });
  test('progressDeadlineSeconds must exceed minReadySeconds', () => {
    expect(brief(errors(workload('Deployment', container, '  minReadySeconds: 30\n  progressDeadlineSeconds: 30\n')))).toEqual([
      'spec.progressDeadlineSeconds@16: Invalid value: 30: must be greater than minReadySeconds',
    ]);
  });
  test('extensions/v1beta1 Deployment is an error with the right apiVersion as hint', () => {
    const e = errors(workload('Deployment', container, '', 'extensions/v1beta1'));
    expect(brief(e)).toEqual(['apiVersion@1: Deployment is no longer served at extensions/v1beta1: that version was removed in Kubernetes 1.16']);
    expect(e[0]!.hint).toBe('use apiVersion: apps/v1; it also requires spec.selector');
  });
});

describe('ReplicaSet, StatefulSet, DaemonSet', () => {
  test('a ReplicaSet needs a selector matching its template', () => {
    expect(errors(workload('ReplicaSet', container, '', 'apps/v1', '{app: x}')).map((d) => d.field)).toEqual(['spec.template.metadata.labels']);
  });
  test('a StatefulSet with a governing Service passes; without serviceName it only warns', () => {
    expect(errors(workload('StatefulSet', container, '  serviceName: web\n'))).toEqual([]);
  });
  test('StatefulSet policies are checked', () => {
    expect(brief(errors(workload('StatefulSet', container, '  serviceName: web\n  podManagementPolicy: Fast\n  updateStrategy:\n    type: OnDelete\n    rollingUpdate: {partition: -1}\n')))).toEqual([
      'spec.podManagementPolicy@16: Unsupported value: "Fast": supported values: "OrderedReady", "Parallel"',
      "spec.updateStrategy.rollingUpdate@19: Invalid value: {\"partition\":-1}: only allowed for updateStrategy 'RollingUpdate'",
      'spec.updateStrategy.rollingUpdate.partition@19: Invalid value: -1: must be greater than or equal to 0',
    ]);
  });
  test('a DaemonSet with an empty selector is refused', () => {
    const text = workload('DaemonSet', container).replace('matchLabels: {app: web}', 'matchLabels: {}');
    expect(errors(text).map((d) => d.message)).toEqual(['Invalid value: {"matchLabels":{}}: empty selector is invalid for daemonset']);
  });
  test('a DaemonSet update strategy type is checked', () => {
    expect(errors(workload('DaemonSet', container, '  updateStrategy: {type: Surge}\n')).map((d) => d.field)).toEqual(['spec.updateStrategy.type']);
  });
});

describe('Job', () => {
  const job = (podSpec: string, extra = '') =>
    `apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\nspec:\n${extra}  template:\n    spec:\n${podSpec}`;
  test('a Job with restartPolicy Never passes', () => {
    expect(errors(job(`      restartPolicy: Never\n${container}`))).toEqual([]);
  });
  test('a Job without restartPolicy is refused (the template default Always is not allowed)', () => {
    expect(brief(errors(job(container)))).toEqual(['spec.template.spec.restartPolicy@7: Required value: valid values: "OnFailure", "Never"']);
  });
  test('restartPolicy Always is unsupported for a Job', () => {
    expect(brief(errors(job(`      restartPolicy: Always\n${container}`)))).toEqual([
      'spec.template.spec.restartPolicy@8: Unsupported value: "Always": supported values: "OnFailure", "Never"',
    ]);
  });
  test('a selector without manualSelector is refused', () => {
    expect(errors(job(`      restartPolicy: Never\n${container}`, '  selector: {matchLabels: {a: b}}\n')).map((d) => d.message)).toEqual([
      'Invalid value: {"matchLabels":{"a":"b"}}: `selector` not auto-generated',
    ]);
  });
  test('Indexed completion needs completions', () => {
    expect(errors(job(`      restartPolicy: Never\n${container}`, '  completionMode: Indexed\n')).map((d) => d.field)).toEqual(['spec.completions']);
  });
});

describe('pod spec', () => {
  const pod = (spec: string) => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n${spec}`;
  test('containers are required', () => {
    expect(brief(errors(pod('  restartPolicy: Always\n')))).toEqual(['spec.containers@5: Required value']);
  });
  test('container name and image are required', () => {
    expect(brief(errors(pod('  containers:\n    - ports: [{containerPort: 80}]\n')))).toEqual(['spec.containers[0].name@7: Required value', 'spec.containers[0].image@7: Required value']);
  });
  test('container names are DNS labels and unique', () => {
    expect(brief(errors(pod('  containers:\n    - {name: web, image: a}\n    - {name: web, image: b}\n    - {name: Web, image: c}\n')))).toEqual([
      'spec.containers[1].name@8: Duplicate value: "web"',
      expect.stringMatching(/^spec\.containers\[2\]\.name@9: Invalid value: "Web": a lowercase RFC 1123 label/),
    ]);
  });
  test('container ports: name is an IANA_SVC_NAME, containerPort required and in range, protocol supported, names unique', () => {
    const text = yaml`
      apiVersion: v1
      kind: Pod
      metadata:
        name: p
      spec:
        containers:
          - name: web
            image: nginx
            ports:
              - name: this-is-too-long-a-name
                containerPort: 80
              - name: http
              - name: metrics
                containerPort: 70000
                protocol: ICMP
              - name: metrics
                containerPort: 9091
    `;
    expect(brief(errors(text))).toEqual([
      'spec.containers[0].ports[0].name@10: Invalid value: "this-is-too-long-a-name": must be no more than 15 characters',
      'spec.containers[0].ports[1].containerPort@12: Required value',
      'spec.containers[0].ports[2].containerPort@14: Invalid value: 70000: must be between 1 and 65535, inclusive',
      'spec.containers[0].ports[2].protocol@15: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
      'spec.containers[0].ports[3].name@16: Duplicate value: "metrics"',
    ]);
  });
  test('with hostNetwork the hostPort must equal the containerPort', () => {
    expect(errors(pod('  hostNetwork: true\n  containers:\n    - name: a\n      image: b\n      ports: [{containerPort: 80, hostPort: 8080}]\n')).map((d) => d.message)).toEqual([
      'Invalid value: 80: must match `hostPort` when `hostNetwork` is true',
    ]);
  });
  test('resource quantities are parsed and requests may not exceed limits', () => {
    const text = pod('  containers:\n    - name: a\n      image: b\n      resources:\n        requests: {cpu: 2, memory: 1GB}\n        limits: {cpu: 500m}\n');
    expect(brief(errors(text))).toEqual([
      'spec.containers[0].resources.requests.cpu@10: Invalid value: 2: must be less than or equal to cpu limit of 500m',
      "spec.containers[0].resources.requests.memory@10: Invalid value: \"1GB\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    ]);
  });
  test('probes need exactly one handler, and liveness successThreshold must be 1', () => {
    const text = pod('  containers:\n    - name: a\n      image: b\n      livenessProbe:\n        successThreshold: 2\n      readinessProbe:\n        httpGet: {port: 80}\n        tcpSocket: {port: 80}\n');
    expect(brief(errors(text))).toEqual([
      'spec.containers[0].livenessProbe@9: Required value: must specify a handler type',
      'spec.containers[0].livenessProbe.successThreshold@10: Invalid value: 2: must be 1',
      'spec.containers[0].readinessProbe.tcpSocket@13: Forbidden: may not specify more than 1 handler type',
    ]);
  });
  test('a named probe port must be an IANA_SVC_NAME', () => {
    const e = errors(pod('  containers:\n    - name: a\n      image: b\n      readinessProbe:\n        httpGet: {port: HTTP}\n'));
    expect(new Set(e.map((d) => d.field))).toEqual(new Set(['spec.containers[0].readinessProbe.httpGet.port']));
    expect(e.map((d) => d.message)).toContain('Invalid value: "HTTP": must contain at least one letter (a-z)');
  });
  test('volume mounts must name a declared volume', () => {
    const text = pod('  volumes:\n    - name: data\n      emptyDir: {}\n  containers:\n    - name: a\n      image: b\n      volumeMounts:\n        - {name: cache, mountPath: /cache}\n');
    expect(brief(errors(text))).toEqual(['spec.containers[0].volumeMounts[0].name@13: Not found: "cache"']);
  });
  test('a volume needs exactly one source', () => {
    expect(errors(pod('  volumes:\n    - name: data\n  containers:\n    - {name: a, image: b}\n')).map((d) => d.message)).toEqual(['Required value: must specify a volume type']);
  });
  test('tolerations: effects, operators and tolerationSeconds rules', () => {
    const text = yaml`
      apiVersion: v1
      kind: Pod
      metadata:
        name: p
      spec:
        containers: [{name: a, image: b}]
        tolerations:
          - {key: a, operator: Exists, value: x}
          - {key: b, effect: NoSchedule, tolerationSeconds: 30}
          - {key: c, effect: Sometimes}
          - {operator: Equal, value: v}
    `;
    expect(brief(errors(text))).toEqual([
      "spec.tolerations[0].operator@8: Invalid value: \"x\": value must be empty when `operator` is 'Exists'",
      "spec.tolerations[1].effect@9: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set",
      'spec.tolerations[2].effect@10: Unsupported value: "Sometimes": supported values: "NoExecute", "NoSchedule", "PreferNoSchedule"',
      'spec.tolerations[3].operator@11: Invalid value: "Equal": operator must be Exists when `key` is empty, which means "match all values and all keys"',
    ]);
  });
  test('node affinity needs terms and valid operators; pod affinity needs a topologyKey', () => {
    const text = yaml`
      apiVersion: v1
      kind: Pod
      metadata:
        name: p
      spec:
        containers: [{name: a, image: b}]
        affinity:
          nodeAffinity:
            requiredDuringSchedulingIgnoredDuringExecution:
              nodeSelectorTerms:
                - matchExpressions:
                    - {key: cpu, operator: Gt, values: [a, b]}
          podAntiAffinity:
            requiredDuringSchedulingIgnoredDuringExecution:
              - labelSelector: {matchLabels: {app: web}}
    `;
    expect(brief(errors(text))).toEqual([
      "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values@12: Required value: must be specified single value when `operator` is 'Lt' or 'Gt'",
      'spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey@15: Required value: can not be empty',
    ]);
  });
  test('topology spread constraints: maxSkew, whenUnsatisfiable', () => {
    const text = pod('  containers: [{name: a, image: b}]\n  topologySpreadConstraints:\n    - {maxSkew: 0, topologyKey: zone, whenUnsatisfiable: Maybe}\n');
    expect(brief(errors(text))).toEqual([
      'spec.topologySpreadConstraints[0].maxSkew@8: Invalid value: 0: must be greater than zero',
      'spec.topologySpreadConstraints[0].whenUnsatisfiable@8: Unsupported value: "Maybe": supported values: "DoNotSchedule", "ScheduleAnyway"',
    ]);
  });
  test('env names and valueFrom sources are checked', () => {
    const text = pod('  containers:\n    - name: a\n      image: b\n      env:\n        - {name: 1BAD, value: x}\n        - name: GOOD\n          value: x\n          valueFrom: {fieldRef: {fieldPath: metadata.name}}\n');
    expect(errors(text).map((d) => `${d.field}@${d.line}`)).toEqual(['spec.containers[0].env[0].name@10', 'spec.containers[0].env[1].valueFrom@13']);
  });
  test('dnsPolicy None requires dnsConfig', () => {
    expect(errors(pod('  dnsPolicy: None\n  containers: [{name: a, image: b}]\n')).map((d) => d.field)).toEqual(['spec.dnsConfig']);
  });
});
