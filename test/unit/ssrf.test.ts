import { describe, expect, it, vi } from 'vitest';
import {
  BlockedAddressError,
  checkEndpointUrl,
  classifyAddress,
  DnsNoAnswerError,
  type GuardOptions,
  parseHostLiteral,
  type Resolver,
  resolveAndCheck,
} from '../../lambdas/core/ssrf.ts';

const STRICT: GuardOptions = { allowLoopback: false };
const LOCAL: GuardOptions = { allowLoopback: true };
const API_HOST = 'abc123.execute-api.eu-west-1.amazonaws.com';
const WITH_API_HOST: GuardOptions = { allowLoopback: false, blockedHosts: [`${API_HOST.toUpperCase()}.`] };

type Answer = { address: string; family: 4 | 6 };

/** A resolver backed by a table; it never touches the network. */
function fakeResolver(table: Record<string, Answer[]>) {
  return vi.fn<Resolver>(async (hostname) => table[hostname] ?? []);
}

describe('classifyAddress', () => {
  // [address, allowed without loopback, allowed with allowLoopback, reason fragment when refused]
  const cases: Array<[string, boolean, boolean, string?]> = [
    // IPv4 public unicast
    ['8.8.8.8', true, true],
    ['93.184.216.34', true, true],
    ['1.1.1.1', true, true],
    // IPv4 private
    ['10.0.0.1', false, false, 'private'],
    ['10.255.255.255', false, false, 'private'],
    ['172.16.0.1', false, false, 'private'],
    ['172.31.255.254', false, false, 'private'],
    ['172.32.0.1', true, true],
    ['192.168.1.1', false, false, 'private'],
    // IPv4 loopback, only with allowLoopback
    ['127.0.0.1', false, true, 'loopback'],
    ['127.255.255.254', false, true, 'loopback'],
    // IPv4 link-local and metadata
    ['169.254.0.1', false, false, 'link-local'],
    ['169.254.169.254', false, false, 'metadata'],
    ['169.254.170.2', false, false, 'link-local'],
    // IPv4 other special ranges
    ['100.64.0.1', false, false, 'carrier-grade NAT'],
    ['100.127.255.255', false, false, 'carrier-grade NAT'],
    ['100.128.0.1', true, true],
    ['0.0.0.0', false, false, 'unspecified'],
    ['0.1.2.3', false, false, 'unspecified'],
    ['255.255.255.255', false, false, 'broadcast'],
    ['224.0.0.1', false, false, 'multicast'],
    ['239.255.255.250', false, false, 'multicast'],
    ['192.0.2.1', false, false, 'reserved'],
    ['198.18.0.1', false, false, 'reserved'],
    ['240.0.0.1', false, false, 'reserved'],
    // IPv4 odd spellings are judged by the address they mean
    ['2130706433', false, true, 'loopback'],
    ['0177.0.0.1', false, true, 'loopback'],
    ['0x7f.0.0.1', false, true, 'loopback'],
    ['127.1', false, true, 'loopback'],
    ['0xa9fea9fe', false, false, 'metadata'],
    // IPv6 public and special
    ['2606:4700:4700::1111', true, true],
    ['2a00:1450:4001:82b::200e', true, true],
    ['::1', false, true, 'loopback'],
    ['[::1]', false, true, 'loopback'],
    ['0:0:0:0:0:0:0:1', false, true, 'loopback'],
    ['::', false, false, 'unspecified'],
    ['fe80::1', false, false, 'link-local'],
    ['febf::1', false, false, 'link-local'],
    ['fe80::1%eth0', false, false, 'scoped'],
    ['fe80::1%eth-0.5', false, false, 'scoped'],
    ['fc00::1', false, false, 'unique-local'],
    ['fd12:3456:789a::1', false, false, 'unique-local'],
    ['fd00:ec2::254', false, false, 'metadata'],
    ['ff02::1', false, false, 'multicast'],
    ['fec0::1', false, false, 'site-local'],
    ['2001:db8::1', false, false, 'documentation'],
    ['100::1', false, false, 'discard'],
    ['4000::1', false, false, 'global unicast'],
    // IPv4-mapped: judged by the embedded IPv4 address, loopback included
    ['::ffff:8.8.8.8', true, true],
    ['::ffff:127.0.0.1', false, true, 'loopback'],
    ['::ffff:7f00:1', false, true, 'loopback'],
    ['::ffff:10.0.0.1', false, false, 'private'],
    ['::ffff:169.254.169.254', false, false, 'metadata'],
    ['::ffff:a9fe:a9fe', false, false, 'metadata'],
    ['0:0:0:0:0:ffff:c0a8:0101', false, false, 'private'],
    // IPv4-compatible (deprecated)
    ['::8.8.8.8', true, true],
    ['::10.0.0.1', false, false, 'private'],
    ['::127.0.0.1', false, false, 'loopback'],
    // IPv4-translated (RFC 6145)
    ['::ffff:0:a00:1', false, false, 'private'],
    // NAT64: the embedded IPv4 address decides, loopback never allowed through it
    ['64:ff9b::8.8.8.8', true, true],
    ['64:ff9b::a9fe:a9fe', false, false, 'metadata'],
    ['64:ff9b::10.0.0.1', false, false, 'private'],
    ['64:ff9b::127.0.0.1', false, false, 'loopback'],
    ['64:ff9b:1::8.8.8.8', true, true],
    ['64:ff9b:1::c0a8:101', false, false, 'private'],
    ['64:ff9b:1:abcd::8.8.8.8', false, false, 'unknown layout'],
    // 6to4: the IPv4 address in bits 16-47
    ['2002:0808:0808::1', true, true],
    ['2002:0a00:0001::1', false, false, 'private'],
    ['2002:7f00:0001::1', false, false, 'loopback'],
    ['2002:a9fe:a9fe::1', false, false, 'metadata'],
    // Teredo: the client IPv4 address, inverted, in the last 32 bits
    ['2001:0:4136:e378:8000:63bf:f7f7:f7f7', true, true],
    ['2001:0:4136:e378:8000:63bf:f5ff:fffe', false, false, 'private'],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', false, false, 'loopback'],
    ['2001:0:4136:e378:8000:63bf:5601:5601', false, false, 'metadata'],
    // Not an address at all
    ['example.com', false, false, 'not an IP address'],
    ['1.2.3.4.5', false, false, 'not an IP address'],
    ['', false, false, 'not an IP address'],
  ];

  it.each(cases)('%s: allowed=%s, with allowLoopback=%s', (address, strictAllowed, localAllowed, reason) => {
    // Act
    const strict = classifyAddress(address, STRICT);
    const local = classifyAddress(address, LOCAL);

    // Assess
    expect(strict.allowed).toBe(strictAllowed);
    expect(local.allowed).toBe(localAllowed);
    if (!strict.allowed) {
      expect(strict.reason).toContain(reason);
    }
  });
});

