// IP parsing as the controllers do it: utilnet.ParseIPSloppy (IPv4 octets with leading zeros are
// decimal), the family test of IsIPv6 (IPv4-mapped IPv6 counts as IPv4) and Go's net.IP.String().
import ipaddr from 'ipaddr.js';
import type { AddressType } from './constants.js';

export interface ParsedIP {
  family: AddressType;
  /** The canonical text form (net.IP.String()). */
  text: string;
}

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
/** An IPv4 address already in canonical form (no leading zeros): returned as is. */
const CANONICAL_V4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

// Pod IPs are parsed on every sync of every Service selecting the Pod; remember the answers.
const cache = new Map<string, ParsedIP | undefined>();
const CACHE_LIMIT = 1 << 20;

/**
 * True for an IPv4 address in canonical form (four decimal octets 0-255 without leading zeros),
 * the form pod IPs come in: such text is its own canonical text, no parse or cache needed.
 */
export function isCanonicalIPv4(s: string): boolean {
  const n = s.length;
  if (n < 7 || n > 15) return false;
  let octets = 0;
  let i = 0;
  while (i < n) {
    const start = i;
    let v = 0;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      v = v * 10 + (c - 48);
      i++;
    }
    const digits = i - start;
    if (digits === 0 || digits > 3 || v > 255 || (digits > 1 && s.charCodeAt(start) === 48)) return false;
    octets++;
    if (i === n) break;
    if (s.charCodeAt(i) !== 46 || octets === 4) return false;
    i++;
    if (i === n) return false;
  }
  return octets === 4;
}

/** Parse an IP address; undefined when it is not one. */
export function parseIP(s: string): ParsedIP | undefined {
  if (isCanonicalIPv4(s)) return { family: 'IPv4', text: s };
  let r = cache.get(s);
  if (r !== undefined || cache.has(s)) return r;
  r = parse(s);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(s, r);
  return r;
}

function parse(s: string): ParsedIP | undefined {
  if (CANONICAL_V4.test(s)) return { family: 'IPv4', text: s };
  const m = V4.exec(s);
  if (m) {
    const octets = [m[1], m[2], m[3], m[4]].map((o) => parseInt(o!, 10));
    if (octets.some((o) => o > 255)) return undefined;
    return { family: 'IPv4', text: octets.join('.') };
  }
  if (s.includes('%') || !ipaddr.IPv6.isValid(s)) return undefined;
  const v6 = ipaddr.IPv6.parse(s);
  if (v6.isIPv4MappedAddress()) return { family: 'IPv4', text: v6.toIPv4Address().toString() };
  return { family: 'IPv6', text: v6.toRFC5952String() };
}

/** utilnet.IsIPv6String: true only for a valid address of the IPv6 family. */
export function isIPv6String(s: string | undefined): boolean {
  return s !== undefined && !isCanonicalIPv4(s) && parseIP(s)?.family === 'IPv6';
}
