// Upstream utils_test.go cases: podToEndpoint, ports, address types, labels, names, hints switch.
import { describe, expect, it } from 'vitest';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { podToEndpoint } from '../../../src/cluster/endpointslice/podtoendpoint.js';
import { findPort } from '../../../src/cluster/endpointslice/findport.js';
import { getEndpointPorts, portMapKey } from '../../../src/cluster/endpointslice/ports.js';
import {
  addressTypesForService,
  endpointSlicePrefix,
  hintsEnabled,
  setEndpointSliceLabels,
} from '../../../src/cluster/endpointslice/slicemeta.js';
import { formatRFC3339Nano } from '../../../src/cluster/rfc3339.js';
import { milliValue } from '../../../src/cluster/endpointslice/quantity.js';
import { parseIP } from '../../../src/cluster/endpointslice/ip.js';
import { EndpointSet, endpointKey } from '../../../src/cluster/endpointslice/endpointset.js';
import { pod, service } from './fixtures.js';

const zoned: Node = { metadata: { name: 'node-1', labels: { 'topology.kubernetes.io/zone': 'us-central1-a' } } };

describe('podToEndpoint (TestPodToEndpoint)', () => {
  // §4.6: Pod state → ready / serving / terminating, without and with publishNotReadyAddresses.
  const table: [string, Parameters<typeof pod>[1], [boolean, boolean, boolean], [boolean, boolean, boolean]][] = [
    ['Running, Ready=True', { ready: true }, [true, true, false], [true, true, false]],
    ['Ready=False', { ready: false }, [false, false, false], [true, false, false]],
    ['terminating, still Ready', { ready: true, terminating: true }, [false, true, true], [true, true, true]],
    ['terminating, not Ready', { ready: false, terminating: true }, [false, false, true], [true, false, true]],
  ];
  for (const [name, opts, plain, published] of table) {
    it(`${name}: conditions ${plain.join('/')}, with publishNotReadyAddresses ${published.join('/')}`, () => {
      const p = pod(1, opts);
      const c1 = podToEndpoint(p, undefined, service('foo'), 'IPv4').conditions!;
      expect([c1.ready, c1.serving, c1.terminating]).toEqual(plain);
      const c2 = podToEndpoint(p, undefined, service('foo', { publishNotReadyAddresses: true }), 'IPv4').conditions!;
      expect([c2.ready, c2.serving, c2.terminating]).toEqual(published);
    });
  }

  it('Ready pod + node labels: zone from the node, nodeName from the pod, targetRef with uid', () => {
    const p: Pod = { ...pod(1), metadata: { ...pod(1).metadata, uid: 'uid-1' } };
    expect(podToEndpoint(p, zoned, service('foo'), 'IPv4')).toEqual({
      addresses: ['10.1.0.2'],
      conditions: { ready: true, serving: true, terminating: false },
      targetRef: { kind: 'Pod', namespace: 'test', name: 'pod1', uid: 'uid-1' },
      nodeName: 'node-1',
      zone: 'us-central1-a',
    });
  });

  it('a node without the zone label, or an empty one, gives no zone', () => {
    const n: Node = { metadata: { name: 'node-1', labels: { 'topology.kubernetes.io/zone': '' } } };
    expect(podToEndpoint(pod(1), n, service('foo'), 'IPv4').zone).toBeUndefined();
    expect(podToEndpoint(pod(1), undefined, service('foo'), 'IPv4').zone).toBeUndefined();
  });

  it('Multi IP Ready pod: each address type takes the Pod IPs of its family, canonicalised', () => {
    const p = pod(1, { ips: ['1.2.3.4', '1234::5678:0000:0000:9abc:def0'] });
    expect(podToEndpoint(p, zoned, service('foo'), 'IPv4').addresses).toEqual(['1.2.3.4']);
    expect(podToEndpoint(p, zoned, service('foo'), 'IPv6').addresses).toEqual(['1234::5678:0:0:9abc:def0']);
    expect(podToEndpoint(pod(2, { ips: ['1.2.3.4'] }), zoned, service('foo'), 'IPv6').addresses).toEqual([]);
  });

  it('hostname only when the subdomain equals the Service name (and namespaces match)', () => {
    const withSub = pod(1, { hostname: 'example-hostname', subdomain: 'foo' });
    expect(podToEndpoint(withSub, undefined, service('foo'), 'IPv4').hostname).toBe('example-hostname');
    expect(podToEndpoint(withSub, undefined, service('bar'), 'IPv4').hostname).toBeUndefined();
    expect(podToEndpoint(withSub, undefined, service('foo', { namespace: 'other' }), 'IPv4').hostname).toBeUndefined();
    const noSub = pod(1, { hostname: 'example-hostname' });
    expect(podToEndpoint(noSub, undefined, service('foo'), 'IPv4').hostname).toBeUndefined();
  });

  it('endpoint identity: addresses (in any order), hostname and pod name; not conditions', () => {
    const a = podToEndpoint(pod(1, { ips: ['1.2.3.4', '::1'] }), undefined, service('foo'), 'IPv4');
    const b = { ...a, addresses: [...a.addresses].reverse(), conditions: { ready: false, serving: false, terminating: true } };
    expect(endpointKey(a)).toBe(endpointKey(b));
    expect(endpointKey({ ...a, hostname: 'h' })).not.toBe(endpointKey(a));
  });

  it('EndpointSet.take finds an endpoint by identity (not conditions) and removes it', () => {
    const a = { addresses: ['10.0.0.1'], conditions: { ready: true }, targetRef: { kind: 'Pod', namespace: 'ns', name: 'p' } };
    const sameIdentity = { ...a, conditions: { ready: false } };
    const other = { ...a, targetRef: { ...a.targetRef, name: 'q' } };
    const set = new EndpointSet();
    set.insert(a);
    expect(set.take(other)).toBeUndefined();
    expect(set.take(sameIdentity)).toBe(a);
    expect(set.size).toBe(0);
    expect(set.take(a)).toBeUndefined();
  });
});

