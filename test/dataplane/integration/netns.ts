// A throwaway network namespace for tests that need the kernel to load rules and print them back
// (iptables-restore, iptables-save), and kube-proxy's nfacct counters, which rules with
// `-m nfacct --nfacct-name X` need to exist before they load. kube-proxy creates them over netlink;
// there is no nfacct tool here, so a few lines of Python send the same NFNL_MSG_ACCT_NEW messages.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

function which(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

/** Why a namespace cannot be used here, or undefined. */
export function netnsSkipReason(tools: readonly string[] = ['ip', 'iptables-restore', 'iptables-save', 'python3']): string | undefined {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return 'not root';
  for (const t of tools) if (!which(t)) return `${t} not found`;
  return undefined;
}

const NFACCT_PY = `
import os, socket, struct, sys
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)  # NETLINK_NETFILTER
s.bind((0, 0))
for seq, name in enumerate(sys.argv[1:], 1):
    n = name.encode() + b'\\0'
    attr = struct.pack('=HH', 4 + len(n), 1) + n  # NFACCT_NAME
    attr += b'\\0' * ((4 - len(attr) % 4) % 4)
    body = struct.pack('=BBH', 0, 0, 0) + attr  # nfgenmsg
    # NFNL_SUBSYS_ACCT << 8 | NFNL_MSG_ACCT_NEW; NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE
    s.send(struct.pack('=IHHII', 16 + len(body), 7 << 8, 0x405, seq, 0) + body)
    err = struct.unpack('=i', s.recv(4096)[16:20])[0]
    if err not in (0, -16, -17):
        sys.exit('nfacct %s: %s' % (name, os.strerror(-err)))
`;

/** kube-proxy's nfacct counter names. */
export const KUBE_PROXY_NFACCT = ['localhost_nps_accepted_pkts', 'ct_state_invalid_dropped_pkts'];

function must(args: readonly string[], input?: string): string {
  const r = spawnSync(args[0]!, args.slice(1), { input: input ?? '', encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}): ${(r.stderr ?? '').trim()}`);
  return r.stdout;
}

/** Create nfacct counters in a namespace. */
export function ensureNfacct(ns: string, names: readonly string[] = KUBE_PROXY_NFACCT): void {
  must(['ip', 'netns', 'exec', ns, 'python3', '-c', NFACCT_PY, ...names]);
}

export class Netns {
  readonly name = `kp-${randomBytes(3).toString('hex')}-rules`;
  private readonly onExit = () => spawnSync('ip', ['netns', 'del', this.name]);

  constructor() {
    must(['ip', 'netns', 'add', this.name]);
    process.once('exit', this.onExit);
  }

  /** `iptables-restore` the text (replacing the tables it names), then return what `iptables-save` prints. */
  restoreAndSave(text: string): string {
    must(['ip', 'netns', 'exec', this.name, 'iptables-restore'], text);
    return must(['ip', 'netns', 'exec', this.name, 'iptables-save']);
  }

  nfacct(names: readonly string[] = KUBE_PROXY_NFACCT): void {
    ensureNfacct(this.name, names);
  }

  destroy(): void {
    spawnSync('ip', ['netns', 'del', this.name]);
    process.off('exit', this.onExit);
  }
}
