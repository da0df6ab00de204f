// The messages between the extension host and the panels' webviews, typed in
// one place (as vscode-hexeditor's shared/protocol.ts does). Each direction is
// one discriminated union on `type`; each panel's messages are one member
// group (IovaMap*, later Walk*, Bounce*), so a panel adds its variants without
// touching the others'. A request carries `requestId`, its response
// `inReplyTo`. Every message from a webview goes through
// `parseFromWebviewMessage` before use: a bad one is logged and ignored.
//
// No vscode, no DOM here: both the host and the webview bundles import it.

import type { ViewPatch } from './debug/view-patch';
import type { DomainView, MachineView } from './engine/inspect/types';
import type { SanitizerFindingView } from './engine/sanitizer';
import type { BounceModel } from './panels/bounce-model';
import type { IovaMapStateDelta } from './panels/iova-map-delta';
import type { DiffEntry, IovaMapModel } from './panels/iova-map-model';
import type { WalkModel } from './panels/walk-model';

/** The panels there are; one WebviewPanel per kind. */
export type PanelKind = 'iovaMap' | 'walk' | 'bounce';
export const PANEL_KINDS: readonly PanelKind[] = ['iovaMap', 'walk', 'bounce'];

/** Where the state shown comes from: a run of the scenario (slider by statement) or the debugger's position. */
export interface PositionInfo {
  source: 'run' | 'debug';
  /** Trace event index the state is right after (-1: before any event). */
  event: number;
  /** Events in the run (null while the debugger has not reached the end). */
  total: number | null;
  /** Scenario line of that event's statement (0: none). */
  line: number;
  /** The debugger's last move went backwards. */
  backwards: boolean;
  /** Statement stops of the run: the event of each `engine:statement`, and its line (slider stops). */
  statements: { event: number; line: number }[];
  /** The scenario file's URI (as a string) the state belongs to. */
  uri: string;
}

// ---- IOVA map panel -------------------------------------------------------

/** The state the IOVA map draws: one domain's model (built by the host), the domains to pick from, and a comparison. */
export interface IovaMapState {
  position: PositionInfo;
  /** Domains with mappings or an IOVA allocator at this position. */
  domains: { label: string; mappings: number }[];
  /** The shown domain's model; null when no domain has anything to draw yet. */
  model: IovaMapModel | null;
  /** The shown domain compared with another position the user picked: what that position had and this one has not, and so on. */
  compare: { event: number; line: number; diff: DiffEntry[]; total: number } | null;
}

/** Host -> IOVA map webview. */
export type IovaMapToWebview =
  /** The whole state; `seq` numbers it for the deltas that follow (absent: no delta applies to it). */
  | { type: 'iovaMap/state'; state: IovaMapState; seq?: number }
  /** A step's state as the rows changed since state `base` (iova-map-delta.ts); the webview answers iovaMap/resync when it does not hold `base`. */
  | { type: 'iovaMap/delta'; seq: number; base: number; state: IovaMapStateDelta }
  | { type: 'iovaMap/error'; message: string }
  | { type: 'iovaMap/exported'; inReplyTo: number; path: string | null };

/** IOVA map webview -> host. */
export type IovaMapFromWebview =
  | { type: 'iovaMap/ready' }
  /** A delta did not apply to the state the webview holds (state `have`, null: none): send the whole state. */
  | { type: 'iovaMap/resync'; have: number | null }
  | { type: 'iovaMap/seek'; event: number }
  | { type: 'iovaMap/domain'; domain: string }
  | { type: 'iovaMap/compare'; event: number | null }
  | { type: 'iovaMap/revealLine'; line: number; iova?: string }
  /** A row of the DMA sanitizer grid: the finding's line of the scenario the panel shows (the host checks both), and the event it follows (the debugger goes there). */
  | { type: 'iovaMap/revealFinding'; uri: string; line: number; event?: number }
  | { type: 'iovaMap/export'; requestId: number; format: 'png' | 'svg' | 'json'; data: string };