describe('FindPort and getEndpointPorts (TestFindPort, TestGetEndpointPorts)', () => {
  const ctr = (ports: { name: string; containerPort: number; protocol: string }[]) => pod(1, { containerPorts: ports });

  it('an integer targetPort is used as is, even without container ports', () => {
    expect(findPort(pod(1), { port: 80, targetPort: 8080 })).toBe(8080);
  });

  it('a named port must match name and protocol', () => {
    const p = ctr([
      { name: 'a', containerPort: 11, protocol: 'UDP' },
      { name: 'a', containerPort: 22, protocol: 'TCP' },
    ]);
    expect(findPort(p, { port: 80, targetPort: 'a', protocol: 'TCP' })).toBe(22);
    expect(findPort(p, { port: 80, targetPort: 'a', protocol: 'UDP' })).toBe(11);
    expect(findPort(p, { port: 80, targetPort: 'a', protocol: 'SCTP' })).toBeUndefined();
    expect(findPort(p, { port: 80, targetPort: 'b', protocol: 'TCP' })).toBeUndefined();
  });

  it('named ports of sidecars (init containers with restartPolicy Always) resolve; other init containers do not', () => {
    const sidecar = pod(1, { initContainerPorts: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] });
    expect(findPort(sidecar, { port: 80, targetPort: 'http', protocol: 'TCP' })).toBe(8080);
    const plainInit: Pod = {
      ...pod(1),
      spec: { ...pod(1).spec!, initContainers: [{ name: 'init', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }] },
    };
    expect(findPort(plainInit, { port: 80, targetPort: 'http', protocol: 'TCP' })).toBeUndefined();
  });

  it('a Service port whose target does not resolve is left out for that Pod', () => {
    const svc = service('foo', {
      ports: [
        { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
        { name: 'metrics', port: 9090, targetPort: 9090, protocol: 'TCP', appProtocol: 'http' },
      ],
    });
    expect(getEndpointPorts(svc, pod(1))).toEqual([{ name: 'metrics', protocol: 'TCP', port: 9090, appProtocol: 'http' }]);
  });

  it('a headless Service with no ports gets an empty port list; nil and empty share a port map key', () => {
    expect(getEndpointPorts(service('foo', { clusterIP: 'None', ports: [] }), pod(1))).toEqual([]);
    expect(portMapKey(undefined)).toBe(portMapKey([]));
  });

  it('the port map key ignores port order', () => {
    const a = { name: 'a', port: 1, protocol: 'TCP' };
    const b = { name: 'b', port: 2, protocol: 'TCP' };
    expect(portMapKey([a, b])).toBe(portMapKey([b, a]));
    expect(portMapKey([a])).not.toBe(portMapKey([{ ...a, port: 2 }]));
  });
});

