// The command-line contract: exit codes, diagnostics with file:line, kubectl-shaped output.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';

async function kubepath(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (s) => (out += s.endsWith('\n') ? s : `${s}\n`), err: (s) => (err += s.endsWith('\n') ? s : `${s}\n`) });
  return { code, out, err };
}

function tmpFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kubepath-cli-'));
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

describe('kubepath run', () => {
  it('runs the shipped rolling-update scenario: every expectation holds, exit 0', async () => {
    const r = await kubepath('run', 'scenarios/rolling-update.yaml');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('rollout deployment/shop/web image nginx:1.27');
    expect(r.out).toMatch(/All \d+ expectations hold\./);
  });

  it('prints JSON with transitions and per-expectation verdicts', async () => {
    const r = await kubepath('run', 'scenarios/rolling-update.yaml', '-o', 'json');
    const j = JSON.parse(r.out);
    expect(j.ok).toBe(true);
    expect(j.transitions[0].services['shop/web']).toEqual({ ready: 0, serving: 0, terminating: 0, total: 3 });
    expect(j.expectations.length).toBeGreaterThan(0);
  });

  it('exits 1 when an expectation fails and says what was found', async () => {
    const f = tmpFile(
      'scenario.yaml',
      `apiVersion: kubepath.dev/v1alpha1
kind: Scenario
metadata: {name: failing}
spec:
  profile: bare-metal
  manifests: [${join(process.cwd(), 'scenarios/examples/shop')}]
  expect:
    - at: 60s
      endpoints: shop/web
      ready: 7
`,
    );
    const r = await kubepath('run', f);
    expect(r.code).toBe(1);
    expect(r.out).toContain('ready=7 (got ready=3)');
  });

  it('exits 2 on bad input and names file, line and field for every error', async () => {
    const f = tmpFile(
      'bad.yaml',
      `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: ClusterIP
  externalTrafficPolicy: Local
  ports:
    - port: 70000
`,
    );
    const r = await kubepath('run', f);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`${f.replace(/[.]/g, '\\.')}:6:\\d+: error: spec\\.externalTrafficPolicy`));
    expect(r.err).toMatch(/:8:\d+: error: spec\.ports\[0\]\.port/);
    expect(r.err).not.toMatch(/at .*\.ts:\d+/);
  });

  it('exits 2 for a NodePort the API server would refuse as already allocated, pointing at the field', async () => {
    const f = tmpFile(
      'dup.yaml',
      `apiVersion: v1
kind: Service
metadata: {name: a}
spec:
  type: NodePort
  selector: {app: a}
  ports: [{port: 80, nodePort: 30080}]
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec:
  type: NodePort
  selector: {app: b}
  ports: [{port: 80, nodePort: 30080}]
`,
    );
    const r = await kubepath('run', f);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/nodePort/);
    expect(r.err).toMatch(/:15:\d+/);
  });

  it('exits 2 with usage for an unknown option', async () => {
    const r = await kubepath('run', 'scenarios/rolling-update.yaml', '--frobnicate');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown option/);
  });
});

describe('kubepath get', () => {
  it('prints nodes as kubectl does, with -o wide columns', async () => {
    const r = await kubepath('get', 'nodes', 'scenarios/rolling-update.yaml', '-o', 'wide');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\s+INTERNAL-IP\s+EXTERNAL-IP\s+OS-IMAGE/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual(['node-1 Ready', 'node-2 Ready', 'node-3 Ready']);
  });

  it('shows node-2 NotReady and its pods terminating after the toleration expires', async () => {
    const nodes = await kubepath('get', 'nodes', 'scenarios/rolling-update.yaml', '--at', '3m');
    expect(nodes.out).toMatch(/node-2\s+NotReady/);
    const pods = await kubepath('get', 'pods', 'scenarios/rolling-update.yaml', '--at', '8m', '-n', 'shop', '-o', 'wide');
    expect(pods.out.split('\n').filter((l) => /Terminating/.test(l)).every((l) => /node-2/.test(l))).toBe(true);
    expect(pods.out).toMatch(/Terminating/);
  });

  it('prints services with allocated ClusterIPs from the service CIDR and NodePorts', async () => {
    const r = await kubepath('get', 'svc', 'scenarios/rolling-update.yaml', '-n', 'shop');
    expect(r.out).toMatch(/web\s+ClusterIP\s+10\.(9[6-9]|10\d|11[01])\.\d+\.\d+\s+<none>\s+80\/TCP/);
    expect(r.out).toMatch(/NodePort\s+10\.\S+\s+<none>\s+80:3\d{4}\/TCP/);
    expect(r.out).toMatch(/db\s+ClusterIP\s+None/);
  });

  it('prints endpointslices with the controller-generated names and endpoint addresses', async () => {
    const r = await kubepath('get', 'endpointslices', 'scenarios/rolling-update.yaml', '-n', 'shop', '--at', '60s');
    expect(r.out).toMatch(/^NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS\s+AGE/);
    expect(r.out).toMatch(/web-[bcdfghjklmnpqrstvwxz2456789]{5}\s+IPv4\s+80\s+10\.244\.\d+\.\d+,10\.244/);
  });

  it('prints yaml as a List of the objects', async () => {
    const r = await kubepath('get', 'endpoints', 'scenarios/rolling-update.yaml', '-n', 'shop', '-o', 'yaml');
    expect(r.out).toMatch(/^apiVersion: v1\nkind: List\nitems:/);
    expect(r.out).toContain('kind: Endpoints');
  });

  it('exits 2 for an unknown kind or a bad --at', async () => {
    expect((await kubepath('get', 'widgets', 'scenarios/rolling-update.yaml')).code).toBe(2);
    const r = await kubepath('get', 'pods', 'scenarios/rolling-update.yaml', '--at', 'soon');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--at: "soon" is not a duration/);
  });
});

describe('kubepath get (workloads)', () => {
  it('shows the rollout: the new ReplicaSet owns all replicas and the old one is scaled to 0', async () => {
    const r = await kubepath('get', 'rs', 'scenarios/rolling-update.yaml', '--at', '60s', '-n', 'shop', '-o', 'wide');
    const rows = r.out.trim().split('\n').slice(1).map((l) => l.split(/\s+/));
    const byImage = Object.fromEntries(rows.map((c) => [c[6], c.slice(1, 4).join(' ')]));
    expect(byImage).toEqual({ 'nginx:1.27': '3 3 3', 'nginx:1.26': '0 0 0' });
  });

  it('prints deployments with READY n/m and the updated and available counts', async () => {
    const r = await kubepath('get', 'deployments', 'scenarios/rolling-update.yaml', '--at', '60s', '-n', 'shop');
    expect(r.out.trim()).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nweb\s+3\/3\s+3\s+3\s+60s$/);
  });
});