/** Persisted webview state (vscode.setState), restored by the panel serializer. */
export interface IovaMapPersistedState {
  uri?: string;
  domain?: string;
  /** Visible window: first IOVA (hex) and bytes per pixel as a float (log2). */
  viewStart?: string;
  log2BytesPerPixel?: number;
  /** The event the panel showed (run mode) and the compare position. */
  event?: number;
  compare?: number | null;
}

// ---- Translation walk panel ----------------------------------------------

/** The access whose walk is shown: a device, a device address, a PASID, and the kind of access (null: translate()). */
export interface WalkTarget {
  device: string;
  /** Hex, "0x...". */
  addr: string;
  pasid: number | null;
  access: 'read' | 'write' | null;
  /** The scenario line the target came from (its lens), 0 when typed in. */
  line: number;
}

export interface WalkState {
  position: PositionInfo;
  target: WalkTarget;
  /** Null when the target cannot be walked (say why in `error`). */
  model: WalkModel | null;
  error: string | null;
  /** The scenario's walk sites (translate/dev_read/dev_write lines), for the target picker. */
  targets: WalkTarget[];
  /** Devices at this position, for the device picker. */
  devices: string[];
}

/** Host -> walk webview. */
export type WalkToWebview =
  | { type: 'walk/state'; state: WalkState }
  | { type: 'walk/error'; message: string }
  | { type: 'walk/exported'; inReplyTo: number; path: string | null };

/** Walk webview -> host. */
export type WalkFromWebview =
  | { type: 'walk/ready' }
  | { type: 'walk/probe'; target: WalkTarget }
  | { type: 'walk/seek'; event: number }
  | { type: 'walk/revealLine'; line: number }
  | { type: 'walk/export'; requestId: number; format: 'png' | 'svg' | 'json'; data: string };

export interface WalkPersistedState {
  uri?: string;
  target?: WalkTarget;
  /** Cell id of the selected descriptor read. */
  selected?: string;
}

// ---- Bounce buffers panel -------------------------------------------------

export interface BounceState {
  position: PositionInfo;
  model: BounceModel;
}

/** Host -> bounce webview. */
export type BounceToWebview =
  | { type: 'bounce/state'; state: BounceState }
  | { type: 'bounce/error'; message: string }
  | { type: 'bounce/exported'; inReplyTo: number; path: string | null };

/** Bounce webview -> host. */
export type BounceFromWebview =
  | { type: 'bounce/ready' }
  | { type: 'bounce/seek'; event: number }
  | { type: 'bounce/revealLine'; line: number }
  | { type: 'bounce/export'; requestId: number; format: 'png' | 'svg' | 'json'; data: string };

export interface BouncePersistedState {
  uri?: string;
  /** Pool id shown ("p0") and the selected slot run or VDUSE map id. */
  pool?: string;
  selected?: string;
}

// ---- the unions -----------------------------------------------------------

export type ToWebviewMessage = IovaMapToWebview | WalkToWebview | BounceToWebview;
export type FromWebviewMessage = IovaMapFromWebview | WalkFromWebview | BounceFromWebview;

// ---- debug adapter custom request 'dmascope/inspect' ----------------------

export interface InspectArguments {
  /** Event index to inspect; absent: the current position. */
  event?: number;
  /** Also the state before this event (for the "changed by" highlight). */
  withPrevious?: boolean;
  /** Only these domains (labels); absent: all. */
  domains?: string[];
  /** The client's stream of views (a panel's position, its comparison): answers on it carry patches (src/debug/inspect-streams.ts). */
  stream?: string;
  /** The viewId of the stream's view the client holds: the answer patches from it when the session still holds it too. */
  have?: number;
}

export interface InspectResponse {
  event: number;
  machine: MachineView;
  previous: MachineView | null;
  /** The DMA sanitizer's findings so far (sanitizerFindings); absent from older sessions. */
  findings?: SanitizerFindingView[];
}

/**
 * InspectResponse as it travels when the client named a stream: `machine`
 * null and `machinePatch` when the session patched from the view the client
 * holds; `previous` null and `previousPatch` (from this answer's machine; null:
 * the same) when the view before the event was asked for.
 */
export type InspectWireResponse = Omit<InspectResponse, 'machine'> & {
  machine: MachineView | null;
  viewId?: number;
  machinePatch?: { base: number; patch: ViewPatch | null };
  previousPatch?: ViewPatch | null;
};

