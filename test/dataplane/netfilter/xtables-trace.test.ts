// A kernel trace captured from the conformance lab (xtables-monitor --trace, three flows through
// the CLUSTER_IP case), replayed offline: it parses, and each flow's kernel path equals one of the
// evaluator's branches. This runs without root; the live comparison is test/kernel.
import { describe, expect, it } from 'vitest';
import { makePacket, TCP_SYN } from '../../../src/net/packet.js';
import { mustParseIptablesSave, Netfilter, parseXtablesTrace } from '../../../src/dataplane/netfilter/index.js';
import { CLUSTER_IP } from '../../kernel/cases.js';
import { evaluatorBlocks, kernelBlocks, LAB_HOSTS, LAB_NETWORK, withTraceRules } from '../../kernel/harness.js';
import { fixture } from './helpers.js';

const records = parseXtablesTrace(fixture('xtables-monitor.trace'));

describe('xtables-monitor --trace output', () => {
  it('parses PACKET lines with their headers and TRACE lines with table, chain, verdict and rule', () => {
    const packets = records.filter((r) => r.kind === 'packet');
    const traces = records.filter((r) => r.kind === 'trace');
    expect(packets.length).toBeGreaterThan(10);
    // Only the first packet of each flow is traced (the TRACE rules match TCP SYN only).
    expect(packets.every((p) => p.kind === 'packet' && (p.fields['DPORT'] === '53' || p.fields['DPORT'] === '9090' || p.words.includes('SYN')))).toBe(true);
    expect(packets[0]).toMatchObject({ family: 2, fields: { IN: 'vc1', SRC: '198.18.1.2', DST: '198.19.0.10', SPORT: '21000', DPORT: '80' } });
    expect(packets[0]!.kind === 'packet' && packets[0]!.words).toContain('SYN');
    expect(traces[0]).toMatchObject({ table: 'raw', chain: 'PREROUTING', type: 'rule', verdict: 'CONTINUE', rule: '-A PREROUTING -p tcp -m tcp --sport 20000:39999 --tcp-flags FIN,SYN,RST,ACK SYN -j TRACE' });
    expect(traces.some((t) => t.kind === 'trace' && t.type === 'policy' && t.verdict === 'ACCEPT')).toBe(true);
    expect(traces.some((t) => t.kind === 'trace' && t.verdict.startsWith('JUMP:KUBE-SVC-'))).toBe(true);
  });

  it('maps numeric nft verdicts to names', () => {
    expect(parseXtablesTrace(' TRACE: 2 a8642fb8 filter:G:rule:0xc:0xfffffffb  -4 -t filter -A G -p tcp -j RETURN')[0]).toMatchObject({
      handle: 12,
      verdict: 'RETURN',
      rule: '-A G -p tcp -j RETURN',
    });
  });
});

describe('a recorded kernel trace equals an evaluator branch', () => {
  const ruleset = withTraceRules(mustParseIptablesSave(CLUSTER_IP.rules));
  const cases = [
    { name: 'pod client to the ClusterIP (no masquerade)', src: LAB_HOSTS.client.ip, inIface: 'vc1', sport: 21000, proto: 'tcp', dst: '198.19.0.10', dport: 80, endpoint: LAB_HOSTS.ep3.ip },
    { name: 'node to the ClusterIP (OUTPUT, masqueraded)', src: '198.18.128.1', inIface: undefined, sport: 21001, proto: 'tcp', dst: '198.19.0.10', dport: 80, endpoint: LAB_HOSTS.ep2.ip },
    { name: 'pod client to a UDP ClusterIP', src: LAB_HOSTS.client.ip, inIface: 'vc1', sport: 21002, proto: 'udp', dst: '198.19.0.53', dport: 53, endpoint: LAB_HOSTS.ep1.ip },
  ] as const;
  for (const c of cases) {
    it(c.name, () => {
      const nf = new Netfilter(ruleset, { node: LAB_NETWORK });
      const p = makePacket({ src: c.src, dst: c.dst, proto: c.proto, sport: c.sport, dport: c.dport, tcpFlags: TCP_SYN, ...(c.inIface ? { inInterface: c.inIface } : {}) });
      const { outcomes } = nf.evaluate(p, { from: c.inIface ? 'interface' : 'local' });
      const kernel = kernelBlocks(records, { src: c.src, sport: c.sport, proto: c.proto });
      expect(kernel.length).toBeGreaterThan(2);
      const matching = outcomes.filter((o) => JSON.stringify(evaluatorBlocks(o.trace)) === JSON.stringify(kernel));
      expect(matching).toHaveLength(1);
      expect(matching[0]!.packet.dst).toBe(c.endpoint);
    });
  }
});
