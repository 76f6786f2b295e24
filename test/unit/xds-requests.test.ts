// ACKs are read without protobufjs (src/xds/requests.ts): what is read equals
// protobufjs's decode, anything beyond an ACK's fields is left to protobufjs,
// and a subscription repeated byte for byte costs no strings.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TypeLedger } from '../../src/xds/ledger.js';
import { lookupType } from '../../src/xds/protos.js';
import { readAck } from '../../src/xds/requests.js';

const Req = lookupType('envoy.service.discovery.v3.DiscoveryRequest');
const encode = (m: object) => Buffer.from(Req.encode(Req.fromObject(m)).finish());
const ascii = fc.string({ unit: fc.constantFrom('a', 'Z', '0', '.', '-', ':', '/', '@', '_', ' '), maxLength: 300 });

describe('reading ACKs', () => {
  it('reads what protobufjs reads, for requests with an ACK\'s fields', () => {
    const request = fc.record({ versionInfo: ascii, typeUrl: ascii, responseNonce: ascii, resourceNames: fc.array(ascii, { maxLength: 30 }) }, { requiredKeys: [] });
    fc.assert(
      fc.property(request, (m) => {
        const bytes = encode(m);
        const ack = readAck(bytes)!;
        expect(ack).toBeDefined();
        const ref = Req.decode(bytes) as unknown as { versionInfo: string; typeUrl: string; responseNonce: string; resourceNames: string[] };
        expect({ versionInfo: ack.versionInfo, typeUrl: ack.typeUrl, responseNonce: ack.responseNonce, resourceNames: ack.resourceNames }).toEqual({ versionInfo: ref.versionInfo, typeUrl: ref.typeUrl, responseNonce: ref.responseNonce, resourceNames: ref.resourceNames });
      }),
      { numRuns: 1000 },
    );
  });

  it('leaves a node, an error, other fields, non-ASCII text and broken bytes to protobufjs', () => {
    const others = [
      encode({ node: { id: 'n' }, typeUrl: 't' }),
      encode({ typeUrl: 't', responseNonce: '1', errorDetail: { code: 3, message: 'bad' } }),
      encode({ typeUrl: 't', resourceLocators: [{ name: 'x' }] }),
      encode({ typeUrl: 'tÿpe' }),
      encode({ typeUrl: 't', resourceNames: ['日本'] }),
      Buffer.from([0x22, 0x05, 0x61]), // a length past the end
      Buffer.from([0x20, 0x01]), // a varint field
      Buffer.from([0x22, 0x81, 0x00, 0x61]), // a length written in more bytes than needed
      Buffer.concat([encode({ resourceNames: ['a'] }), encode({ typeUrl: 't' }), encode({ resourceNames: ['b'] })]), // names not in one run
    ];
    for (const b of others) expect(readAck(b), b.toString('hex')).toBeUndefined();
  });

  it('a subscription repeated byte for byte is not read again; a different one is', () => {
    const st = new TypeLedger();
    const ack = (names: string[]) => readAck(encode({ typeUrl: 't', resourceNames: names }))!;
    let reads = 0;
    const set = (a: ReturnType<typeof ack>) => st.setSotwSubscription(a.namesKey, () => (reads++, a.resourceNames));
    set(ack(['a', 'b']));
    const first = st.subscription;
    expect([...st.names]).toEqual(['a', 'b']);
    set(ack(['a', 'b']));
    set(ack(['a', 'b']));
    expect(reads).toBe(1);
    expect(st.subscription).toBe(first);
    set(ack(['a', 'c']));
    expect(reads).toBe(2);
    expect(st.subscription).toBe(first + 1);
    expect([...st.names]).toEqual(['a', 'c']);
    // A request read by protobufjs (no key) is compared by its names, as before.
    st.setSotwSubscription(undefined, () => ['a', 'c']);
    expect(st.subscription).toBe(first + 1);
    set(ack([]));
    expect(st.wildcard).toBe(true);
    expect(st.subscription).toBe(first + 2);
  });
});