/** A sanitizer finding as the debugger sends it: the fields the panels read, typed. */
function checkSanitizerFinding(f: unknown): string | null {
  if (!isObj(f)) return 'a finding is not an object';
  if (typeof f.id !== 'string' || typeof f.message !== 'string') return 'a finding needs an id and a message';
  if (!isInt(f.line) || f.line < 0) return 'a finding\'s line must be an integer >= 0';
  if (f.relatedLine !== null && !(isInt(f.relatedLine) && f.relatedLine >= 0)) return 'a finding\'s relatedLine must be null or an integer >= 0';
  const hexOk = (v: unknown): boolean => typeof v === 'string' && /^0x[0-9a-f]{1,16}$/i.test(v);
  if (!hexOk(f.phys) || !hexOk(f.end)) return 'a finding\'s phys and end must be hex addresses';
  if (f.iova !== null && !hexOk(f.iova)) return 'a finding\'s iova must be null or a hex address';
  if (f.device !== null && typeof f.device !== 'string') return 'a finding\'s device must be null or a name';
  return isInt(f.seq) && f.seq >= 0 ? null : 'a finding\'s seq must be an integer >= 0';
}

/**
 * 'dmascope/inspect' with kind 'walk': the walk `target` would make at the
 * event (or the current position). Without a target the debugger picks the
 * run's walk site on `line` (or the next one, or the first).
 */
export interface WalkInspectArguments {
  kind: 'walk';
  event?: number;
  target?: WalkTarget;
  /** The line whose walk site to walk when there is no target (a lens's line). */
  line?: number;
  /** Also list the run's walk sites (the panel's picker). */
  withTargets?: boolean;
}

export interface WalkInspectResponse {
  event: number;
  /** The target walked (null: the run has no walk site and none was given). */
  target: WalkTarget | null;
  model: WalkModel | null;
  error: string | null;
  devices: string[];
  /** The run's walk sites, when asked withTargets. */
  targets?: WalkTarget[];
}

/** 'dmascope/inspect' with kind 'bounce': swiotlb and VDUSE bounce state at the event (or the current position). */
export interface BounceInspectArguments {
  kind: 'bounce';
  event?: number;
}

export interface BounceInspectResponse {
  event: number;
  model: BounceModel;
}

/**
 * Where the state a debug session answered sits in its run: every
 * 'dmascope/inspect' answer of the session carries it, so a panel shows the
 * debugger's state without running the scenario itself.
 */
export interface InspectPosition {
  event: number;
  /** Events in the run (null while the debugger has not run to its end). */
  total: number | null;
  /** Scenario line of the event (0: none). */
  line: number;
  /** The debugger's last move went backwards. */
  backwards: boolean;
  /** Statement stops around the event (a few each side): where the panels' previous/next buttons go. */
  statements: { event: number; line: number }[];
}

/** A 'dmascope/inspect' answer of the debug session: the panel's data and the position it belongs to. */
export type DebugInspectAnswer<R> = R & { position: InspectPosition };

/** 'dmascope/position' custom event body from the adapter. */
export interface PositionEventBody {
  event: number;
  total: number | null;
  backwards: boolean;
  line: number;
}

// ---- validation (hand-written guards) --------------------------------------

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}
function isStr(v: unknown, max = 1 << 26): v is string {
  return typeof v === 'string' && v.length <= max;
}

/** Result of a check: the message, or why it was refused. */
export type Parsed<T> = { ok: true; message: T } | { ok: false; error: string };

