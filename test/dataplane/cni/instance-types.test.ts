import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { awsMaxPods, awsPodAddresses, eniLimits, knownInstanceTypes, terwayMaxPods, type EniLimits } from '../../../src/dataplane/cni/instance-types.js';

function limits(cloud: 'aws' | 'alibaba', type: string): EniLimits {
  const r = eniLimits(cloud, type);
  if (!r.ok) throw new Error(r.message);
  return r.limits;
}

describe('AWS max pods (misc/eni-max-pods.txt)', () => {
  it.each([
    ['m5.large', 29],
    ['m5.xlarge', 58],
    ['t3.medium', 17],
    ['m5.4xlarge', 234],
  ])('%s: %i pods in secondary-IP mode (the reference’s figures)', (type, pods) => {
    expect(awsMaxPods(limits('aws', type), 'secondary-ip')).toBe(pods);
  });

  it('prefix mode multiplies each secondary-IP slot by a /28: ENIs × ((IPs − 1) × 16) + 2', () => {
    expect(awsMaxPods(limits('aws', 'm5.large'), 'prefix')).toBe(3 * 9 * 16 + 2);
    expect(awsMaxPods(limits('aws', 'm5.4xlarge'), 'prefix')).toBe(8 * 29 * 16 + 2);
    expect(awsPodAddresses(limits('aws', 'm5.large'), 'prefix')).toBe(432);
  });

  it('managed node groups cap at 110 below 30 vCPUs and at 250 from 30 vCPUs', () => {
    expect(awsMaxPods(limits('aws', 'm5.large'), 'secondary-ip', { managedNodeGroupCap: true })).toBe(29);
    expect(awsMaxPods(limits('aws', 'm5.4xlarge'), 'secondary-ip', { managedNodeGroupCap: true })).toBe(110);
    expect(awsMaxPods(limits('aws', 'm5.large'), 'prefix', { managedNodeGroupCap: true })).toBe(110);
    expect(awsMaxPods(limits('aws', 'm5.8xlarge'), 'prefix', { managedNodeGroupCap: true })).toBe(250);
  });

  it('agrees with the aws profile’s node capacity', () => {
    const profile = parse(readFileSync(new URL('../../../scenarios/profiles/aws.yaml', import.meta.url), 'utf8'));
    const pool = profile.spec.nodes[0];
    expect(String(awsMaxPods(limits('aws', pool.instanceType), 'secondary-ip'))).toBe(pool.capacity.pods);
  });
});

describe('Terway max pods', () => {
  it('shared ENI is (ENIs − 1) × IPs per ENI and exclusive ENI is ENIs − 1: the primary ENI serves no pod', () => {
    const g7 = limits('alibaba', 'ecs.g7.xlarge');
    expect(terwayMaxPods(g7, 'shared')).toBe((g7.enis - 1) * g7.ipv4PerEni);
    expect(terwayMaxPods(g7, 'exclusive')).toBe(g7.enis - 1);
    expect(terwayMaxPods({ ...g7, enis: 3, ipv4PerEni: 10 }, 'shared')).toBe(20);
    expect(terwayMaxPods({ ...g7, enis: 3, ipv4PerEni: 10 }, 'exclusive')).toBe(2);
  });

  it('agrees with the alibaba profile’s node capacity (ecs.g7.xlarge: (4 − 1) × 15)', () => {
    const profile = parse(readFileSync(new URL('../../../scenarios/profiles/alibaba.yaml', import.meta.url), 'utf8'));
    const pool = profile.spec.nodes[0];
    expect(String(terwayMaxPods(limits('alibaba', pool.instanceType), 'shared'))).toBe(pool.capacity.pods);
  });
});

describe('instance type lookup', () => {
  it('returns an error value, not a throw, for an unknown or missing type', () => {
    const r = eniLimits('aws', 'm5.huge');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.message).toContain('"m5.huge"');
      expect(r.hint).toContain('m5.large');
    }
    expect(eniLimits('alibaba', 'm5.large').ok).toBe(false);
    expect(eniLimits('aws', undefined).ok).toBe(false);
    expect(eniLimits('aws', 'constructor').ok).toBe(false);
  });

  it('knows the common types of both clouds, each with at least two ENIs of at least two addresses', () => {
    const aws = knownInstanceTypes('aws');
    for (const t of ['t3.medium', 'm5.large', 'm5.xlarge', 'm5.2xlarge', 'm5.4xlarge', 'c5.large', 'c5.xlarge', 'r5.large', 'm6i.large']) expect(aws).toContain(t);
    const ali = knownInstanceTypes('alibaba');
    for (const t of ['ecs.g7.large', 'ecs.g7.xlarge', 'ecs.g7.2xlarge', 'ecs.g6.large', 'ecs.g6.xlarge']) expect(ali).toContain(t);
    for (const cloud of ['aws', 'alibaba'] as const)
      for (const t of knownInstanceTypes(cloud)) {
        const l = limits(cloud, t);
        expect(l.enis).toBeGreaterThanOrEqual(2);
        expect(l.ipv4PerEni).toBeGreaterThanOrEqual(2);
      }
  });
});
