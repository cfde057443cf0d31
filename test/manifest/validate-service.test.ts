// Service validation: every rule fails on a fixture with the exact field path and line.
import { describe, expect, test } from 'vitest';
import { clusterConfig } from '../../src/cluster/config.js';
import { brief, errors } from './helpers.js';

/** A Service whose spec lines start at line 6. */
const svc = (spec: string, name = 'web') => `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n${spec}`;

describe('Service: valid shapes', () => {
  test.each([
    ['ClusterIP', '  selector: {app: web}\n  ports:\n    - port: 80\n      targetPort: 8080\n'],
    ['NodePort with nodePort in range', '  type: NodePort\n  ports:\n    - port: 80\n      nodePort: 30080\n'],
    ['LoadBalancer Local with healthCheckNodePort', '  type: LoadBalancer\n  externalTrafficPolicy: Local\n  healthCheckNodePort: 32000\n  ports:\n    - port: 443\n'],
    ['headless without ports', '  clusterIP: None\n  selector: {app: db}\n'],
    ['ExternalName with a trailing dot', '  type: ExternalName\n  externalName: db.example.com.\n'],
    ['ClientIP affinity with timeout', '  sessionAffinity: ClientIP\n  sessionAffinityConfig:\n    clientIP:\n      timeoutSeconds: 86400\n  ports:\n    - port: 80\n'],
    ['ClusterIP with externalIPs may set externalTrafficPolicy', '  externalIPs: [203.0.113.7]\n  externalTrafficPolicy: Local\n  ports:\n    - port: 80\n'],
    ['named targetPort and two named ports', '  ports:\n    - name: http\n      port: 80\n      targetPort: http\n    - name: https\n      port: 443\n      targetPort: 8443\n'],
    ['same port number for TCP and UDP', '  ports:\n    - name: dns\n      port: 53\n      protocol: UDP\n    - name: dns-tcp\n      port: 53\n      protocol: TCP\n'],
    ['a clusterIP inside the service CIDR', '  clusterIP: 10.96.0.10\n  ports:\n    - port: 53\n'],
  ])('%s passes', (_, spec) => {
    expect(errors(svc(spec))).toEqual([]);
  });
});

describe('Service: names', () => {
  test('a Service name must be a DNS-1035 label (no leading digit)', () => {
    expect(brief(errors(svc('  ports:\n    - port: 80\n', '1web')))).toEqual([
      expect.stringMatching(/^metadata\.name@4: Invalid value: "1web": a DNS-1035 label must consist of/),
    ]);
  });
  test('a dotted name is valid for a Deployment but not for a Service', () => {
    expect(brief(errors(svc('  ports:\n    - port: 80\n', 'web.v2')))).toHaveLength(1);
  });
});

describe('Service: ports', () => {
  test('ports are required unless headless or ExternalName', () => {
    expect(brief(errors(svc('  selector: {app: web}\n')))).toEqual(['spec.ports@5: Required value']);
  });
  test('port must be 1..65535', () => {
    expect(brief(errors(svc('  ports:\n    - port: 70000\n')))).toEqual(['spec.ports[0].port@7: Invalid value: 70000: must be between 1 and 65535, inclusive']);
  });
  test('port is required in each entry', () => {
    expect(brief(errors(svc('  ports:\n    - targetPort: 80\n')))).toEqual(['spec.ports[0].port@7: Required value']);
  });
  test('names are required when there is more than one port', () => {
    expect(brief(errors(svc('  ports:\n    - port: 80\n    - name: b\n      port: 81\n')))).toEqual(['spec.ports[0].name@7: Required value']);
  });
  test('port names must be unique', () => {
    expect(brief(errors(svc('  ports:\n    - name: http\n      port: 80\n    - name: http\n      port: 81\n')))).toEqual(['spec.ports[1].name@9: Duplicate value: "http"']);
  });
  test('a Service port name is a DNS-1123 label (upstream), so a 20-character name is valid but an upper-case one is not', () => {
    expect(errors(svc('  ports:\n    - name: a-very-long-port-name\n      port: 80\n'))).toEqual([]);
    expect(brief(errors(svc('  ports:\n    - name: HTTP\n      port: 80\n')))[0]).toMatch(/^spec\.ports\[0\]\.name@7: Invalid value: "HTTP": a lowercase RFC 1123 label/);
  });
  test('protocol must be TCP, UDP or SCTP', () => {
    expect(brief(errors(svc('  ports:\n    - port: 80\n      protocol: HTTP\n')))).toEqual([
      'spec.ports[0].protocol@8: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
    ]);
  });
  test('targetPort as a number must be a valid port', () => {
    expect(brief(errors(svc('  ports:\n    - port: 80\n      targetPort: 99999\n')))).toEqual(['spec.ports[0].targetPort@8: Invalid value: 99999: must be between 1 and 65535, inclusive']);
  });
  test('targetPort as a name must be an IANA_SVC_NAME', () => {
    expect(brief(errors(svc('  ports:\n    - port: 80\n      targetPort: web--port\n')))).toEqual(['spec.ports[0].targetPort@8: Invalid value: "web--port": must not contain consecutive hyphens']);
    expect(brief(errors(svc('  ports:\n    - port: 80\n      targetPort: a-name-longer-than-15\n')))).toEqual([
      'spec.ports[0].targetPort@8: Invalid value: "a-name-longer-than-15": must be no more than 15 characters',
    ]);
  });
  test('two ports may not share port and protocol', () => {
    expect(brief(errors(svc('  ports:\n    - name: a\n      port: 80\n    - name: b\n      port: 80\n')))).toEqual(['spec.ports[1]@9: Duplicate value: {"port":80,"protocol":"TCP"}']);
  });
  test('a LoadBalancer may not expose the kubelet port 10250', () => {
    expect(brief(errors(svc('  type: LoadBalancer\n  ports:\n    - port: 10250\n')))).toEqual(['spec.ports[0]@8: Invalid value: 10250: may not expose port 10250 externally since it is used by kubelet']);
  });
});

