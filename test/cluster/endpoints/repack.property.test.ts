// RepackSubsets when every subset shares one port object (how the Endpoints controller builds
// them for a one-port Service) takes a direct route; it must agree with the general algorithm,
// which the same subsets with equal but distinct port objects go through.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { EndpointSubset } from 'kubernetes-types/core/v1.js';
import { repackSubsets } from '../../../src/cluster/endpointslice/endpoints/repack.js';

const ip = fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.10', '10.0.0.9', '9.1.1.1', 'fd00::1');
const uid = fc.option(fc.constantFrom('u1', 'u2', 'u3', 'u4', 'u5', 'u6'), { nil: undefined });
const address = fc.record({ ip, uid }).map(({ ip, uid }) => (uid ? { ip, nodeName: 'n', targetRef: { kind: 'Pod', namespace: 'd', name: uid, uid } } : { ip }));
const entry = fc.record({ address, ready: fc.boolean() });

function subsets(entries: { address: object; ready: boolean }[], port: () => object): EndpointSubset[] {
  return entries.map(({ address, ready }) => (ready ? { addresses: [address], ports: [port()] } : { notReadyAddresses: [address], ports: [port()] }) as EndpointSubset);
}

describe('RepackSubsets with one shared port', () => {
  it('gives what the general algorithm gives (sorted, deduplicated, not-ready winning)', () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 10 }), (entries) => {
        const shared = { name: 'http', port: 80, protocol: 'TCP' };
        const direct = repackSubsets(subsets(entries, () => shared));
        const general = repackSubsets(subsets(entries, () => ({ name: 'http', port: 80, protocol: 'TCP' })));
        expect(JSON.stringify(direct)).toBe(JSON.stringify(general));
      }),
    );
  });

  it('one subset: ready addresses by IP bytes, then the not-ready ones, then the port', () => {
    const port = { name: 'http', port: 80, protocol: 'TCP' };
    const a = (ip: string, uid: string) => ({ ip, targetRef: { kind: 'Pod', name: uid, uid } });
    const out = repackSubsets([
      { addresses: [a('10.0.0.9', 'x')], ports: [port] },
      { notReadyAddresses: [a('10.0.0.3', 'y')], ports: [port] },
      { addresses: [a('10.0.0.10', 'z')], ports: [port] },
    ]);
    expect(out).toEqual([{ addresses: [a('10.0.0.10', 'z'), a('10.0.0.9', 'x')], notReadyAddresses: [a('10.0.0.3', 'y')], ports: [port] }]);
    expect(Object.keys(out[0]!)).toEqual(['addresses', 'notReadyAddresses', 'ports']);
  });
});