const IOVA_MAP_FROM: Record<IovaMapFromWebview['type'], (m: Obj) => string | null> = {
  'iovaMap/ready': () => null,
  'iovaMap/resync': (m) => (m.have === null || (isInt(m.have) && m.have >= 0) ? null : 'have must be null or a state number >= 0'),
  'iovaMap/seek': (m) => (isInt(m.event) && m.event >= -1 ? null : 'event must be an integer >= -1'),
  'iovaMap/compare': (m) => (m.event === null || (isInt(m.event) && m.event >= -1) ? null : 'event must be null or an integer >= -1'),
  'iovaMap/domain': (m) => (isStr(m.domain, 256) && m.domain.length > 0 ? null : 'domain must be a domain label'),
  'iovaMap/revealLine': (m) => {
    if (!isInt(m.line) || m.line < 1) return 'line must be a positive integer';
    if (m.iova !== undefined && !(isStr(m.iova, 20) && /^0x[0-9a-fA-F]{1,16}$/.test(m.iova))) return 'iova must be a hex address (0x...)';
    return null;
  },
  'iovaMap/revealFinding': (m) => {
    if (!isStr(m.uri, 4096) || m.uri.length === 0) return 'uri must be the scenario\'s URI';
    if (m.event !== undefined && !(isInt(m.event) && m.event >= 0)) return 'event must be an integer >= 0';
    return isInt(m.line) && m.line >= 1 ? null : 'line must be a positive integer';
  },
  'iovaMap/export': (m) => {
    if (!isInt(m.requestId)) return 'requestId must be an integer';
    if (m.format !== 'png' && m.format !== 'svg' && m.format !== 'json') return 'format must be png, svg or json';
    return isStr(m.data) ? null : 'data must be a string (at most 64 MiB)';
  },
};

const EXPORT_CHECK = (m: Obj): string | null => {
  if (!isInt(m.requestId)) return 'requestId must be an integer';
  if (m.format !== 'png' && m.format !== 'svg' && m.format !== 'json') return 'format must be png, svg or json';
  return isStr(m.data) ? null : 'data must be a string (at most 64 MiB)';
};

/** A walk target from the webview: a device name, a hex address below 2^64, a PASID below 2^20 or null, an access kind. */
export function checkWalkTarget(t: unknown): string | null {
  if (!isObj(t)) return 'target must be an object';
  if (!isStr(t.device, 256) || t.device.length === 0) return 'target.device must be a device name';
  if (!isStr(t.addr, 20) || !/^0x[0-9a-fA-F]{1,16}$/.test(t.addr)) return 'target.addr must be a hex address (0x...)';
  if (t.pasid !== null && !(isInt(t.pasid) && t.pasid >= 0 && t.pasid < 1 << 20)) return 'target.pasid must be null or an integer below 2^20';
  if (t.access !== null && t.access !== 'read' && t.access !== 'write') return 'target.access must be read, write or null';
  return isInt(t.line) && t.line >= 0 ? null : 'target.line must be a non-negative integer';
}

const REVEAL_CHECK = (m: Obj): string | null => (isInt(m.line) && m.line >= 1 ? null : 'line must be a positive integer');
const SEEK_CHECK = (m: Obj): string | null => (isInt(m.event) && m.event >= -1 ? null : 'event must be an integer >= -1');

const WALK_FROM: Record<WalkFromWebview['type'], (m: Obj) => string | null> = {
  'walk/ready': () => null,
  'walk/probe': (m) => checkWalkTarget(m.target),
  'walk/seek': SEEK_CHECK,
  'walk/revealLine': REVEAL_CHECK,
  'walk/export': EXPORT_CHECK,
};

const BOUNCE_FROM: Record<BounceFromWebview['type'], (m: Obj) => string | null> = {
  'bounce/ready': () => null,
  'bounce/seek': SEEK_CHECK,
  'bounce/revealLine': REVEAL_CHECK,
  'bounce/export': EXPORT_CHECK,
};

/** Checkers of every message type a webview may send; other panels add their groups here. */
const FROM_WEBVIEW: Record<string, (m: Obj) => string | null> = { ...IOVA_MAP_FROM, ...WALK_FROM, ...BOUNCE_FROM };

/** Validate a message from a webview; never throws. */
export function parseFromWebviewMessage(raw: unknown): Parsed<FromWebviewMessage> {
  if (!isObj(raw)) return { ok: false, error: 'message is not an object' };
  if (typeof raw.type !== 'string') return { ok: false, error: 'message has no type' };
  const check = Object.prototype.hasOwnProperty.call(FROM_WEBVIEW, raw.type) ? FROM_WEBVIEW[raw.type] : undefined;
  if (!check) return { ok: false, error: `unknown message type ${JSON.stringify(raw.type.slice(0, 80))}` };
  const err = check(raw);
  return err ? { ok: false, error: `${raw.type}: ${err}` } : { ok: true, message: raw as unknown as FromWebviewMessage };
}

