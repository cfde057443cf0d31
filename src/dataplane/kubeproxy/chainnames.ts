// kube-proxy's chain names: a prefix plus the first 16 characters of the standard base32 (RFC 4648,
// A-Z2-7) encoding of sha256(servicePortName + lower-case protocol [+ endpoint "ip:port"]).
import * as crypto from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

// crypto.hash (Node >= 20.12) is a faster one-shot digest; fall back to createHash.
const oneShot = (crypto as { hash?: (alg: string, data: string, enc: 'buffer') => Buffer }).hash;
function sha256(input: string): Buffer {
  return oneShot ? oneShot('sha256', input, 'buffer') : crypto.createHash('sha256').update(input, 'utf8').digest();
}

/** base32std(sha256(input))[:16]. 16 characters need exactly the first 10 digest bytes. */
export function portProtoHash(input: string): string {
  const digest = sha256(input);
  let out = '';
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < 10; i++) {
    acc = (acc << 8) | digest[i]!;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

export const SVC_PREFIX = 'KUBE-SVC-';
export const SVL_PREFIX = 'KUBE-SVL-';
export const EXT_PREFIX = 'KUBE-EXT-';
export const FW_PREFIX = 'KUBE-FW-';
export const SEP_PREFIX = 'KUBE-SEP-';

/** The four per-service-port chains share one hash. */
export interface ServicePortChains {
  readonly svc: string;
  readonly svl: string;
  readonly ext: string;
  readonly fw: string;
}

/** `spn` is `namespace/name[:portName]`; `protocol` is lower-case (tcp, udp, sctp). */
export function servicePortChains(spn: string, protocol: string): ServicePortChains {
  const h = portProtoHash(spn + protocol);
  return { svc: SVC_PREFIX + h, svl: SVL_PREFIX + h, ext: EXT_PREFIX + h, fw: FW_PREFIX + h };
}

/** `endpoint` is Go's JoinHostPort(ip, port): IPv6 in brackets. */
export function endpointChainName(spn: string, protocol: string, endpoint: string): string {
  return SEP_PREFIX + portProtoHash(spn + protocol + endpoint);
}

/** Chains kube-proxy owns per service and deletes when stale. */
export function isServiceChainName(chain: string): boolean {
  return (
    chain.startsWith(SVC_PREFIX) ||
    chain.startsWith(SVL_PREFIX) ||
    chain.startsWith(SEP_PREFIX) ||
    chain.startsWith(FW_PREFIX) ||
    chain.startsWith(EXT_PREFIX)
  );
}
