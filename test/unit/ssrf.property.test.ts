/**
 * Properties of the SSRF guard: the verdict on an address does not depend on how it is
 * spelled, and an IPv4 address carried in a translation or tunnel form is judged as that IPv4
 * address with loopback never allowed. No network: literals only, and a resolver that fails
 * the test if it is asked anything.
 */
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import {
  checkEndpointUrl,
  classifyAddress,
  type GuardOptions,
  parseHostLiteral,
  type Resolver,
  resolveAndCheck,
} from '../../lambdas/core/ssrf.ts';

const RUNS = { numRuns: 150 };
const STRICT: GuardOptions = { allowLoopback: false };
const LOCAL: GuardOptions = { allowLoopback: true };
const BOTH = [STRICT, LOCAL];

const noLookup: Resolver = async (hostname) => {
  throw new Error(`a literal must not be resolved, got ${hostname}`);
};

const byte = fc.integer({ min: 0, max: 255 });
/** IPv4 addresses, with the first octet biased towards the special ranges. */
const ipv4 = fc.tuple(
  fc.oneof(byte, fc.constantFrom(0, 10, 100, 127, 169, 172, 192, 198, 203, 224, 240, 255)),
  fc.oneof(byte, fc.constantFrom(0, 16, 31, 64, 88, 168, 254, 255)),
  byte,
  byte,
) as fc.Arbitrary<[number, number, number, number]>;

const dotted = (v4: readonly number[]): string => v4.join('.');
const v4Number = (v4: readonly number[]): number => v4.reduce((sum, part) => sum * 256 + part, 0);
const hex16 = (high: number, low: number): string => ((high << 8) | low).toString(16);

type PartStyle = 'dec' | 'oct' | 'hex' | 'HEX';
const part = (value: number, style: PartStyle): string => {
  switch (style) {
    case 'dec':
      return String(value);
    case 'oct':
      return `0${value.toString(8)}`;
    case 'hex':
      return `0x${value.toString(16)}`;
    case 'HEX':
      return `0X${value.toString(16).toUpperCase()}`;
  }
};
const partStyle = fc.constantFrom<PartStyle>('dec', 'oct', 'hex', 'HEX');

/** Every way the WHATWG URL parser (and inet_aton) reads the same IPv4 address. */
function ipv4Spellings(v4: [number, number, number, number], styles: PartStyle[]): string[] {
  const [a, b, c, d] = v4;
  const value = v4Number(v4);
  const mixed = v4.map((p, i) => part(p, styles[i] ?? 'dec')).join('.');
  return [
    dotted(v4),
    `${dotted(v4)}.`,
    String(value),
    `0x${value.toString(16)}`,
    `0${value.toString(8)}`,
    mixed,
    `${a}.${b}.${part(c * 256 + d, styles[0] ?? 'dec')}`,
    `${part(a, styles[1] ?? 'dec')}.${part(b * 65536 + c * 256 + d, styles[2] ?? 'dec')}`,
  ];
}

/** The IPv4-mapped IPv6 spellings of the same address (judged by the IPv4 address, same options). */
function mappedSpellings(v4: [number, number, number, number]): string[] {
  const [a, b, c, d] = v4;
  return [
    `::ffff:${dotted(v4)}`,
    `[::ffff:${dotted(v4)}]`,
    `::ffff:${hex16(a, b)}:${hex16(c, d)}`,
    `0:0:0:0:0:FFFF:${hex16(a, b).toUpperCase()}:${hex16(c, d).toUpperCase()}`,
    `[0000:0000:0000:0000:0000:ffff:${dotted(v4)}]`,
  ];
}

describe('classifyAddress gives one verdict per IPv4 address, however it is spelled', () => {
  it('in decimal, octal, hex, short and trailing-dot forms: the same verdict and reason', () => {
    fc.assert(
      fc.property(ipv4, fc.array(partStyle, { minLength: 4, maxLength: 4 }), (v4, styles) => {
        for (const options of BOTH) {
          const reference = classifyAddress(dotted(v4), options);
          for (const spelling of ipv4Spellings(v4, styles)) {
            expect({ spelling, verdict: classifyAddress(spelling, options) }).toEqual({
              spelling,
              verdict: reference,
            });
          }
        }
      }),
      RUNS,
    );
  });

  it('in IPv4-mapped IPv6 forms (dotted or hex tail, brackets, expanded, upper case): the same allowed', () => {
    fc.assert(
      fc.property(ipv4, (v4) => {
        for (const options of BOTH) {
          const reference = classifyAddress(dotted(v4), options).allowed;
          for (const spelling of mappedSpellings(v4)) {
            expect({ spelling, allowed: classifyAddress(spelling, options).allowed }).toEqual({
              spelling,
              allowed: reference,
            });
          }
        }
      }),
      RUNS,
    );
  });

  it('parses every spelling to the same canonical address, which resolveAndCheck returns without a lookup', async () => {
    await fc.assert(
      fc.asyncProperty(ipv4, fc.array(partStyle, { minLength: 4, maxLength: 4 }), async (v4, styles) => {
        const allowed = classifyAddress(dotted(v4), STRICT).allowed;
        for (const spelling of ipv4Spellings(v4, styles)) {
          expect(parseHostLiteral(spelling)).toBe(dotted(v4));
          const outcome = resolveAndCheck(spelling, noLookup, STRICT);
          if (allowed) await expect(outcome).resolves.toEqual({ address: dotted(v4), family: 4 });
          else await expect(outcome).rejects.toMatchObject({ code: 'blocked_address', address: dotted(v4) });
        }
      }),
      { numRuns: 100 },
    );
  });

  it('accepts or refuses an https endpoint URL the same way for every spelling of its host', () => {
    fc.assert(
      fc.property(ipv4, fc.array(partStyle, { minLength: 4, maxLength: 4 }), (v4, styles) => {
        const reference = checkEndpointUrl(`https://${dotted(v4)}/hook`, STRICT).ok;
        expect(reference).toBe(classifyAddress(dotted(v4), STRICT).allowed);
        const hosts = [...ipv4Spellings(v4, styles), `[::ffff:${dotted(v4)}]`];
        for (const host of hosts) {
          expect({ host, ok: checkEndpointUrl(`https://${host}/hook`, STRICT).ok }).toEqual({
            host,
            ok: reference,
          });
        }
      }),
      RUNS,
    );
  });
});

