// Names and MAC addresses the VPC-native CNIs derive for links. Host veth names follow upstream:
// prefix + the first 11 hex digits of sha1("<namespace>.<pod name>") — aws-vpc-cni's
// GeneratePodHostVethName (prefix `eni`) and Terway's VethNameForPod (prefix `cali`, the hash
// Calico uses, so Calico policy finds the interface). Veth MACs stand in for the kernel's random
// ones: stable per key, so renders are deterministic.
import { createHash } from 'node:crypto';
import { stableMac } from '../../cluster/ipam/vpc-subnet.js';

export function podHostVethName(prefix: string, namespace: string, podName: string): string {
  return prefix + createHash('sha1').update(`${namespace}.${podName}`).digest('hex').slice(0, 11);
}

/** A locally administered unicast MAC, as the kernel gives a new veth end. */
export function vethMac(key: string): string {
  const first = (parseInt(stableMac([], `veth:${key}`).slice(0, 2), 16) | 0x02) & 0xfe;
  return stableMac([first], key);
}
