/**
 * Types of the Jupyter messaging protocol 5.3 messages the kiln kernel receives and sends.
 *
 * A message is a header, the parent's header (the request a reply or output belongs to), metadata,
 * content and optional binary buffers. On the wire (kernel/wire.ts) these travel as JSON frames after
 * the routing identities and the `<IDS|MSG>` delimiter, signed with HMAC. The doc comments follow the
 * spec's wording; only the fields kiln reads or writes are typed, and unknown fields are kept.
 */

/** The protocol version kiln speaks, sent in every header and in kernel_info_reply. */
export const PROTOCOL_VERSION = '5.3';

/** The sockets a message can travel on. */
export type Channel = 'shell' | 'control' | 'stdin' | 'iopub';

/** A message header: who sent it, when, and what kind of message it is. */
export interface Header {
  /** Unique id of this message (a UUID). */
  msg_id: string;
  /** The user of the session. */
  username: string;
  /** Session id; a kernel uses one per process, a client one per connection. */
  session: string;
  /** ISO 8601 timestamp with timezone. */
  date: string;
  /** The message type, e.g. `execute_request`. */
  msg_type: string;
  /** The message protocol version, `5.3`. */
  version: string;
  [extra: string]: unknown;
}

/** JSON values as they travel in content and metadata. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** A JSON object. */
export type JsonObject = { [key: string]: Json };

/** A decoded message. `identities` are the ROUTER routing frames a reply is addressed to. */
export interface Message<C = JsonObject> {
  identities: Buffer[];
  header: Header;
  /** The header of the request this message answers or belongs to; `{}` when none. */
  parent_header: Header | Record<string, never>;
  metadata: JsonObject;
  content: C;
  /** Raw binary buffers after the JSON frames (rarely used; kept as received). */
  buffers: Buffer[];
}

/** A MIME bundle: MIME type to data (strings, or JSON for `application/json`-like types). */
export type MimeBundle = Record<string, Json>;

/** execute_request: run code. */
export interface ExecuteRequest {
  /** Source code to execute. */
  code: string;
  /** Execute as quietly as possible: no iopub output, no execute_result, store_history forced false. */
  silent?: boolean;
  /** Whether to increment the execution counter and record the code in the history. */
  store_history?: boolean;
  /** Expressions to evaluate after the code, by name; results come back in the reply. */
  user_expressions?: Record<string, string>;
  /** Whether the frontend can answer input_request on the stdin channel. */
  allow_stdin?: boolean;
  /** Whether to abort the execution queue when this request fails. */
  stop_on_error?: boolean;
}

/** The error fields shared by error replies and the iopub `error` message. */
export interface ErrorContent {
  /** Exception name, e.g. `TypeError`. */
  ename: string;
  /** Exception message. */
  evalue: string;
  /** Traceback lines (may contain ANSI colour codes). */
  traceback: string[];
}

/** execute_reply. `aborted` is sent for requests dropped after an earlier error (stop_on_error). */
export type ExecuteReply =
  | { status: 'ok'; execution_count: number; payload: JsonObject[]; user_expressions: Record<string, JsonObject> }
  | ({ status: 'error'; execution_count: number; payload?: JsonObject[]; user_expressions?: Record<string, JsonObject> } & ErrorContent)
  | { status: 'aborted'; execution_count: number };

/** complete_request: completions at `cursor_pos` (in unicode code points) of `code`. */
export interface CompleteRequest {
  code: string;
  cursor_pos: number;
}

/** complete_reply: the matches replace `code[cursor_start:cursor_end]`. */
export interface CompleteReply {
  status: 'ok';
  matches: string[];
  cursor_start: number;
  cursor_end: number;
  metadata: JsonObject;
}

/** inspect_request: documentation of the object at the cursor. */
export interface InspectRequest {
  code: string;
  cursor_pos: number;
  /** 0: brief, 1: more detail. */
  detail_level?: 0 | 1;
}

/** inspect_reply: `found` false with empty data when nothing is known. */
export interface InspectReply {
  status: 'ok';
  found: boolean;
  data: MimeBundle;
  metadata: JsonObject;
}

/** is_complete_request: would `code` run as is, or does the user need to type more? */
export interface IsCompleteRequest {
  code: string;
}

/** is_complete_reply: `indent` (for incomplete) is the suggested indentation of the next line. */
export interface IsCompleteReply {
  status: 'complete' | 'incomplete' | 'invalid' | 'unknown';
  indent?: string;
}

/** history_request. */
export interface HistoryRequest {
  /** Include the output (text/plain of the execute_result) with each input. */
  output: boolean;
  /** Raw input (kiln stores only raw input, so this is ignored). */
  raw: boolean;
  hist_access_type: 'range' | 'tail' | 'search';
  /** range: the session number (0 or negative: relative to the current session). */
  session?: number;
  /** range: first line number (1-based). */
  start?: number;
  /** range: line number after the last. */
  stop?: number;
  /** tail and search: how many entries to return (the last n). */
  n?: number;
  /** search: glob pattern (`*` any text, `?` one character) matched against the whole input. */
  pattern?: string;
  /** search: drop duplicate inputs (the last occurrence is kept). */
  unique?: boolean;
}

/** One history entry: [session, line, input] or [session, line, [input, output]]. */
export type HistoryEntry = [number, number, string] | [number, number, [string, string | null]];

/** history_reply. */
export interface HistoryReply {
  status: 'ok';
  history: HistoryEntry[];
}

/** kernel_info_reply. */
export interface KernelInfoReply {
  status: 'ok';
  protocol_version: string;
  implementation: string;
  implementation_version: string;
  language_info: {
    name: string;
    version: string;
    mimetype: string;
    file_extension: string;
    pygments_lexer?: string;
    codemirror_mode?: string | JsonObject;
    nbconvert_exporter?: string;
  };
  banner: string;
  debugger: boolean;
  help_links: { text: string; url: string }[];
}

/** shutdown_request / shutdown_reply: `restart` tells whether a restart follows. */
export interface ShutdownContent {
  restart: boolean;
}

/** stream (iopub): text written to stdout or stderr. */
export interface StreamContent {
  name: 'stdout' | 'stderr';
  text: string;
}

/** display_data / update_display_data (iopub); `transient.display_id` names a display to update. */
export interface DisplayDataContent {
  data: MimeBundle;
  metadata: JsonObject;
  transient?: { display_id?: string };
}

/** execute_result (iopub): the value of the cell's last expression. */
export interface ExecuteResultContent extends DisplayDataContent {
  execution_count: number;
}

/** input_request (stdin): ask the frontend for a line of input. */
export interface InputRequest {
  prompt: string;
  /** Hide the typed text. */
  password: boolean;
}

/** input_reply (stdin). */
export interface InputReply {
  value: string;
}
