/** The wire codec: frames, delimiter, HMAC-SHA256 signing and verification, buffers, bad input. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import crypto from 'node:crypto';
import { DELIMITER, ReplayedMessage, SignatureHistory, Signer, WireError, decode, encode, newHeader } from '../../kernel/wire.ts';

const KEY = 'a0436f6c-1916-498b-8eb9-e81ab9368e84';

/** Frames as a client would build them, signed independently with node:crypto. */
function clientFrames(key: string, content: object, identities: string[] = ['client-1'], buffers: Buffer[] = [], msgId = 'm1'): Buffer[] {
  const header = { msg_id: msgId, username: 'u', session: 's', date: '2024-01-01T00:00:00Z', msg_type: 'kernel_info_request', version: '5.3' };
  const json = [header, {}, {}, content].map((o) => JSON.stringify(o));
  const sig = key ? crypto.createHmac('sha256', key).update(json.join('')).digest('hex') : '';
  return [...identities.map((i) => Buffer.from(i)), Buffer.from('<IDS|MSG>'), Buffer.from(sig), ...json.map((j) => Buffer.from(j)), ...buffers];
}

test('a known HMAC-SHA256: the signature is the hex digest of the four JSON frames concatenated', () => {
  const frames = ['{"a":1}', '{}', '{}', '{"b":2}'].map((s) => Buffer.from(s));
  const expected = crypto.createHmac('sha256', 'key').update('{"a":1}{}{}{"b":2}').digest('hex');
  assert.is(new Signer('key').sign(frames), expected);
  assert.is(expected.length, 64);
});

test('decode splits identities, checks the signature and parses the JSON frames', () => {
  const msg = decode(clientFrames(KEY, { x: 1 }, ['id-a', 'id-b']), new Signer(KEY));
  assert.equal(msg.identities.map((b) => b.toString()), ['id-a', 'id-b']);
  assert.is(msg.header.msg_type, 'kernel_info_request');
  assert.is(msg.header.msg_id, 'm1');
  assert.equal(msg.parent_header, {});
  assert.equal(msg.content, { x: 1 });
  assert.equal(msg.buffers, []);
});

test('binary buffers after the content frame are kept and not signed', () => {
  const bufs = [Buffer.from([0, 1, 2, 255]), Buffer.from('second')];
  const msg = decode(clientFrames(KEY, {}, ['i'], bufs), new Signer(KEY));
  assert.is(msg.buffers.length, 2);
  assert.ok(msg.buffers[0].equals(bufs[0]));
  assert.is(msg.buffers[1].toString(), 'second');
});

test('a forged signature is rejected', () => {
  const frames = clientFrames(KEY, { code: 'x' });
  const at = frames.findIndex((f) => f.equals(DELIMITER));
  frames[at + 1] = Buffer.from('0'.repeat(64));
  assert.throws(() => decode(frames, new Signer(KEY)), (e: Error) => e instanceof WireError && /invalid signature/.test(e.message));
});

test('a message signed with another key, tampered content, a short or non-hex signature are rejected', () => {
  assert.throws(() => decode(clientFrames('other-key', {}), new Signer(KEY)), /invalid signature/);
  const frames = clientFrames(KEY, { code: '1' });
  frames[frames.length - 1] = Buffer.from(JSON.stringify({ code: '2' }));
  assert.throws(() => decode(frames, new Signer(KEY)), /invalid signature/);
  const sig = new Signer(KEY);
  const json = ['{}', '{}', '{}', '{}'].map((s) => Buffer.from(s));
  const good = sig.sign(json);
  assert.ok(sig.verify(good, json));
  assert.not.ok(sig.verify(good.slice(0, 62), json));
  assert.not.ok(sig.verify(good.slice(0, 63) + 'z', json));
  assert.not.ok(sig.verify('', json));
});

test('an empty key disables signing: empty signature, anything verifies', () => {
  const s = new Signer('');
  assert.not.ok(s.enabled);
  assert.is(s.sign([Buffer.from('{}')]), '');
  const msg = decode(clientFrames('', { a: 2 }), s);
  assert.equal(msg.content, { a: 2 });
});

test('missing delimiter, too few frames and bad JSON are WireErrors', () => {
  const s = new Signer('');
  assert.throws(() => decode([Buffer.from('x'), Buffer.from('{}')], s), /no <IDS\|MSG> delimiter/);
  assert.throws(() => decode([DELIMITER, Buffer.from(''), Buffer.from('{}')], s), /expected signature and 4 JSON frames/);
  const frames = clientFrames('', {});
  frames[frames.length - 1] = Buffer.from('{not json');
  assert.throws(() => decode(frames, s), /content is not valid JSON/);
  frames[frames.length - 1] = Buffer.from('[1]');
  assert.throws(() => decode(frames, s), /content is not a JSON object/);
});