/** Validate the arguments of the 'dmascope/inspect' custom request. */
export function parseInspectArguments(raw: unknown): Parsed<InspectArguments> {
  if (raw === undefined || raw === null) return { ok: true, message: {} };
  if (!isObj(raw)) return { ok: false, error: 'arguments must be an object' };
  if (raw.event !== undefined && !(isInt(raw.event) && raw.event >= -1)) return { ok: false, error: 'event must be an integer >= -1' };
  if (raw.withPrevious !== undefined && typeof raw.withPrevious !== 'boolean') return { ok: false, error: 'withPrevious must be a boolean' };
  if (raw.domains !== undefined && !(Array.isArray(raw.domains) && raw.domains.every((d) => isStr(d, 256)))) return { ok: false, error: 'domains must be an array of strings' };
  if (raw.stream !== undefined && !(typeof raw.stream === 'string' && /^[\w.-]{1,64}$/.test(raw.stream))) return { ok: false, error: 'stream must be a name of 1 to 64 letters, digits, _ . or -' };
  if (raw.have !== undefined && !(isInt(raw.have) && raw.have >= 1)) return { ok: false, error: 'have must be a viewId (an integer >= 1)' };
  return {
    ok: true,
    message: {
      event: raw.event as number | undefined, withPrevious: raw.withPrevious as boolean | undefined, domains: raw.domains as string[] | undefined,
      stream: raw.stream as string | undefined, have: raw.have as number | undefined,
    },
  };
}

/** Validate 'dmascope/inspect' arguments of kind 'walk'. */
export function parseWalkInspectArguments(raw: unknown): Parsed<WalkInspectArguments> {
  if (!isObj(raw) || raw.kind !== 'walk') return { ok: false, error: 'arguments must be an object with kind "walk"' };
  if (raw.event !== undefined && !(isInt(raw.event) && raw.event >= -1)) return { ok: false, error: 'event must be an integer >= -1' };
  if (raw.line !== undefined && !(isInt(raw.line) && raw.line >= 0)) return { ok: false, error: 'line must be a non-negative integer' };
  if (raw.withTargets !== undefined && typeof raw.withTargets !== 'boolean') return { ok: false, error: 'withTargets must be a boolean' };
  const err = raw.target === undefined ? null : checkWalkTarget(raw.target);
  if (err) return { ok: false, error: err };
  return {
    ok: true,
    message: { kind: 'walk', event: raw.event as number | undefined, target: raw.target as WalkTarget | undefined, line: raw.line as number | undefined, withTargets: raw.withTargets as boolean | undefined },
  };
}

/** Validate 'dmascope/inspect' arguments of kind 'bounce'. */
export function parseBounceInspectArguments(raw: unknown): Parsed<BounceInspectArguments> {
  if (!isObj(raw) || raw.kind !== 'bounce') return { ok: false, error: 'arguments must be an object with kind "bounce"' };
  if (raw.event !== undefined && !(isInt(raw.event) && raw.event >= -1)) return { ok: false, error: 'event must be an integer >= -1' };
  return { ok: true, message: { kind: 'bounce', event: raw.event as number | undefined } };
}

/** The position of a session's 'dmascope/inspect' answer, or why it is not one. */
function checkInspectPosition(p: unknown): string | null {
  if (!isObj(p)) return 'position must be an object';
  if (!isInt(p.event) || p.event < -1) return 'position.event must be an integer >= -1';
  if (p.total !== null && !(isInt(p.total) && p.total >= 0)) return 'position.total must be null or a count';
  if (!isInt(p.line) || p.line < 0) return 'position.line must be a non-negative integer';
  if (typeof p.backwards !== 'boolean') return 'position.backwards must be a boolean';
  if (!Array.isArray(p.statements) || !p.statements.every((s) => isObj(s) && isInt(s.event) && isInt(s.line))) return 'position.statements must be a list of { event, line }';
  return null;
}

