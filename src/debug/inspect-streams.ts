// The machine views a debug session last sent on each 'dmascope/inspect'
// stream, so the next answer on that stream carries only what changed
// (view-patch.ts). A client names a stream (the IOVA map's position, its
// comparison) and says which view it holds (`have`, the viewId of an earlier
// answer); the session patches from that view when it still holds it, and
// sends the whole view otherwise. The view right before the event goes as a
// patch from the answer's own view: the two differ by one event.

import type { MachineView } from '../engine/inspect/types';
import type { DebugInspectAnswer, InspectArguments, InspectResponse, InspectWireResponse } from '../protocol';
import { applyViewPatch, diffView, type Json } from './view-patch';

/** Streams kept at once (a panel uses two: its position and its comparison); the oldest is forgotten first. */
const MAX_STREAMS = 4;

const asJson = (v: MachineView): Json => v as unknown as Json;

export class InspectViewStreams {
  private readonly streams = new Map<string, { id: number; view: MachineView }>();
  private nextId = 1;

  /**
   * The wire form of `answer` for a client on `stream` holding view `have`:
   * without a stream, the answer as it is (whole views).
   */
  encode(answer: InspectResponse, stream: string | undefined, have: number | undefined): InspectWireResponse {
    if (stream === undefined) return answer;
    const { machine, previous, ...rest } = answer;
    const held = this.streams.get(stream);
    const viewId = this.nextId++;
    this.streams.delete(stream);
    this.streams.set(stream, { id: viewId, view: machine });
    if (this.streams.size > MAX_STREAMS) this.streams.delete(this.streams.keys().next().value as string);
    const previousPatch = previous === null ? undefined : { previousPatch: diffView(asJson(machine), asJson(previous)) ?? null };
    const body = { ...rest, viewId, previous: null, ...previousPatch };
    if (held !== undefined && held.id === have) return { ...body, machine: null, machinePatch: { base: have, patch: diffView(asJson(held.view), asJson(machine)) ?? null } };
    return { ...body, machine };
  }
}

/**
 * The client's side: the last view it got on each stream (a key it picks:
 * the session and the stream), to name in its next request and to apply the
 * next answer's patch to.
 */
export class InspectViewCache {
  private readonly held = new Map<string, { id: number; view: MachineView }>();

  /** `args` on `stream`, saying which view the client holds under `key` (none after forget). */
  args(key: string, stream: string, args: InspectArguments): InspectArguments {
    const h = this.held.get(key);
    return h ? { ...args, stream, have: h.id } : { ...args, stream };
  }

  /** The whole answer from its wire form; throws when a patch does not fit what is held (then forget and ask again). */
  decode(key: string, wire: DebugInspectAnswer<InspectWireResponse>): DebugInspectAnswer<InspectResponse> {
    const { machinePatch, previousPatch, viewId, machine: sent, previous: sentPrevious, ...rest } = wire;
    let machine: MachineView;
    if (sent !== null) machine = sent;
    else {
      const h = this.held.get(key);
      if (!machinePatch || !h || h.id !== machinePatch.base) throw new Error(`the answer patches view ${machinePatch?.base ?? '?'}, the client holds ${h?.id ?? 'none'}`);
      machine = applyViewPatch(asJson(h.view), machinePatch.patch ?? undefined) as unknown as MachineView;
    }
    if (viewId !== undefined) {
      this.held.delete(key);
      this.held.set(key, { id: viewId, view: machine });
      if (this.held.size > MAX_STREAMS) this.held.delete(this.held.keys().next().value as string);
    }
    const previous = previousPatch !== undefined ? applyViewPatch(asJson(machine), previousPatch ?? undefined) as unknown as MachineView : sentPrevious;
    return { ...rest, machine, previous };
  }

  forget(key: string): void {
    this.held.delete(key);
  }
}
