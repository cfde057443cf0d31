// Rulesets that share chains: a restore onto a ruleset copies only the chains it changes, and
// evaluators over rulesets sharing a chain share its compilation — but only where every jump in it
// resolves to the same chain; a ruleset that redefined a jump target gets its own.
import { describe, expect, it } from 'vitest';
import { applyRestore, mustParseIptablesSave } from '../../../src/dataplane/netfilter/parse.js';
import { printCanonical } from '../../../src/dataplane/netfilter/print.js';
import { netfilterOf, rulesText, tcp } from './helpers.js';

const BASE = rulesText({
  nat: [
    '-A PREROUTING -j KUBE-SERVICES',
    '-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-X',
    '-A KUBE-SVC-X -j KUBE-SEP-A',
    '-A KUBE-SEP-A -p tcp -m tcp -j DNAT --to-destination 10.1.0.1:8080',
  ],
});

describe('rulesets sharing chains', () => {
  it('a --noflush restore leaves the base untouched and shares every chain it did not change', () => {
    const base = mustParseIptablesSave(BASE);
    const before = printCanonical(base);
    const r = applyRestore(base, '*nat\n:EXTRA - [0:0]\n-A POSTROUTING -j EXTRA\n-A EXTRA -j RETURN\nCOMMIT\n', { noflush: true });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(printCanonical(base)).toBe(before);
    const a = base.tables.get('nat')!.chains;
    const b = r.ruleset.tables.get('nat')!.chains;
    expect(b.get('KUBE-SERVICES')).toBe(a.get('KUBE-SERVICES'));
    expect(b.get('KUBE-SEP-A')).toBe(a.get('KUBE-SEP-A'));
    expect(b.get('POSTROUTING')).not.toBe(a.get('POSTROUTING'));
    expect(b.get('POSTROUTING')!.rules).toHaveLength(1);
    expect(a.get('POSTROUTING')!.rules).toHaveLength(0);
  });

  it('a shared chain whose jump target was redefined in one ruleset evaluates per ruleset', () => {
    const base = mustParseIptablesSave(BASE);
    // The second ruleset rewrites KUBE-SEP-A (a jump target of the shared KUBE-SVC-X).
    const r = applyRestore(base, '*nat\n:KUBE-SEP-A - [0:0]\n-A KUBE-SEP-A -p tcp -m tcp -j DNAT --to-destination 10.2.0.2:9090\nCOMMIT\n', { noflush: true });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.ruleset.tables.get('nat')!.chains.get('KUBE-SVC-X')).toBe(base.tables.get('nat')!.chains.get('KUBE-SVC-X'));
    const packet = tcp('10.0.0.5', '10.96.0.10', 80, { inInterface: 'eth0' });
    const first = netfilterOf(base).evaluate(packet, { from: 'interface' }).outcomes;
    const second = netfilterOf(r.ruleset).evaluate(packet, { from: 'interface' }).outcomes;
    const again = netfilterOf(base).evaluate(packet, { from: 'interface' }).outcomes;
    expect(first.map((o) => `${o.packet.dst}:${o.packet.dport}`)).toEqual(['10.1.0.1:8080']);
    expect(second.map((o) => `${o.packet.dst}:${o.packet.dport}`)).toEqual(['10.2.0.2:9090']);
    expect(again.map((o) => `${o.packet.dst}:${o.packet.dport}`)).toEqual(['10.1.0.1:8080']);
  });
});