describe('Service: nodePort', () => {
  test('is forbidden for ClusterIP Services', () => {
    expect(brief(errors(svc('  ports:\n    - port: 80\n      nodePort: 30080\n')))).toEqual(["spec.ports[0].nodePort@8: Forbidden: may not be used when `type` is 'ClusterIP'"]);
  });
  test('must be inside the configured range (default 30000-32767)', () => {
    expect(brief(errors(svc('  type: NodePort\n  ports:\n    - port: 80\n      nodePort: 8080\n')))).toEqual([
      'spec.ports[0].nodePort@9: Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767',
    ]);
  });
  test('the range comes from the cluster configuration', () => {
    const cfg = clusterConfig({ nodePortRange: { base: 20000, size: 1000 } });
    expect(errors(svc('  type: NodePort\n  ports:\n    - port: 80\n      nodePort: 20500\n'), cfg)).toEqual([]);
    expect(brief(errors(svc('  type: NodePort\n  ports:\n    - port: 80\n      nodePort: 30080\n'), cfg))[0]).toContain('The range of valid ports is 20000-20999');
  });
  test('the same nodePort twice for one protocol is a duplicate', () => {
    expect(brief(errors(svc('  type: NodePort\n  ports:\n    - name: a\n      port: 80\n      nodePort: 30080\n    - name: b\n      port: 81\n      nodePort: 30080\n')))).toEqual([
      'spec.ports[1].nodePort@13: Duplicate value: 30080',
    ]);
  });
  test('the same nodePort for TCP and UDP in one Service is allowed', () => {
    expect(errors(svc('  type: NodePort\n  ports:\n    - name: a\n      port: 53\n      protocol: UDP\n      nodePort: 30053\n    - name: b\n      port: 53\n      nodePort: 30053\n'))).toEqual([]);
  });
});

describe('Service: traffic policies', () => {
  test('externalTrafficPolicy on a ClusterIP Service is refused (the forbidden combination)', () => {
    const e = errors(svc('  type: ClusterIP\n  externalTrafficPolicy: Local\n  ports:\n    - port: 80\n'));
    expect(brief(e)).toEqual(['spec.externalTrafficPolicy@7: Invalid value: "Local": may only be set for externally-accessible services']);
    expect(e[0]!.hint).toContain('NodePort or LoadBalancer');
  });
  test('externalTrafficPolicy must be Cluster or Local', () => {
    expect(brief(errors(svc('  type: NodePort\n  externalTrafficPolicy: Nearby\n  ports:\n    - port: 80\n')))).toEqual([
      'spec.externalTrafficPolicy@7: Unsupported value: "Nearby": supported values: "Cluster", "Local"',
    ]);
  });
  test('internalTrafficPolicy must be Cluster or Local', () => {
    expect(fieldsOfErrors(svc('  internalTrafficPolicy: Zone\n  ports:\n    - port: 80\n'))).toEqual(['spec.internalTrafficPolicy']);
  });
  test('healthCheckNodePort needs a LoadBalancer with externalTrafficPolicy Local', () => {
    expect(brief(errors(svc('  type: NodePort\n  externalTrafficPolicy: Local\n  healthCheckNodePort: 32000\n  ports:\n    - port: 80\n')))).toEqual([
      "spec.healthCheckNodePort@8: Invalid value: 32000: may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
    ]);
    expect(fieldsOfErrors(svc('  type: LoadBalancer\n  healthCheckNodePort: 32000\n  ports:\n    - port: 80\n'))).toEqual(['spec.healthCheckNodePort']);
  });
  test('trafficDistribution takes PreferClose (and PreferSameZone/PreferSameNode with the gate)', () => {
    expect(errors(svc('  trafficDistribution: PreferSameZone\n  ports:\n    - port: 80\n'))).toEqual([]);
    expect(fieldsOfErrors(svc('  trafficDistribution: PreferSameZone\n  ports:\n    - port: 80\n'), clusterConfig({ preferSameTrafficDistribution: false }))).toEqual(['spec.trafficDistribution']);
  });
});

