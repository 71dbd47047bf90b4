/**
 * The Jupyter wire format: how one message becomes the multipart frames of a zeromq message and back.
 *
 * Frames, in order: zero or more routing identities (ROUTER sockets prepend them; replies must carry
 * them back), the delimiter `<IDS|MSG>`, the HMAC signature (lowercase hex), then four JSON frames —
 * header, parent_header, metadata, content — and any binary buffers. The signature is the HMAC (the
 * connection file's `signature_scheme`, normally hmac-sha256, keyed with its `key`) of the four JSON
 * frames exactly as they are on the wire; buffers are not signed. An empty key disables signing: the
 * signature frame is empty and nothing is checked.
 *
 * Decoding verifies the signature with a constant-time comparison (`crypto.timingSafeEqual`) before
 * parsing any JSON, and throws a `WireError` for a bad signature or a malformed message; the server
 * logs that to stderr and drops the message. This module does no I/O.
 *
 * Replays. A captured message with its valid signature could be sent again by anyone who can reach the
 * ports; like jupyter_client's Session (its `digest_history`), the kernel remembers the signatures it
 * accepted (`SignatureHistory`, bounded: the oldest are forgotten first) and `decode` refuses one it
 * has seen with a `ReplayedMessage` error, which the server drops and logs at debug level only. A fresh
 * message always has a fresh signature (its header has a new msg_id and date). Without a key nothing
 * is signed, so nothing can be told apart and no history is kept.
 */
import crypto from 'node:crypto';
import { PROTOCOL_VERSION, type Header, type JsonObject, type Message } from './messages.ts';

/** The frame separating routing identities from the message proper. */
export const DELIMITER = Buffer.from('<IDS|MSG>');

/** A message that cannot be accepted: bad signature, missing delimiter, too few frames, bad JSON. */
export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireError';
  }
}

/** A message whose signature was already accepted once: a replay, dropped quietly. */
export class ReplayedMessage extends WireError {
  constructor(signature: string) {
    super(`replayed message (signature ${signature.slice(0, 16)}… already seen)`);
    this.name = 'ReplayedMessage';
  }
}

/** How many accepted signatures the kernel remembers by default (jupyter_client's digest_history_size). */
export const SIGNATURE_HISTORY_SIZE = 2 ** 16;

/** The signatures of accepted messages, the most recent `capacity` of them (oldest evicted first). */
export class SignatureHistory {
  private readonly seen = new Set<string>();

  constructor(readonly capacity = SIGNATURE_HISTORY_SIZE) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`signature history capacity must be a positive integer, got ${capacity}`);
  }

  /** Whether `signature` was recorded and not evicted since. */
  has(signature: string): boolean {
    return this.seen.has(signature);
  }

  /** Records `signature`, forgetting the oldest one when full. */
  add(signature: string): void {
    this.seen.add(signature);
    if (this.seen.size > this.capacity) this.seen.delete(this.seen.values().next().value!);
  }

  get size(): number {
    return this.seen.size;
  }
}

/** Signs and verifies message frames with the connection's key; an empty key signs nothing. */
export class Signer {
  private readonly algorithm: string;

  /** `scheme` is the connection file's signature_scheme, `hmac-<hash>` (default hmac-sha256). */
  constructor(readonly key: string, scheme = 'hmac-sha256') {
    const m = /^hmac-([a-z0-9-]+)$/i.exec(scheme);
    if (!m) throw new WireError(`unsupported signature_scheme '${scheme}' (expected hmac-<hash>, e.g. hmac-sha256)`);
    this.algorithm = m[1].toLowerCase();
    if (!crypto.getHashes().includes(this.algorithm)) throw new WireError(`unsupported signature_scheme '${scheme}': no hash '${this.algorithm}'`);
  }

  /** Whether messages are signed (the key is not empty). */
  get enabled(): boolean {
    return this.key.length > 0;
  }

  /** The hex signature of the JSON frames (header, parent_header, metadata, content); '' without a key. */
  sign(frames: readonly Buffer[]): string {
    if (!this.enabled) return '';
    const h = crypto.createHmac(this.algorithm, this.key);
    for (const f of frames) h.update(f);
    return h.digest('hex');
  }

  /** Whether `signature` (hex) is right for `frames`; always true without a key. Constant time. */
  verify(signature: string | Buffer, frames: readonly Buffer[]): boolean {
    if (!this.enabled) return true;
    const expected = Buffer.from(this.sign(frames), 'hex');
    const text = typeof signature === 'string' ? signature : signature.toString('latin1');
    // Buffer.from(hex) stops at the first non-hex character, so a malformed signature comes out shorter.
    const given = /^[0-9a-fA-F]*$/.test(text) ? Buffer.from(text, 'hex') : Buffer.alloc(0);
    if (given.length !== expected.length) return false;
    return crypto.timingSafeEqual(given, expected);
  }
}

/**
 * Splits frames into identities and the message, checks the signature and parses the JSON frames.
 * With `history` (and a key), a signature seen before is a `ReplayedMessage`, and an accepted
 * message's signature is recorded.
 */
export function decode(frames: readonly Buffer[], signer: Signer, history?: SignatureHistory): Message {
  const at = frames.findIndex((f) => f.equals(DELIMITER));
  if (at < 0) throw new WireError('no <IDS|MSG> delimiter in the message');
  if (frames.length < at + 6) throw new WireError(`expected signature and 4 JSON frames after the delimiter, got ${frames.length - at - 1} frames`);
  const json = frames.slice(at + 2, at + 6);
  if (!signer.verify(frames[at + 1], json)) throw new WireError('invalid signature');
  const signature = frames[at + 1].toString('latin1').toLowerCase();
  if (history && signer.enabled && history.has(signature)) throw new ReplayedMessage(signature);
  const [header, parent, metadata, content] = json.map((f, i) => parseJson(f, ['header', 'parent_header', 'metadata', 'content'][i]));
  if (typeof header.msg_type !== 'string') throw new WireError('header has no msg_type');
  if (history && signer.enabled) history.add(signature);
  return {
    identities: frames.slice(0, at),
    header: header as unknown as Header,
    parent_header: parent as Message['parent_header'],
    metadata,
    content,
    buffers: frames.slice(at + 6),
  };
}

function parseJson(frame: Buffer, what: string): JsonObject {
  let v: unknown;
  try {
    v = JSON.parse(frame.toString('utf8'));
  } catch (e) {
    throw new WireError(`${what} is not valid JSON: ${(e as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new WireError(`${what} is not a JSON object`);
  return v as JsonObject;
}

/** What `encode` needs: a message without the decoded-only parts being mandatory. */
export interface OutgoingMessage {
  identities?: readonly Buffer[];
  header: Header;
  parent_header: Header | Record<string, never>;
  metadata?: object;
  content: object;
  buffers?: readonly Buffer[];
}

/** The frames of a message: identities, delimiter, signature, the four JSON frames, buffers. */
export function encode(msg: OutgoingMessage, signer: Signer): Buffer[] {
  const json = [msg.header, msg.parent_header, msg.metadata ?? {}, msg.content].map((o) => Buffer.from(JSON.stringify(o), 'utf8'));
  return [...(msg.identities ?? []), DELIMITER, Buffer.from(signer.sign(json), 'latin1'), ...json, ...(msg.buffers ?? [])];
}

/** A fresh header for a message of type `msgType` in session `session`. */
export function newHeader(msgType: string, session: string, username = 'kiln'): Header {
  return {
    msg_id: crypto.randomUUID(),
    username,
    session,
    date: new Date().toISOString(),
    msg_type: msgType,
    version: PROTOCOL_VERSION,
  };
}