describe('IPv4 addresses inside translation and tunnel forms', () => {
  /** Forms whose embedded IPv4 address is not reached through our own loopback. */
  function tunnelForms(v4: [number, number, number, number]): Array<[string, string]> {
    const [a, b, c, d] = v4;
    const high = (a << 8) | b;
    const low = (c << 8) | d;
    const forms: Array<[string, string]> = [
      ['IPv4-translated', `::ffff:0:${dotted(v4)}`],
      ['NAT64', `64:ff9b::${dotted(v4)}`],
      ['NAT64 local use', `64:ff9b:1::${hex16(a, b)}:${hex16(c, d)}`],
      ['6to4', `2002:${high.toString(16)}:${low.toString(16)}::1`],
      ['Teredo', `2001:0:4136:e378:8000:63bf:${(high ^ 0xffff).toString(16)}:${(low ^ 0xffff).toString(16)}`],
    ];
    // ::0.0.0.0 and ::0.0.0.1 are the unspecified and loopback addresses, not compatible ones.
    if (v4Number(v4) > 1) forms.push(['IPv4-compatible', `::${dotted(v4)}`]);
    return forms;
  }

  it('judges the embedded address as it would be judged alone, loopback refused even in local mode', () => {
    fc.assert(
      fc.property(ipv4, (v4) => {
        const alone = classifyAddress(dotted(v4), STRICT).allowed;
        for (const [kind, address] of tunnelForms(v4)) {
          for (const options of BOTH) {
            expect({
              kind,
              address,
              local: options.allowLoopback,
              allowed: classifyAddress(address, options).allowed,
            }).toEqual({
              kind,
              address,
              local: options.allowLoopback,
              allowed: alone,
            });
          }
        }
      }),
      RUNS,
    );
  });

  it('names the form and the embedded address when it refuses', () => {
    fc.assert(
      fc.property(ipv4, (v4) => {
        fc.pre(!classifyAddress(dotted(v4), STRICT).allowed);
        for (const [kind, address] of tunnelForms(v4)) {
          const verdict = classifyAddress(address, LOCAL);
          expect(verdict.allowed).toBe(false);
          if (!verdict.allowed)
            expect(verdict.reason).toContain(
              `${kind.replace(' local use', '')} address embedding ${dotted(v4)}`,
            );
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('classifyAddress gives one verdict per IPv6 address, however it is spelled', () => {
  const group = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
  const first = fc.oneof(
    fc.integer({ min: 0, max: 0xffff }),
    fc.constantFrom(0, 0x64, 0x100, 0x2001, 0x2002, 0x2606, 0x3fff, 0xfc00, 0xfd00, 0xfe80, 0xfec0, 0xff02),
  );
  const ipv6 = fc.tuple(first, group, group, group, group, group, group, group);

  function ipv6Spellings(groups: number[]): string[] {
    const address = new ipaddr.IPv6(groups);
    const padded = groups.map((g) => g.toString(16).padStart(4, '0')).join(':');
    const [g6 = 0, g7 = 0] = groups.slice(6);
    const tail = `${g6 >> 8}.${g6 & 0xff}.${g7 >> 8}.${g7 & 0xff}`;
    return [
      address.toString(),
      address.toNormalizedString(),
      padded,
      padded.toUpperCase(),
      `[${address.toString()}]`,
      // The last 32 bits may always be written as dotted IPv4 (RFC 4291 2.2).
      `${groups
        .slice(0, 6)
        .map((g) => g.toString(16))
        .join(':')}:${tail}`,
    ];
  }

  it('compressed, expanded, zero-padded, upper case, bracketed or with a dotted tail: the same verdict', () => {
    fc.assert(
      fc.property(ipv6, (groups) => {
        const spellings = ipv6Spellings(groups);
        for (const options of BOTH) {
          const reference = classifyAddress(spellings[0]!, options);
          for (const spelling of spellings) {
            expect({ spelling, verdict: classifyAddress(spelling, options) }).toEqual({
              spelling,
              verdict: reference,
            });
          }
        }
      }),
      RUNS,
    );
  });

  it('checks every address a name resolves to: one refused answer refuses the name, in any order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            ipv4.map(dotted),
            ipv6.map((g) => new ipaddr.IPv6(g).toString()),
          ),
          {
            minLength: 1,
            maxLength: 6,
          },
        ),
        async (addresses) => {
          const answers = addresses.map((address) => ({
            address,
            family: (address.includes(':') ? 6 : 4) as 4 | 6,
          }));
          const resolver: Resolver = async () => answers;
          const outcome = resolveAndCheck('hooks.example', resolver, STRICT);
          if (addresses.every((address) => classifyAddress(address, STRICT).allowed)) {
            await expect(outcome).resolves.toEqual({
              address: parseHostLiteral(addresses[0]!),
              family: answers[0]!.family,
            });
          } else {
            await expect(outcome).rejects.toMatchObject({ code: 'blocked_address' });
          }
        },
      ),
      RUNS,
    );
  });
});
