/**
 * A small in-memory {@linkcode StayService} for route-level tests only (validation, error
 * mapping, streaming plumbing): every accepted write publishes one fake prediction.
 *
 * @module
 */
import { ServiceError } from "../../src/session/errors.ts";
import type {
  ObservationInput,
  StayPrediction,
  StayService,
  StayState,
  WriteResult,
} from "../../src/session/types.ts";

interface Stay {
  state: StayState;
  predictions: StayPrediction[];
  eventIds: Set<string>;
  listeners: Set<(p: StayPrediction) => void>;
}

/** The fake, with the calls it received. */
export class FakeStayService implements StayService {
  readonly stays = new Map<string, Stay>();
  readonly calls: string[] = [];
  readonly #keys = new Map<string, unknown>();

  #stay(id: string): Stay {
    const s = this.stays.get(id);
    if (s === undefined) {
      throw new ServiceError(404, "stay_not_found", `Stay "${id}" does not exist`);
    }
    return s;
  }

  #once<T>(key: string | undefined, f: () => T): T {
    if (key !== undefined && this.#keys.has(key)) return this.#keys.get(key) as T;
    const v = f();
    if (key !== undefined) this.#keys.set(key, v);
    return v;
  }

  #write(
    id: string,
    count: { obs?: number; images?: number; notes?: number },
    hours: number,
  ): WriteResult {
    const s = this.#stay(id);
    if (s.state.status === "discharged") {
      throw new ServiceError(409, "stay_discharged", `Stay "${id}" is discharged`);
    }
    s.state = {
      ...s.state,
      observations: s.state.observations + (count.obs ?? 0),
      images: s.state.images + (count.images ?? 0),
      notes: s.state.notes + (count.notes ?? 0),
      lastPredictionHours: hours,
    };
    const p: StayPrediction = {
      stayId: id,
      seq: s.predictions.length + 1,
      task: "dec",
      hours,
      probability: 0.1,
      modalities: { timeseries: true, image: s.state.images > 0, note: s.state.notes > 0 },
      fusionWeights: { t: 1 },
      model: { name: "fake", version: "0" },
      backend: "none",
      createdAt: new Date().toISOString(),
    };
    s.predictions.push(p);
    for (const l of s.listeners) l(p);
    return { accepted: count.obs ?? 1, duplicates: 0, predictions: [p] };
  }

  admit(stayId: string, options: { admittedAt?: string; idempotencyKey?: string } = {}) {
    this.calls.push(`admit ${stayId}`);
    return Promise.resolve(this.#once(options.idempotencyKey, () => {
      if (this.stays.has(stayId)) {
        throw new ServiceError(409, "stay_exists", `Stay "${stayId}" already exists`);
      }
      const state: StayState = {
        stayId,
        admittedAt: options.admittedAt ?? new Date().toISOString(),
        status: "active",
        dischargedAt: null,
        observations: 0,
        images: 0,
        notes: 0,
        lastPredictionHours: null,
      };
      this.stays.set(stayId, { state, predictions: [], eventIds: new Set(), listeners: new Set() });
      return state;
    }));
  }

  get(stayId: string): Promise<StayState> {
    try {
      return Promise.resolve(this.#stay(stayId).state);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  discharge(stayId: string, options: { at?: string } = {}): Promise<StayState> {
    this.calls.push(`discharge ${stayId}`);
    try {
      const s = this.#stay(stayId);
      s.state = {
        ...s.state,
        status: "discharged",
        dischargedAt: options.at ?? new Date().toISOString(),
      };
      return Promise.resolve(s.state);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  addObservations(
    stayId: string,
    observations: readonly ObservationInput[],
    options: { idempotencyKey?: string } = {},
  ): Promise<WriteResult> {
    this.calls.push(`observations ${stayId} ${observations.length}`);
    try {
      return Promise.resolve(this.#once(options.idempotencyKey, () => {
        const s = this.#stay(stayId);
        const fresh = observations.filter((o) =>
          o.eventId === undefined || !s.eventIds.has(o.eventId)
        );
        for (const o of fresh) if (o.eventId !== undefined) s.eventIds.add(o.eventId);
        const hours = Math.max(...observations.map((o) => typeof o.time === "number" ? o.time : 0));
        const r = this.#write(stayId, { obs: fresh.length }, hours);
        return { ...r, accepted: fresh.length, duplicates: observations.length - fresh.length };
      }));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  addImage(stayId: string, bytes: Uint8Array): Promise<WriteResult> {
    this.calls.push(`image ${stayId} ${bytes.length}`);
    try {
      return Promise.resolve(this.#write(stayId, { images: 1 }, 0));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  addNote(stayId: string, text: string): Promise<WriteResult> {
    this.calls.push(`note ${stayId} ${text.length}`);
    try {
      return Promise.resolve(this.#write(stayId, { notes: 1 }, 0));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  predictions(stayId: string, options: { since?: number } = {}): Promise<StayPrediction[]> {
    try {
      return Promise.resolve(
        this.#stay(stayId).predictions.filter((p) => p.seq > (options.since ?? 0)),
      );
    } catch (e) {
      return Promise.reject(e);
    }
  }

  subscribe(stayId: string, listener: (p: StayPrediction) => void): () => void {
    const s = this.#stay(stayId);
    s.listeners.add(listener);
    return () => s.listeners.delete(listener);
  }

  stats() {
    const active = [...this.stays.values()].filter((s) => s.state.status === "active").length;
    return { activeStays: active, stays: this.stays.size, residentStays: this.stays.size };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
