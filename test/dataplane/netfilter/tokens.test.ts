// iptables-restore argument splitting and iptables-save string quoting (libxtables rules).
import { describe, expect, it } from 'vitest';
import { saveString, tokenizeLine } from '../../../src/dataplane/netfilter/index.js';

function values(line: string): string[] {
  const r = tokenizeLine(line);
  if (!r.ok) throw new Error(r.message);
  return r.tokens.map((t) => t.value);
}

describe('tokenizing restore lines', () => {
  it('splits on blanks, unquotes double quotes and unescapes inside them only', () => {
    expect(values('-A X -m comment --comment "a b" -j ACCEPT')).toEqual(['-A', 'X', '-m', 'comment', '--comment', 'a b', '-j', 'ACCEPT']);
    expect(values('--comment "it\\\'s \\"quoted\\" \\\\ here"')).toEqual(['--comment', 'it\'s "quoted" \\ here']);
    expect(values('--comment a\\b')).toEqual(['--comment', 'a\\b']);
    expect(values('--comment ""')).toEqual(['--comment', '']);
    expect(values('  -A\tX  ')).toEqual(['-A', 'X']);
  });

  it('keeps each argument as written for the exact printer', () => {
    const r = tokenizeLine('--comment "a \\"b\\"" x');
    expect(r.ok && r.tokens.map((t) => t.raw)).toEqual(['--comment', '"a \\"b\\""', 'x']);
  });

  it('refuses an unterminated quote', () => {
    expect(tokenizeLine('--comment "open')).toEqual({ ok: false, message: 'unterminated quoted string' });
  });

  it('quotes like xtables_save_string: bare when only [A-Za-z0-9_-], else quoted with \\ before " \' \\', () => {
    expect(saveString('flanneld-masq_1')).toBe('flanneld-masq_1');
    expect(saveString('ns1/svc1:p80')).toBe('"ns1/svc1:p80"');
    expect(saveString("it's \"x\" \\")).toBe('"it\\\'s \\"x\\" \\\\"');
    expect(saveString('')).toBe('""');
  });
});
