// Name and value syntax, with the good/bad values of apimachinery's util/validation tests.
import { describe, expect, test } from 'vitest';
import {
  closest,
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidLabelValue,
  isValidPortName,
  isValidPortNum,
  isWildcardDNS1123Subdomain,
} from '../../src/manifest/syntax.js';

const r = (c: string, n: number) => c.repeat(n);

describe('IsDNS1123Label', () => {
  test.each(['a', 'ab', 'abc', 'a1', 'a-1', 'a--1--2--b', '0', '01', '012', '1a', '1-a', '1--a--b--2', r('a', 63)])('accepts %s', (v) => {
    expect(isDNS1123Label(v)).toEqual([]);
  });
  test.each(['', 'A', 'ABC', 'aBc', 'A1', 'A-1', '1-A', '-', 'a-', '-a', '1-', '-1', '_', 'a_', '_a', 'a_b', '1_', '_1', '1_2', '.', 'a.', '.a', 'a.b', '1.', '.1', '1.2', ' ', 'a ', ' a', 'a b', '1 ', ' 1', '1 2', r('a', 64)])(
    'rejects %j',
    (v) => {
      expect(isDNS1123Label(v).length).toBeGreaterThan(0);
    },
  );
  test('too long label says so with the upstream wording', () => {
    expect(isDNS1123Label(r('a', 64))).toEqual(['must be no more than 63 characters']);
  });
});

describe('IsDNS1123Subdomain', () => {
  test.each(['a', 'ab', 'a-1', 'a--1--2--b', '0', '1-a', 'a.a', 'ab.a', 'a--1--2--b.a', 'a.1', '0.a', 'a.b.c.d.e', 'aa.bb.cc.dd.ee', '1.2.3.4.5', '11.22.33.44.55', r('a', 253)])('accepts %s', (v) => {
    expect(isDNS1123Subdomain(v)).toEqual([]);
  });
  test.each(['', 'A', 'aBc', '-', 'a-', '-a', '_', 'a_b', '.', 'a.', '.a', 'a..b', '1..2', ' ', 'a b', 'A.a', 'aB.a', 'ab.A', '0.A', 'A.B.C.D.E', 'a.B.c.d.e', 'a@b', 'a,b', 'a;b', 'a:b', 'a%b', 'a?b', 'a$b', r('a', 254)])(
    'rejects %j',
    (v) => {
      expect(isDNS1123Subdomain(v).length).toBeGreaterThan(0);
    },
  );
});

describe('IsDNS1035Label', () => {
  test.each(['a', 'ab', 'abc', 'a1', 'a-1', 'a--1--2--b', r('a', 63)])('accepts %s', (v) => {
    expect(isDNS1035Label(v)).toEqual([]);
  });
  test.each(['0', '01', '012', '1a', '1-a', '1--a--b--2', '', 'A', 'ABC', 'aBc', 'A1', '-', 'a-', '-a', '_', 'a_b', '.', 'a.b', ' ', 'a b', r('a', 64)])('rejects %j', (v) => {
    expect(isDNS1035Label(v).length).toBeGreaterThan(0);
  });
  test('the message is the upstream DNS-1035 one', () => {
    expect(isDNS1035Label('1abc')[0]).toMatch(/^a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character/);
  });
});

describe('IsValidPortName (IANA_SVC_NAME)', () => {
  test.each(['telnet', 're-mail-ck', 'pop3', 'a', 'a-1', '1-a', 'a-1-b-2-c', '1-a-2-b-3'])('accepts %s', (v) => {
    expect(isValidPortName(v)).toEqual([]);
  });
  test.each([
    ['longerthan15characters', 'must be no more than 15 characters'],
    ['', 'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'],
    [r('a', 16), 'must be no more than 15 characters'],
    ['12345', 'must contain at least one letter (a-z)'],
    ['1-2-3-4', 'must contain at least one letter (a-z)'],
    ['-begin', 'must not begin or end with a hyphen'],
    ['end-', 'must not begin or end with a hyphen'],
    ['two--hyphens', 'must not contain consecutive hyphens'],
    ['whois++', 'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'],
    ['HTTP', 'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'],
  ])('rejects %j: %s', (v, msg) => {
    expect(isValidPortName(v)).toContain(msg);
  });
});

describe('IsValidPortNum', () => {
  test.each([1, 80, 65535])('accepts %d', (n) => expect(isValidPortNum(n)).toEqual([]));
  test.each([0, -1, 65536, 1.5])('rejects %d', (n) => expect(isValidPortNum(n)).toEqual(['must be between 1 and 65535, inclusive']));
});

describe('IsQualifiedName', () => {
  test.each([
    'simple',
    'now-with-dashes',
    '1-starts-with-num',
    '1234',
    'simple/simple',
    'now-with-dashes/simple',
    'now.with.dots/simple',
    '1-num.2-num/3-num',
    '1234/5678',
    '1.2.3.4/5678',
    'Uppercase_Is_OK_123',
    'example.com/Uppercase_Is_OK_123',
    'requests.storage-foo',
    r('a', 63),
    `${r('a', 253)}/${r('b', 63)}`,
  ])('accepts %s', (v) => expect(isQualifiedName(v)).toEqual([]));
  test.each(['nospecialchars%^=@', 'cantendwithadash-', '-cantstartwithadash-', 'only/one/slash', 'Example.com/abc', 'example_com/abc', 'example.com/', '/simple', r('a', 64), `${r('a', 254)}/abc`])(
    'rejects %j',
    (v) => expect(isQualifiedName(v).length).toBeGreaterThan(0),
  );
});

describe('IsValidLabelValue', () => {
  test.each(['simple', 'now-with-dashes', '1-starts-with-num', 'end-with-num-1', '1234', r('a', 63), ''])('accepts %j', (v) => expect(isValidLabelValue(v)).toEqual([]));
  test.each(['nospecialchars%^=@', 'Tama-nui-te-rā.is.Māori.sun', '\\backslashes\\are\\bad', '-starts-with-dash', 'ends-with-dash-', '.starts.with.dot', 'ends.with.dot.', r('a', 64)])(
    'rejects %j',
    (v) => expect(isValidLabelValue(v).length).toBeGreaterThan(0),
  );
});

describe('wildcard subdomains (Ingress hosts)', () => {
  test('accepts *.example.com and rejects a bare * or a * inside', () => {
    expect(isWildcardDNS1123Subdomain('*.example.com')).toEqual([]);
    expect(isWildcardDNS1123Subdomain('*').length).toBeGreaterThan(0);
    expect(isWildcardDNS1123Subdomain('foo.*.com').length).toBeGreaterThan(0);
  });
});

describe('did-you-mean suggestions', () => {
  test('finds a case-insensitive match and a close typo, not a far word', () => {
    expect(closest('nodeport', ['port', 'nodePort', 'targetPort'])).toBe('nodePort');
    expect(closest('contaners', ['containers', 'volumes'])).toBe('containers');
    expect(closest('zzz', ['containers', 'volumes'])).toBeUndefined();
  });
});