describe('parseHostLiteral', () => {
  const cases: Array<[string, string | undefined]> = [
    ['127.0.0.1', '127.0.0.1'],
    ['127.0.0.1.', '127.0.0.1'],
    ['2130706433', '127.0.0.1'],
    ['017700000001', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['0x7f.0.0.1', '127.0.0.1'],
    ['0X7F.0X0.0.0X1', '127.0.0.1'],
    ['0x7f000001', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['10.1.1', '10.1.0.1'],
    ['0', '0.0.0.0'],
    ['0x', '0.0.0.0'],
    ['[::1]', '::1'],
    ['::1', '::1'],
    ['[0:0:0:0:0:ffff:7f00:1]', '::ffff:7f00:1'],
    ['::ffff:127.0.0.1', '::ffff:7f00:1'],
    ['::127.0.0.1', '::7f00:1'],
    ['[::10.0.0.1]', '::a00:1'],
    ['64:ff9b::169.254.169.254', '64:ff9b::a9fe:a9fe'],
    ['[2001:DB8::1]', '2001:db8::1'],
    ['fe80::0:1%eth-0', 'fe80::1%eth-0'],
    ['example.com', undefined],
    ['localhost', undefined],
    ['1.2.3.4.5', undefined],
    ['256.0.0.1', undefined],
    ['1.2.3.256', undefined],
    ['4294967296', undefined],
    ['08.0.0.1', undefined],
    ['0xg.0.0.1', undefined],
    ['[127.0.0.1]', undefined],
    ['[example.com]', undefined],
    ['', undefined],
  ];

  it.each(cases)('%s → %s', (host, expected) => {
    // Act / Assess
    expect(parseHostLiteral(host)).toBe(expected);
  });

  it('agrees with how WHATWG URL normalises the same hosts', () => {
    // Prepare
    const hosts = [
      '2130706433',
      '0177.0.0.1',
      '0x7f.0.0.1',
      '127.1',
      '127.0.0.1.',
      '0x7f000001',
      '10.1.1',
      '0x',
    ];

    for (const host of hosts) {
      // Act
      const normalised = new URL(`https://${host}/`).hostname;

      // Assess
      expect(parseHostLiteral(normalised)).toBe(parseHostLiteral(host));
    }
  });
});

describe('checkEndpointUrl', () => {
  // [url, options, ok, reason fragment when refused]
  const cases: Array<[string, GuardOptions, boolean, string?]> = [
    ['https://example.com/hooks', STRICT, true],
    ['https://example.com:8443/hooks?x=1', STRICT, true],
    ['https://8.8.8.8/hook', STRICT, true],
    ['https://[2606:4700:4700::1111]/hook', STRICT, true],
    ['http://example.com/hook', STRICT, false, 'https'],
    ['http://example.com/hook', LOCAL, false, 'https'],
    ['ftp://example.com/hook', STRICT, false, 'https'],
    ['javascript:alert(1)', STRICT, false, 'https'],
    ['not a url', STRICT, false, 'parse'],
    ['https://', STRICT, false, 'parse'],
    ['https://user@example.com/hook', STRICT, false, 'user name'],
    ['https://user:pass@example.com/hook', STRICT, false, 'user name'],
    ['https://:pass@example.com/hook', STRICT, false, 'user name'],
    [`https://example.com/${'a'.repeat(2048)}`, STRICT, false, 'longer than 2048'],
    // Literal internal addresses, in every spelling
    ['https://10.0.0.1/hook', STRICT, false, 'private'],
    ['https://192.168.0.10/hook', STRICT, false, 'private'],
    ['https://169.254.169.254/latest/meta-data/', STRICT, false, 'metadata'],
    ['https://169.254.169.254/latest/meta-data/', LOCAL, false, 'metadata'],
    ['https://[fd00:ec2::254]/', STRICT, false, 'metadata'],
    ['https://[fe80::1]/', STRICT, false, 'link-local'],
    ['https://[::ffff:10.0.0.1]/', STRICT, false, 'private'],
    ['https://[::ffff:169.254.169.254]/', STRICT, false, 'metadata'],
    ['https://[64:ff9b::a9fe:a9fe]/', STRICT, false, 'metadata'],
    ['https://[2002:a9fe:a9fe::1]/', STRICT, false, 'metadata'],
    ['https://127.0.0.1/hook', STRICT, false, 'loopback'],
    ['https://2130706433/hook', STRICT, false, 'loopback'],
    ['https://0177.0.0.1/hook', STRICT, false, 'loopback'],
    ['https://0x7f.0.0.1/hook', STRICT, false, 'loopback'],
    ['https://127.1/hook', STRICT, false, 'loopback'],
    ['https://[::1]/hook', STRICT, false, 'loopback'],
    ['https://0.0.0.0/hook', STRICT, false, 'unspecified'],
    ['https://0.0.0.0/hook', LOCAL, false, 'unspecified'],
    ['https://10.0.0.1/hook', LOCAL, false, 'private'],
    // localhost names
    ['https://localhost/hook', STRICT, false, 'localhost'],
    ['https://LOCALHOST./hook', STRICT, false, 'localhost'],
    ['https://api.localhost/hook', STRICT, false, 'localhost'],
    // Loopback in local mode, over http too
    ['http://127.0.0.1:4000/hook', LOCAL, true],
    ['http://2130706433:4000/hook', LOCAL, true],
    ['http://[::1]:4000/hook', LOCAL, true],
    ['http://[::ffff:127.0.0.1]:4000/hook', LOCAL, true],
    ['http://localhost:4000/hook', LOCAL, true],
    ['https://localhost:4000/hook', LOCAL, true],
    ['http://127.0.0.1:4000/hook', STRICT, false, 'https'],
    ['http://localhost:4000/hook', STRICT, false, 'https'],
    // Our own API host, whatever the case and trailing dot
    [`https://${API_HOST}/events`, WITH_API_HOST, false, 'not allowed'],
    [`https://${API_HOST.toUpperCase()}./events`, WITH_API_HOST, false, 'not allowed'],
    [`https://${API_HOST}../events`, WITH_API_HOST, false, 'not allowed'],
    [`https://other.${API_HOST}/events`, WITH_API_HOST, true],
  ];

  it.each(cases)('%s with %o → ok=%s', (raw, options, ok, reason) => {
    // Act
    const verdict = checkEndpointUrl(raw, options);

    // Assess
    expect(verdict.ok).toBe(ok);
    if (verdict.ok) {
      expect(verdict.url.href).toBe(new URL(raw).href);
    } else {
      expect(verdict.reason).toContain(reason);
    }
  });

  it('accepts a URL of exactly 2048 characters', () => {
    // Prepare
    const prefix = 'https://example.com/';
    const raw = prefix + 'a'.repeat(2048 - prefix.length);

    // Act / Assess
    expect(checkEndpointUrl(raw, STRICT).ok).toBe(true);
  });
});

describe('resolveAndCheck', () => {
  it('returns the first answer when every answer is public', async () => {
    // Prepare
    const resolver = fakeResolver({
      'example.com': [
        { address: '93.184.216.34', family: 4 },
        { address: '2606:2800:220:1:248:1893:25c8:1946', family: 6 },
      ],
    });

    // Act
    const target = await resolveAndCheck('example.com', resolver, STRICT);

    // Assess
    expect(target).toEqual({ address: '93.184.216.34', family: 4 });
    expect(resolver).toHaveBeenCalledExactlyOnceWith('example.com');
  });

  it.each([
    ['a private answer after a public one', ['8.8.8.8', '10.0.0.1']],
    ['a private answer before a public one', ['10.0.0.1', '8.8.8.8']],
    ['the metadata address', ['169.254.169.254']],
    ['an IPv4-mapped loopback', ['8.8.8.8', '::ffff:127.0.0.1']],
    ['a NAT64 form of the metadata address', ['64:ff9b::a9fe:a9fe']],
    ['something that is not an address', ['8.8.8.8', 'bogus']],
  ])('refuses a name that resolves to %s', async (_label, addresses) => {
    // Prepare
    const resolver = fakeResolver({
      'evil.example': addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    });

    // Act
    const outcome = resolveAndCheck('evil.example', resolver, STRICT);

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(BlockedAddressError);
    await expect(outcome).rejects.toMatchObject({ code: 'blocked_address' });
  });

  it('asks the resolver once per check and returns the canonical form of the address it checked', async () => {
    // Prepare: the answer is spelled as a resolver may spell it (IPv4-mapped IPv6, upper case).
    // That the socket then connects to this address, so a DNS answer that changes afterwards
    // cannot take effect, is test/hardening/ssrf-delivery.test.ts ("DNS answers that change").
    const resolver = vi.fn<Resolver>(async () => [{ address: '::FFFF:8.8.8.8', family: 6 }]);

    // Act
    const target = await resolveAndCheck('hooks.example', resolver, STRICT);

    // Assess
    expect(target).toEqual({ address: '::ffff:808:808', family: 6 });
    expect(resolver).toHaveBeenCalledTimes(1);
    expect(resolver).toHaveBeenCalledWith('hooks.example');
  });

  it('judges each call on its own answer: a name that now resolves to metadata is refused', async () => {
    // Prepare: the same name, public on the first lookup and the metadata address on the second.
    const answers: Answer[][] = [
      [{ address: '8.8.8.8', family: 4 }],
      [{ address: '169.254.169.254', family: 4 }],
    ];
    const resolver = vi.fn<Resolver>(async () => answers.shift() ?? []);

    // Act
    const first = await resolveAndCheck('rebind.example', resolver, STRICT);
    const second = resolveAndCheck('rebind.example', resolver, STRICT);

    // Assess
    expect(first).toEqual({ address: '8.8.8.8', family: 4 });
    await expect(second).rejects.toMatchObject({ code: 'blocked_address', address: '169.254.169.254' });
    await expect(second).rejects.toThrow(/metadata/);
  });

  it.each([
    ['127.0.0.1', STRICT, false],
    ['2130706433', STRICT, false],
    ['[::1]', STRICT, false],
    ['169.254.169.254', LOCAL, false],
    ['127.0.0.1', LOCAL, true],
    ['[::1]', LOCAL, true],
    ['8.8.8.8', STRICT, true],
    ['[2606:4700:4700::1111]', STRICT, true],
  ] as const)('judges the literal %s without calling the resolver', async (host, options, allowed) => {
    // Prepare
    const resolver = fakeResolver({});

    // Act
    const outcome = resolveAndCheck(host, resolver, options);

    // Assess
    if (allowed) {
      await expect(outcome).resolves.toMatchObject({ address: parseHostLiteral(host) });
    } else {
      await expect(outcome).rejects.toBeInstanceOf(BlockedAddressError);
    }
    expect(resolver).not.toHaveBeenCalled();
  });

  it('returns the family of a literal IPv6 address', async () => {
    // Act
    const target = await resolveAndCheck('[2606:4700:4700::1111]', fakeResolver({}), STRICT);

    // Assess
    expect(target).toEqual({ address: '2606:4700:4700::1111', family: 6 });
  });

  it('allows localhost to resolve to loopback only in local mode', async () => {
    // Prepare
    const resolver = fakeResolver({
      localhost: [
        { address: '127.0.0.1', family: 4 },
        { address: '::1', family: 6 },
      ],
    });

    // Act / Assess
    await expect(resolveAndCheck('localhost', resolver, LOCAL)).resolves.toEqual({
      address: '127.0.0.1',
      family: 4,
    });
    await expect(resolveAndCheck('localhost', resolver, STRICT)).rejects.toBeInstanceOf(BlockedAddressError);
  });

  it('refuses a blocked host before resolving it', async () => {
    // Prepare
    const resolver = fakeResolver({ [API_HOST]: [{ address: '8.8.8.8', family: 4 }] });

    // Act
    const outcome = resolveAndCheck(`${API_HOST}.`, resolver, WITH_API_HOST);

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(BlockedAddressError);
    expect(resolver).not.toHaveBeenCalled();
  });

  it('throws dns_no_answer when the resolver returns nothing', async () => {
    // Act
    const outcome = resolveAndCheck('nowhere.example', fakeResolver({}), STRICT);

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(DnsNoAnswerError);
    await expect(outcome).rejects.toMatchObject({ code: 'dns_no_answer' });
  });

  it('passes resolver failures through unchanged', async () => {
    // Prepare
    const failure = Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    const resolver: Resolver = async () => {
      throw failure;
    };

    // Act / Assess
    await expect(resolveAndCheck('nowhere.example', resolver, STRICT)).rejects.toBe(failure);
  });
});
