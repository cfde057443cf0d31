// Addresses and networks in rule options (`-s`, `--ctorigdst`, `--mask`, ranges), with numeric
// forms for matching: IPv4 as unsigned 32-bit numbers, IPv6 as BigInts.
import { formatIp, formatIPv4, parseIp, parseIPv4 } from '../../net/ip.js';
import type { AddressFamily } from '../../net/packet.js';
import type { AddressSpec } from './model.js';

const V6_ALL = (1n << 128n) - 1n;

export function v4PrefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function v6PrefixMask(prefix: number): bigint {
  return prefix === 0 ? 0n : V6_ALL ^ ((1n << BigInt(128 - prefix)) - 1n);
}

/** The prefix length of a contiguous mask, or -1. */
function v4MaskPrefix(mask: number): number {
  for (let p = 0; p <= 32; p++) if (v4PrefixMask(p) === mask) return p;
  return -1;
}

function parseAddressNumber(text: string, family: AddressFamily): number | bigint | undefined {
  if (family === 4) return parseIPv4(text);
  const ip = parseIp(text);
  return ip && ip.family === 'IPv6' ? ip.value : undefined;
}

export function formatAddressNumber(n: number | bigint, family: AddressFamily): string {
  return family === 4 ? formatIPv4(n as number) : formatIp({ family: 'IPv6', value: n as bigint });
}

/**
 * `10.0.0.1`, `10.0.0.0/8`, `10.0.0.0/255.0.0.0`, `fd00::/64`. Host bits are cleared, as iptables
 * does (`-d 10.0.0.1/24` is saved as `10.0.0.0/24`).
 */
export function parseAddressSpec(text: string, family: AddressFamily): AddressSpec | undefined {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const maskText = slash < 0 ? undefined : text.slice(slash + 1);
  const addr = parseAddressNumber(addrText, family);
  if (addr === undefined) return undefined;
  if (family === 4) {
    let prefix = 32;
    let mask = 0xffffffff;
    if (maskText !== undefined) {
      if (/^\d{1,2}$/.test(maskText) && Number(maskText) <= 32) {
        prefix = Number(maskText);
        mask = v4PrefixMask(prefix);
      } else {
        const m = parseIPv4(maskText);
        if (m === undefined) return undefined;
        mask = m;
        prefix = v4MaskPrefix(m);
      }
    }
    const net = ((addr as number) & mask) >>> 0;
    const text = prefix >= 0 ? `${formatIPv4(net)}/${prefix}` : `${formatIPv4(net)}/${formatIPv4(mask)}`;
    return { family, net, mask, prefix, text };
  }
  let prefix = 128;
  if (maskText !== undefined) {
    if (!/^\d{1,3}$/.test(maskText) || Number(maskText) > 128) return undefined;
    prefix = Number(maskText);
  }
  const mask = v6PrefixMask(prefix);
  const net = (addr as bigint) & mask;
  return { family, net, mask, prefix, text: `${formatAddressNumber(net, 6)}/${prefix}` };
}

/** A mask written as an address (`--mask 255.255.255.0`). */
export function parseMaskAddress(text: string, family: AddressFamily): AddressSpec | undefined {
  const n = parseAddressNumber(text, family);
  if (n === undefined) return undefined;
  const prefix = family === 4 ? v4MaskPrefix(n as number) : -1;
  return { family, net: n, mask: n, prefix, text: formatAddressNumber(n, family) };
}

export function fullMask(family: AddressFamily): AddressSpec {
  return family === 4
    ? { family, net: 0xffffffff, mask: 0xffffffff, prefix: 32, text: '255.255.255.255' }
    : { family, net: V6_ALL, mask: V6_ALL, prefix: 128, text: formatAddressNumber(V6_ALL, 6) };
}

/** Whether numeric address `n` lies in `spec`. */
export function addressIn(spec: AddressSpec, n: number | bigint): boolean {
  if (typeof n === 'number') return spec.family === 4 && ((n & (spec.mask as number)) >>> 0) === spec.net;
  return spec.family === 6 && (n & (spec.mask as bigint)) === spec.net;
}

/** Apply an address-shaped mask (xt_recent --mask). */
export function maskAddress(n: number | bigint, mask: AddressSpec): number | bigint {
  return typeof n === 'number' ? (n & (mask.mask as number)) >>> 0 : n & (mask.mask as bigint);
}

/** `10.0.0.1` for a host, `10.0.0.0/8` otherwise: how conntrack and iprange print addresses. */
export function hostOrNetText(spec: AddressSpec): string {
  const full = spec.family === 4 ? 32 : 128;
  return spec.prefix === full ? formatAddressNumber(spec.net, spec.family) : spec.text;
}
