// The JSON shapes of the server extension's REST API (docs/sidebar-api.md).

/** GET version: the handshake. */
export interface VersionInfo {
  version: string;
  api: number;
}

/** Metric values by name, as the registry stores them. */
export type Metrics = Record<string, number | string | null>;

/** One model of GET registry/models. */
export interface RegistryModel {
  name: string;
  task: string;
  arch: string;
  input_size?: number[] | string | null;
  /** null for a catalogue entry that has no version in this registry yet. */
  latest: string | null;
  versions: string[];
  size: number | null;
  metrics: Metrics | null;
  description?: string | null;
}

export interface RegistryListing {
  registry: string;
  models: RegistryModel[];
}

/** GET jobs/<id>: a background pull. */
export interface Job {
  id: string;
  kind: string;
  state: 'running' | 'finished' | 'failed';
  done: number;
  total: number;
  path?: string;
  error?: string;
}

export type ExperimentStatus =
  | 'created'
  | 'running'
  | 'finished'
  | 'failed'
  | 'interrupted'
  | 'stopped'; // shown by the server for a "running" record whose process is gone (kill -9)

/** One experiment of GET experiments. */
export interface Experiment {
  path: string;
  name: string;
  task: string;
  arch: string;
  status: ExperimentStatus;
  epoch: number | null;
  epochs: number | null;
  metric: { name: string; value: number } | null;
  updated: string | null;
  mtime: number;
  /** When a stopped run was last seen alive (only with status 'stopped'). */
  stopped?: string;
}

export interface ExperimentListing {
  root: string;
  experiments: Experiment[];
  /** The searches (`tlt tune`, `tlt compress`) whose trials are among `experiments`. */
  searches?: Search[];
}

/** One trial of a search: an experiment of the listing, with its outcome in the search. */
export interface SearchTrial {
  path: string;
  /** complete, pruned, fail (tune's summary), running, or the experiment's status. */
  state: string;
  /** The search's objective for this trial, once the search recorded it. */
  value: number | null;
}

/** A hyper-parameter (`tune`) or compression (`compress`) search: a folder of trial experiments. */
export interface Search {
  path: string;
  name: string;
  kind: 'tune' | 'compress';
  state: 'running' | 'finished' | 'interrupted';
  objective: string | null;
  count: number;
  best: { path: string; value: number } | null;
  trials: SearchTrial[];
}

/** One file of an experiment's results directory. */
export interface Artifact {
  path: string;
  name: string;
  kind: string;
  size: number;
  mtime: number;
}

/** GET experiments/<path>. */
export interface ExperimentDetail extends Experiment {
  info: Record<string, unknown>;
  history: Record<string, unknown>[];
  artifacts: Artifact[];
}

/** One model of GET lineage/<path>, oldest first. */
export interface LineageNode {
  step: string;
  /** Relative to the experiments root; null for a model outside it (then `name` names it). */
  path: string | null;
  name?: string;
  outside: boolean;
  experiment: string | null;
  figures: Record<string, unknown>;
  /** Other files the step wrote with the model, by kind (relative paths). */
  files: Record<string, string>;
  summary: string;
  exists?: boolean;
  time?: number | null;
  reference?: string | null;
  version?: string | null;
  sha256?: string | null;
}

export interface LineageAnswer {
  path: string;
  nodes: LineageNode[];
}

/** One run of GET compare. */
export interface CompareRun {
  path: string;
  name: string;
  task: string | null;
  arch: string | null;
  status: ExperimentStatus;
  epoch: number | null;
  epochs: number | null;
  metric: { name: string; value: number } | null;
  history: Record<string, unknown>[];
  final: Record<string, number>;
}

export interface CompareAnswer {
  runs: CompareRun[];
  spec_diff: { field: string; values: (string | null)[] }[];
}

/** GET view/<path>: what a document viewer shows; `kind` picks the rendering. */
export interface ViewAnswer {
  kind: 'metrics' | 'events' | 'keras' | 'onnx' | 'prune_report';
  [field: string]: unknown;
}

/** One box of an inference run's KITTI label file. */
export interface Detection {
  class: string;
  /** The 16th field of the label line; null in a label file without scores. */
  confidence: number | null;
  /** x1, y1, x2, y2 in pixels of the image. */
  box: [number, number, number, number];
}

/** One image of GET gallery/<run>: the annotated image and its detections. */
export interface GalleryImage {
  name: string;
  path: string;
  labels: string | null;
  detections: Detection[];
  /** Detections beyond those listed (a label file of every candidate may hold thousands). */
  more: number;
}

/** GET gallery/<run>?offset=&limit=: a page of an inference run's images. */
export interface GalleryPage {
  path: string;
  total: number;
  offset: number;
  limit: number;
  images: GalleryImage[];
}