describe('Service: session affinity', () => {
  test('sessionAffinity must be ClientIP or None', () => {
    expect(brief(errors(svc('  sessionAffinity: Sticky\n  ports:\n    - port: 80\n')))).toEqual(['spec.sessionAffinity@6: Unsupported value: "Sticky": supported values: "ClientIP", "None"']);
  });
  test.each([0, 86401])('clientIP.timeoutSeconds %d is outside 1..86400', (t) => {
    expect(brief(errors(svc(`  sessionAffinity: ClientIP\n  sessionAffinityConfig:\n    clientIP:\n      timeoutSeconds: ${t}\n  ports:\n    - port: 80\n`)))).toEqual([
      `spec.sessionAffinityConfig.clientIP.timeoutSeconds@9: Invalid value: ${t}: must be greater than 0 and less than 86400`,
    ]);
  });
  test('sessionAffinityConfig with affinity None is forbidden', () => {
    expect(fieldsOfErrors(svc('  sessionAffinity: None\n  sessionAffinityConfig:\n    clientIP: {timeoutSeconds: 10}\n  ports:\n    - port: 80\n'))).toEqual(['spec.sessionAffinityConfig']);
  });
});

describe('Service: clusterIP', () => {
  test('None on a NodePort Service is refused', () => {
    expect(brief(errors(svc('  type: NodePort\n  clusterIP: None\n  ports:\n    - port: 80\n')))).toEqual(["spec.clusterIP@7: Invalid value: \"None\": may not be set to 'None' for NodePort services"]);
  });
  test('a clusterIP outside the service CIDR is refused as the allocator does', () => {
    expect(brief(errors(svc('  clusterIP: 10.0.0.1\n  ports:\n    - port: 80\n')))).toEqual([
      'spec.clusterIP@6: Invalid value: "10.0.0.1": failed to allocate IP 10.0.0.1: provided IP (10.0.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12',
    ]);
  });
  test('the network address of the service CIDR is not allocatable', () => {
    expect(fieldsOfErrors(svc('  clusterIP: 10.96.0.0\n  ports:\n    - port: 80\n'))).toEqual(['spec.clusterIP']);
  });
  test('a clusterIP that is not an IP is refused', () => {
    expect(brief(errors(svc('  clusterIP: 10.96.0.300\n  ports:\n    - port: 80\n')))[0]).toMatch(/^spec\.clusterIP@6: Invalid value: "10\.96\.0\.300": must be a valid IP address/);
  });
  test('an IPv6 clusterIP on an IPv4-only cluster is refused', () => {
    expect(brief(errors(svc('  clusterIP: fd00::10\n  ports:\n    - port: 80\n')))[0]).toContain('this cluster is not configured for IPv6');
  });
  test('clusterIPs[0] must match clusterIP', () => {
    expect(fieldsOfErrors(svc('  clusterIP: 10.96.0.10\n  clusterIPs: [10.96.0.11]\n  ports:\n    - port: 80\n'))).toEqual(['spec.clusterIPs']);
  });
});

describe('Service: ExternalName', () => {
  test('needs externalName', () => {
    expect(brief(errors(svc('  type: ExternalName\n')))).toEqual(['spec.externalName@5: Required value']);
  });
  test('externalName must be a DNS-1123 subdomain', () => {
    expect(brief(errors(svc('  type: ExternalName\n  externalName: Bad_Host\n')))[0]).toMatch(/^spec\.externalName@7: Invalid value: "Bad_Host": a lowercase RFC 1123 subdomain/);
  });
  test('may not have a clusterIP', () => {
    expect(brief(errors(svc('  type: ExternalName\n  externalName: db.example.com\n  clusterIP: 10.96.0.5\n')))).toEqual(['spec.clusterIP@8: Forbidden: may not be set for ExternalName services']);
  });
  test('may not have ipFamilies or ipFamilyPolicy', () => {
    expect(fieldsOfErrors(svc('  type: ExternalName\n  externalName: db.example.com\n  ipFamilies: [IPv4]\n  ipFamilyPolicy: SingleStack\n'))).toEqual(['spec.ipFamilies', 'spec.ipFamilyPolicy']);
  });
});