function checkAnswer(raw: unknown, rest: (r: Obj) => string | null): string | null {
  if (!isObj(raw)) return 'the answer is not an object';
  if (!isInt(raw.event) || raw.event < -1) return 'event must be an integer >= -1';
  return checkInspectPosition(raw.position) ?? rest(raw);
}

function parsedAnswer<T>(raw: unknown, err: string | null): Parsed<T> {
  return err ? { ok: false, error: `dmascope/inspect answer: ${err}` } : { ok: true, message: raw as T };
}

/** Validate a debug session's answer to 'dmascope/inspect' (no kind): the machine view at its position. */
export function parseInspectAnswer(raw: unknown): Parsed<DebugInspectAnswer<InspectResponse>> {
  return parsedAnswer(raw, checkAnswer(raw, (r) => {
    const views = (v: unknown): boolean => isObj(v) && Array.isArray(v.domains) && Array.isArray(v.devices) && Array.isArray(v.buffers);
    if (!views(r.machine)) return 'machine must be a machine view';
    if (r.findings !== undefined) {
      if (!Array.isArray(r.findings)) return 'findings must be an array';
      for (const f of r.findings) { const err = checkSanitizerFinding(f); if (err) return err; }
    }
    return r.previous === null || views(r.previous) ? null : 'previous must be null or a machine view';
  }));
}

/**
 * Validate the wire form of an answer on a stream (InspectWireResponse)
 * before its patches are applied; the decoded answer then goes through
 * parseInspectAnswer.
 */
export function parseInspectWireAnswer(raw: unknown): Parsed<DebugInspectAnswer<InspectWireResponse>> {
  return parsedAnswer(raw, checkAnswer(raw, (r) => {
    const patchOrNull = (v: unknown): boolean => v === null || isObj(v);
    if (r.viewId !== undefined && !(isInt(r.viewId) && r.viewId >= 1)) return 'viewId must be an integer >= 1';
    if (r.machine === null) {
      const mp = r.machinePatch;
      if (!isObj(mp) || !isInt(mp.base) || !patchOrNull(mp.patch)) return 'a machine sent as a patch needs machinePatch { base, patch }';
    } else if (!isObj(r.machine)) return 'machine must be a machine view or null';
    if (r.previousPatch !== undefined && !patchOrNull(r.previousPatch)) return 'previousPatch must be a patch or null';
    return null;
  }));
}

/** Validate a debug session's answer to 'dmascope/inspect' of kind 'walk'. */
export function parseWalkInspectAnswer(raw: unknown): Parsed<DebugInspectAnswer<WalkInspectResponse>> {
  return parsedAnswer(raw, checkAnswer(raw, (r) => {
    if (r.target !== null && checkWalkTarget(r.target)) return `target: ${checkWalkTarget(r.target) ?? ''}`;
    if (r.model !== null && !(isObj(r.model) && Array.isArray(r.model.bands))) return 'model must be null or a walk model';
    if (r.error !== null && !isStr(r.error, 4096)) return 'error must be null or a message';
    if (!Array.isArray(r.devices) || !r.devices.every((d) => isStr(d, 256))) return 'devices must be a list of names';
    if (r.targets !== undefined && !(Array.isArray(r.targets) && r.targets.every((t) => checkWalkTarget(t) === null))) return 'targets must be a list of walk targets';
    return null;
  }));
}

/** Validate a debug session's answer to 'dmascope/inspect' of kind 'bounce'. */
export function parseBounceInspectAnswer(raw: unknown): Parsed<DebugInspectAnswer<BounceInspectResponse>> {
  return parsedAnswer(raw, checkAnswer(raw, (r) => (isObj(r.model) && typeof r.model.summary === 'string' && Array.isArray(r.model.vduse) ? null : 'model must be a bounce model')));
}

/** Validate a 'dmascope/position' event body. */
export function parsePositionEvent(raw: unknown): PositionEventBody | undefined {
  if (!isObj(raw) || !isInt(raw.event) || !isInt(raw.line)) return undefined;
  const total = raw.total === null || raw.total === undefined ? null : isInt(raw.total) ? raw.total : undefined;
  if (total === undefined) return undefined;
  return { event: raw.event, total, backwards: raw.backwards === true, line: raw.line };
}

export type { DomainView, MachineView };