describe('address types (TestSupportedServiceAddressType)', () => {
  it('follow ipFamilies, else the clusterIP family, else both for headless', () => {
    expect(addressTypesForService(service('s', { ipFamilies: [], clusterIP: '10.0.0.10' }))).toEqual(['IPv4']);
    expect(addressTypesForService(service('s', { ipFamilies: [], clusterIP: '2000::1' }))).toEqual(['IPv6']);
    expect(addressTypesForService(service('s', { ipFamilies: [], clusterIP: 'None' }))).toEqual(['IPv4', 'IPv6']);
    expect(addressTypesForService(service('s', { ipFamilies: [] }))).toEqual(['IPv4', 'IPv6']);
    expect(addressTypesForService(service('s', { ipFamilies: ['IPv6', 'IPv4'] }))).toEqual(['IPv6', 'IPv4']);
  });
});

describe('slice labels and names (TestSetEndpointSliceLabels, TestNewEndpointSlice)', () => {
  it('Service labels minus reserved keys, plus service-name, managed-by and headless', () => {
    const svc = service('foo', { clusterIP: 'None', labels: { app: 'web', 'kubernetes.io/service-name': 'x' } });
    const { labels, changed } = setEndpointSliceLabels({ metadata: { labels: { app: 'web' } } }, svc, 'ctl');
    expect(labels).toEqual({
      app: 'web',
      'service.kubernetes.io/headless': '',
      'kubernetes.io/service-name': 'foo',
      'endpointslice.kubernetes.io/managed-by': 'ctl',
    });
    expect(changed).toBe(false);
    expect(setEndpointSliceLabels({ metadata: { labels: { app: 'old' } } }, svc, 'ctl').changed).toBe(true);
    expect(setEndpointSliceLabels({ metadata: {} }, svc, 'ctl').changed).toBe(true);
  });

  it('generateName is `<service>-`', () => {
    expect(endpointSlicePrefix('foo')).toBe('foo-');
    expect(endpointSlicePrefix('Not_Valid')).toBe('Not_Valid');
  });
});

describe('hintsEnabled (Test_hintsEnabled)', () => {
  it('Auto or auto in either annotation; the deprecated one wins', () => {
    expect(hintsEnabled(undefined)).toBe(false);
    expect(hintsEnabled({ 'service.kubernetes.io/topology-mode': 'Auto' })).toBe(true);
    expect(hintsEnabled({ 'service.kubernetes.io/topology-mode': 'auto' })).toBe(true);
    expect(hintsEnabled({ 'service.kubernetes.io/topology-mode': 'PreferZone' })).toBe(false);
    expect(hintsEnabled({ 'service.kubernetes.io/topology-aware-hints': 'Auto' })).toBe(true);
    expect(
      hintsEnabled({ 'service.kubernetes.io/topology-aware-hints': 'disabled', 'service.kubernetes.io/topology-mode': 'Auto' }),
    ).toBe(false);
  });
});

describe('small formats', () => {
  it('RFC3339Nano in UTC drops trailing zeros of the fraction', () => {
    expect(formatRFC3339Nano(Date.UTC(2026, 0, 1, 0, 0, 5))).toBe('2026-01-01T00:00:05Z');
    expect(formatRFC3339Nano(Date.UTC(2026, 0, 1, 0, 0, 5, 120))).toBe('2026-01-01T00:00:05.12Z');
  });

  it('CPU quantities in millicores', () => {
    expect(milliValue('4')).toBe(4000);
    expect(milliValue('3920m')).toBe(3920);
    expect(milliValue('0.1')).toBe(100);
    expect(milliValue('100m')).toBe(100);
    expect(milliValue('1k')).toBe(1_000_000);
    expect(milliValue(undefined)).toBe(0);
  });

  it('IPs are parsed sloppily and printed canonically', () => {
    expect(parseIP('010.001.002.003')).toEqual({ family: 'IPv4', text: '10.1.2.3' });
    expect(parseIP('::ffff:1.2.3.4')).toEqual({ family: 'IPv4', text: '1.2.3.4' });
    expect(parseIP('2001:db8:0:0:1:0:0:1')).toEqual({ family: 'IPv6', text: '2001:db8::1:0:0:1' });
    expect(parseIP('1.2.3.256')).toBeUndefined();
  });
});