test('encode then decode round-trips, with identities first and a valid signature', () => {
  const s = new Signer(KEY);
  const header = newHeader('execute_reply', 'sess');
  const parent = newHeader('execute_request', 'client');
  const frames = encode({ identities: [Buffer.from('peer')], header, parent_header: parent, content: { status: 'ok', n: 3 }, buffers: [Buffer.from('b')] }, s);
  assert.is(frames[0].toString(), 'peer');
  assert.ok(frames[1].equals(DELIMITER));
  const expected = crypto.createHmac('sha256', KEY).update(frames.slice(3, 7).map((f) => f.toString()).join('')).digest('hex');
  assert.is(frames[2].toString(), expected);
  const back = decode(frames, s);
  assert.equal(back.content, { status: 'ok', n: 3 });
  assert.is(back.parent_header.msg_id, parent.msg_id);
  assert.equal(back.metadata, {});
  assert.is(back.buffers[0].toString(), 'b');
});

test('new headers carry protocol 5.3, a fresh UUID, the session and an ISO date', () => {
  const a = newHeader('status', 's1'), b = newHeader('status', 's1');
  assert.is(a.version, '5.3');
  assert.is(a.session, 's1');
  assert.is(a.msg_type, 'status');
  assert.ok(/^[0-9a-f-]{36}$/.test(a.msg_id));
  assert.is.not(a.msg_id, b.msg_id);
  assert.ok(!Number.isNaN(Date.parse(a.date)) && a.date.endsWith('Z'));
});

test('other hmac schemes work and unknown schemes are refused', () => {
  const s = new Signer('k', 'hmac-sha512');
  assert.is(s.sign([Buffer.from('x')]), crypto.createHmac('sha512', 'k').update('x').digest('hex'));
  assert.throws(() => new Signer('k', 'rsa-sha256'), /unsupported signature_scheme/);
  assert.throws(() => new Signer('k', 'hmac-nohash'), /no hash/);
});

test('a replayed signature is refused once accepted; fresh messages pass; the history forgets the oldest first', () => {
  const signer = new Signer(KEY);
  const history = new SignatureHistory(2);
  const first = clientFrames(KEY, { x: 1 }, ['c'], [], 'm1');
  assert.is(decode(first, signer, history).header.msg_id, 'm1');
  assert.throws(() => decode(first, signer, history), (e: unknown) => e instanceof ReplayedMessage && e instanceof WireError && /replayed message/.test((e as Error).message));
  // the same frames from another identity, or with the signature in upper case, are the same replay
  const other = clientFrames(KEY, { x: 1 }, ['someone-else'], [], 'm1');
  assert.throws(() => decode(other, signer, history), (e: unknown) => e instanceof ReplayedMessage);
  const upper = first.map((f, i) => (i === 2 ? Buffer.from(f.toString().toUpperCase()) : f));
  assert.throws(() => decode(upper, signer, history), (e: unknown) => e instanceof ReplayedMessage);
  // a fresh message is accepted; after two more, m1's signature has been evicted
  assert.is(decode(clientFrames(KEY, { x: 1 }, ['c'], [], 'm2'), signer, history).header.msg_id, 'm2');
  assert.is(history.size, 2);
  decode(clientFrames(KEY, { x: 1 }, ['c'], [], 'm3'), signer, history);
  assert.is(history.size, 2);
  assert.is(decode(first, signer, history).header.msg_id, 'm1');
  // a rejected message is not recorded: its correctly signed twin still gets through once
  const bad = clientFrames(KEY, { x: 9 }, ['c'], [], 'm4');
  const forged = bad.map((f, i) => (i === 2 ? Buffer.from('0'.repeat(64)) : f));
  assert.throws(() => decode(forged, signer, history), /invalid signature/);
  assert.is(decode(bad, signer, history).header.msg_id, 'm4');
  assert.throws(() => new SignatureHistory(0), /positive integer/);
});

test('without a key nothing is signed and no replay history is kept', () => {
  const history = new SignatureHistory();
  const frames = clientFrames('', {});
  decode(frames, new Signer(''), history);
  assert.is(decode(frames, new Signer(''), history).header.msg_id, 'm1');
  assert.is(history.size, 0);
});

test.run();