describe('Service: IP families', () => {
  test('unknown family is unsupported', () => {
    expect(fieldsOfErrors(svc('  ipFamilies: [IPv5]\n  ports:\n    - port: 80\n'))).toEqual(['spec.ipFamilies[0]']);
  });
  test('duplicate family', () => {
    expect(brief(errors(svc('  ipFamilyPolicy: PreferDualStack\n  ipFamilies: [IPv4, IPv4]\n  ports:\n    - port: 80\n')))).toEqual(['spec.ipFamilies[1]@7: Duplicate value: "IPv4"']);
  });
  test('SingleStack with two families', () => {
    expect(fieldsOfErrors(svc('  ipFamilyPolicy: SingleStack\n  ipFamilies: [IPv4, IPv6]\n  ports:\n    - port: 80\n'))).toContain('spec.ipFamilies');
  });
  test('RequireDualStack on a single-stack cluster', () => {
    expect(brief(errors(svc('  ipFamilyPolicy: RequireDualStack\n  ports:\n    - port: 80\n')))).toEqual([
      'spec.ipFamilyPolicy@6: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services',
    ]);
  });
  test('dual-stack works on a dual-stack cluster', () => {
    const cfg = clusterConfig({ serviceCIDRs: ['10.96.0.0/12', 'fd00:10:96::/112'], clusterCIDRs: ['10.244.0.0/16', 'fd00:10:244::/56'] });
    expect(errors(svc('  ipFamilyPolicy: RequireDualStack\n  ipFamilies: [IPv4, IPv6]\n  ports:\n    - port: 80\n'), cfg)).toEqual([]);
  });
});

describe('Service: load balancer fields', () => {
  test('loadBalancerSourceRanges only for LoadBalancer', () => {
    expect(fieldsOfErrors(svc('  loadBalancerSourceRanges: [10.0.0.0/8]\n  ports:\n    - port: 80\n'))).toEqual(['spec.loadBalancerSourceRanges']);
  });
  test('loadBalancerSourceRanges entries must be CIDRs', () => {
    expect(brief(errors(svc('  type: LoadBalancer\n  loadBalancerSourceRanges: [10.0.0.0/8, 10.0.0.0/33]\n  ports:\n    - port: 80\n')))).toEqual([
      'spec.loadBalancerSourceRanges[1]@7: Invalid value: "10.0.0.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
    ]);
  });
  test('allocateLoadBalancerNodePorts and loadBalancerClass only for LoadBalancer', () => {
    expect(fieldsOfErrors(svc('  allocateLoadBalancerNodePorts: false\n  loadBalancerClass: example.com/lb\n  ports:\n    - port: 80\n'))).toEqual([
      'spec.allocateLoadBalancerNodePorts',
      'spec.loadBalancerClass',
    ]);
  });
  test('externalIPs must be valid, non-special addresses', () => {
    expect(brief(errors(svc('  externalIPs: [1.2.3, 127.0.0.1]\n  ports:\n    - port: 80\n')))).toEqual([
      'spec.externalIPs[0]@6: Invalid value: "1.2.3": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
      'spec.externalIPs[1]@6: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)',
    ]);
  });
  test('selector labels are validated', () => {
    expect(fieldsOfErrors(svc('  selector: {"bad key": web}\n  ports:\n    - port: 80\n'))).toEqual(['spec.selector.bad key']);
  });
});

describe('Service: several errors at once', () => {
  test('every error of the object is reported, in line order', () => {
    const e = errors(svc('  type: ClusterIP\n  sessionAffinity: Sticky\n  externalTrafficPolicy: Local\n  ports:\n    - name: http\n      port: 0\n      protocol: HTTP\n'));
    expect(e.map((d) => `${d.line}:${d.field}`)).toEqual(['7:spec.sessionAffinity', '8:spec.externalTrafficPolicy', '11:spec.ports[0].port', '12:spec.ports[0].protocol']);
  });
});

function fieldsOfErrors(text: string, cfg = clusterConfig()): string[] {
  return errors(text, cfg).map((d) => d.field ?? '');
}
