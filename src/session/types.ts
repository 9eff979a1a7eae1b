/**
 * The contract between the HTTP layer (`routes/`) and the stay sessions (`src/session/`):
 * what a stay, an observation and a prediction look like, and what the service offers.
 * Routes validate and translate; everything behind this interface is domain code.
 *
 * @module
 */
import type { StayStatics } from "../model/statics.ts";

/** An observation as the API accepts it (already translated from FHIR where needed). */
export interface ObservationInput {
  /** Hours since admission, or an ISO 8601 timestamp (converted with the stay's admission time). */
  readonly time: number | string;
  /** Channel name exactly as in `discretizer.json`. */
  readonly channel: string;
  /** Number (continuous channels) or category text (categorical channels). */
  readonly value: string | number;
  /** Client event id: a repeated id is a duplicate delivery and is ignored. */
  readonly eventId?: string;
}

/** Modalities used by a prediction. */
export interface ModalitiesUsed {
  readonly timeseries: boolean;
  readonly image: boolean;
  readonly note: boolean;
}

/** A published prediction. */
export interface StayPrediction {
  readonly stayId: string;
  /**
   * Monotone sequence number per stay (SSE event id, `?since=`). Late data recomputes
   * predictions already published: of several predictions with the same `task` and `hours`,
   * the one with the highest `seq` is current.
   */
  readonly seq: number;
  /** Task code (`dec`, `los`, or any task of the model). */
  readonly task: string;
  /** Prediction time in hours since admission. */
  readonly hours: number;
  /** Binary tasks: the probability. */
  readonly probability?: number;
  /** Multi-label tasks: one probability per label. */
  readonly probabilities?: readonly number[];
  /** Multi-class tasks: the class distribution (LOS: 10 classes). */
  readonly distribution?: readonly number[];
  /** LOS: expected remaining days (from the class distribution and class mid-points). */
  readonly expectedRemainingDays?: number;
  /** Decompensation: the NEWS2 score from the same vitals at the same hour. */
  readonly news2?: number;
  readonly modalities: ModalitiesUsed;
  /** Fusion weights over the modality combinations (`tin, ti, tn, in, t, i, n`). */
  readonly fusionWeights: Readonly<Record<string, number>>;
  readonly model: { readonly name: string; readonly version: string };
  readonly backend: string;
  /** ISO time the prediction was made. */
  readonly createdAt: string;
}

/** A stay's state. */
export interface StayState {
  readonly stayId: string;
  /** ISO admission time (hour 0). */
  readonly admittedAt: string;
  readonly status: "active" | "discharged";
  readonly dischargedAt: string | null;
  readonly observations: number;
  readonly images: number;
  readonly notes: number;
  /** Hours of the latest prediction, or null. */
  readonly lastPredictionHours: number | null;
}

/** Result of a write: how many events were accepted, how many were duplicates, new predictions. */
export interface WriteResult {
  readonly accepted: number;
  readonly duplicates: number;
  readonly predictions: readonly StayPrediction[];
  /**
   * Prediction times that late data in this write (or an earlier one) changed, which the
   * service is recomputing after the answer: their new predictions follow on SSE and on the
   * predictions route. Absent when nothing is pending.
   */
  readonly recomputing?: readonly number[];
}

/** The service's counters and gauges (for `/metrics`). */
export interface ServiceStats {
  readonly activeStays: number;
  readonly stays: number;
  readonly residentStays: number;
  /** Model steps run (one pass for every served task at one time). */
  readonly stepRuns?: number;
  /** Late-data recomputes run (one pass over a stay's pending hours). */
  readonly recomputes?: number;
  /** Steps waiting or running: writes that will run steps, and pending recompute hours. */
  readonly queuedSteps?: number;
  /** Writes refused because the queue was full. */
  readonly refusedWrites?: number;
  /** Writes dropped because their client went away before they started. */
  readonly abandonedWrites?: number;
}

/** Options common to writes. */
export interface WriteOptions {
  /** `Idempotency-Key` header: a repeated key returns the first result and writes nothing. */
  readonly idempotencyKey?: string;
  /**
   * The client's request signal: a write whose client went away before the write started is
   * dropped (nothing stored, error `client_gone`); once started, it completes and stands.
   */
  readonly signal?: AbortSignal;
}

/** The stay service the HTTP layer calls. Writes to one stay are serialized. */
export interface StayService {
  /** Admits a stay; `admittedAt` defaults to now. Conflict (409) when the id exists. */
  admit(
    stayId: string,
    options?: WriteOptions & { admittedAt?: string; statics?: StayStatics },
  ): Promise<StayState>;
  /** A stay's state (404 when unknown). */
  get(stayId: string): Promise<StayState>;
  /** Discharges a stay; its data is kept for the configured retention, then deleted. */
  discharge(stayId: string, options?: WriteOptions & { at?: string }): Promise<StayState>;
  /** Appends observations (durably, before returning) and runs the steps they complete. */
  addObservations(
    stayId: string,
    observations: readonly ObservationInput[],
    options?: WriteOptions,
  ): Promise<WriteResult>;
  /**
   * Appends a chest X-ray (JPEG, PNG or DICOM bytes) taken at `time` (default: the stay's latest
   * observation time). A repeated `eventId` is a duplicate delivery and is ignored.
   */
  addImage(
    stayId: string,
    bytes: Uint8Array,
    options?: WriteOptions & { mediaType?: string; time?: number | string; eventId?: string },
  ): Promise<WriteResult>;
  /**
   * Appends a clinical note (full text; the model's section is extracted) written at `time`
   * (default: the stay's latest observation time). A repeated `eventId` is ignored.
   */
  addNote(
    stayId: string,
    text: string,
    options?: WriteOptions & { time?: number | string; eventId?: string },
  ): Promise<WriteResult>;
  /** Stored predictions with `seq > since`. */
  predictions(stayId: string, options?: { since?: number }): Promise<StayPrediction[]>;
  /** Calls `listener` for every new prediction of the stay; returns the unsubscribe function. */
  subscribe(stayId: string, listener: (p: StayPrediction) => void): () => void;
  /** Counters for `/metrics`. */
  stats(): ServiceStats;
  /** Flushes and closes the store. */
  close(): Promise<void>;
}
