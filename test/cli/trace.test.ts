// `kubepath trace SCENARIO --from --to`: text, JSON (DESIGN.md's shape), dot/mermaid, sampling,
// and clear errors with exit code 2 for bad input.
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

async function kubepath(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (s) => (out += s.endsWith('\n') ? s : `${s}\n`), err: (s) => (err += s.endsWith('\n') ? s : `${s}\n`) });
  return { code, out, err };
}

const SCENARIO = 'scenarios/rolling-update.yaml';
const FROM = 'pod/kube-system/coredns-cd96466d9-qd6r5';

describe('kubepath trace SCENARIO', () => {
  it('pod → Service as JSON: request, three paths summing to 1, hops with stage/action/note/packet, DNAT rule as iptables-save prints it', async () => {
    const r = await kubepath('trace', SCENARIO, '--from', FROM, '--to', 'svc/shop/web:80', '--at', '25s', '-o', 'json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.request).toMatchObject({ from: FROM, to: 'svc/shop/web:80', proto: 'tcp', dport: 80, at: 25, cni: 'flannel vxlan', kubeProxyMode: 'iptables' });
    expect(j.mode).toBe('exact');
    expect(j.paths).toHaveLength(3);
    const sum = j.paths.reduce((a: number, p: { probability: number }) => a + p.probability, 0);
    expect(sum).toBeCloseTo(1, 12);
    for (const p of j.paths) {
      expect(p).toMatchObject({ outcome: 'delivered', clientIpSeen: j.request.src });
      expect(p.endpoint).toMatch(/^pod\/shop\/web-/);
      expect(typeof p.crossZone).toBe('boolean');
      for (const h of p.hops) expect(Object.keys(h)).toEqual(expect.arrayContaining(['at', 'stage', 'action', 'note', 'packet']));
      expect(p.hops.find((h: { action: string }) => h.action === 'DNAT').rule).toMatch(/^-A KUBE-SEP-[A-Z0-9]{16} -p tcp -m comment --comment "shop\/web:http" -m tcp -j DNAT --to-destination [\d.]+:80$/);
    }
  });

  it('text names each path with its probability, endpoint, client IP and zones', async () => {
    const r = await kubepath('trace', SCENARIO, '--from', FROM, '--to', 'svc/shop/web:80', '--at', '25s');
    expect(r.code).toBe(0);
    expect(r.out).toContain('3 paths: delivered 100%');
    expect(r.out.match(/#\d {2}33\.3% \(\d+\/\d+\) {2}delivered {2}→ pod\/shop\/web-/g)).toHaveLength(3);
    expect(r.out).toContain('client IP kept (10.244.1.2)');
    expect(r.out).toContain('flannel.1 wraps it in VXLAN');
  });

  it('-o dot and -o mermaid draw the paths over the locations, with edge probabilities', async () => {
    const dot = await kubepath('trace', SCENARIO, '--from', FROM, '--to', 'svc/shop/web:80', '--at', '25s', '-o', 'dot');
    expect(dot.out).toMatch(/^digraph trace \{/);
    expect(dot.out).toContain('label="100%"');
    expect(dot.out).toMatch(/delivered 33\.3%/);
    const mm = await kubepath('trace', SCENARIO, '--from', FROM, '--to', 'svc/shop/web:80', '--at', '25s', '-o', 'mermaid');
    expect(mm.out.split('\n')[0]).toBe('flowchart LR');
    expect(mm.out).toContain('-.->|');
  });

  it('--samples draws seeded packets: the same seed gives the same frequencies, only endpoints the exact trace has', async () => {
    const a = JSON.parse((await kubepath('trace', SCENARIO, '--from', FROM, '--to', 'svc/shop/web:80', '--at', '25s', '--samples', '300', '-o', 'json')).out);
    const b = JSON.parse((await kubepath('trace', SCENARIO, '--from', FROM, '--to', 'svc/shop/web:80', '--at', '25s', '--samples', '300', '-o', 'json')).out);
    expect(a).toEqual(b);
    expect(a.mode).toBe('sampled');
    // Frequencies are counts out of 300.
    expect(a.paths.reduce((n: number, p: { probability: number }) => n + Math.round(p.probability * 300), 0)).toBe(300);
    for (const p of a.paths) expect(p.probability).toBeGreaterThan(0.2);
  });

  it('bad input is exit 2 with the flag and what exists: unknown pod, unknown port name, malformed --to', async () => {
    const pod = await kubepath('trace', SCENARIO, '--from', 'pod/shop/nope', '--to', 'svc/shop/web:80');
    expect(pod.code).toBe(2);
    expect(pod.err).toMatch(/--from.*pod shop\/nope not found/);
    expect(pod.err).toMatch(/pods in shop: /);
    const port = await kubepath('trace', SCENARIO, '--from', FROM, '--to', 'svc/shop/web:grpc');
    expect(port.code).toBe(2);
    expect(port.err).toContain('its ports: 80 (http)/TCP');
    const to = await kubepath('trace', SCENARIO, '--from', FROM, '--to', 'web:80');
    expect(to.code).toBe(2);
    expect(to.err).toContain('is not a destination');
    const none = await kubepath('trace', SCENARIO, '--to', 'svc/shop/web:80');
    expect(none.code).toBe(2);
    expect(none.err).toContain('--from is required');
  });
});
