/**
 * The panel's REST contract, generated from mlops_nb/server/schemas.py (pydantic) by
 *   python -m mlops_nb.server.schemas --typescript > extension/src/schema.ts
 * Do not edit: change the Python models and regenerate (a test compares the two).
 */
/* eslint-disable */

export interface ArtifactQuery {
  notebook: string;
  run_id: string;
  path: string;
}

export interface CardResponse {
  name: string;
  version: string;
  aliases: string[];
  markdown: string;
  html: string;
}

export interface Check {
  name: string;
  passed: boolean;
  detail: string;
}

export interface CompareQuery {
  notebook: string;
  run_ids: string;
}

export interface CompareResponse {
  notebook: string;
  runs: RunDetail[];
}

/** The last promotion decision recorded on a version (its compact tag). */
export interface Decision {
  alias: string;
  from_version: string | null;
  to_version: string;
  passed: boolean;
  moved: boolean;
  forced: boolean;
  reason: string | null;
  by: string;
  at: string;
  gates: DecisionGate[];
}

export interface DecisionGate {
  gate: string;
  status: "passed" | "failed" | "skipped";
  value: number | null;
  threshold: number | null;
}

export interface DriftColumn {
  type: string;
  stattest: string;
  score: number | null;
  threshold: number;
  drifted: boolean;
  [key: string]: unknown;
}

export interface DriftQuery {
  url?: string;
}

export interface DriftReportResponse {
  url: string;
  html: string;
}

export interface DriftResponse {
  url: string;
  state: "ready" | "collecting" | "starting";
  message: string;
  current_rows: number | null;
  min_rows: number | null;
  widget: DriftWidgetState | null;
}

export interface DriftSummary {
  dataset_drift: boolean;
  drift_share: number;
  n_drifted: number;
  n_columns: number;
  columns: { [key: string]: DriftColumn };
  [key: string]: unknown;
}

/** The synced traits of the notebook's ``DriftWidget`` (the panel renders the same module). */
export interface DriftWidgetState {
  summary: DriftSummary;
  distributions: { [key: string]: unknown };
  stattest_names: { [key: string]: string };
  note: string;
  report_state: "idle" | "unavailable";
}

export interface DroppedLine {
  cell: number;
  what: string;
  reason: string;
}

export interface ErrorResponse {
  message: string;
  [key: string]: unknown;
}

export interface FailedCell {
  number: number | null;
  source: string | null;
  error: string;
}

export interface Figure {
  name: string;
  kind: "png" | "plotly";
  path: string;
}

/** One gate's verdict (:class:`mlops_nb.registry.result.GateResult`): ``value`` is what was measured, ``threshold`` the bound it was held to (or the alias holder's score). */
export interface GateResult {
  gate: string;
  status: "passed" | "failed" | "skipped";
  summary: string;
  metric: string | null;
  value: number | null;
  threshold: number | null;
  details: { [key: string]: unknown };
}

export interface HistoryEntry {
  at: string;
  alias: string;
  from_version: string | null;
  to_version: string;
  moved: boolean;
  passed: boolean;
  forced: boolean;
  by: string;
  reason: string | null;
  failed_gates: string[];
}

export interface Job {
  id: string;
  kind: "productionize" | "pipeline" | "serve" | "promote";
  target: string;
  state: "queued" | "running" | "succeeded" | "failed";
  events: (ProductionizeEvent | PipelineEvent | ServiceEvent | PromotionEvent)[];
  n_events: number;
  result: ProductionizeResult | PipelineResult | ServiceInfo | PromotionResult | null;
  error: string | null;
  created: number;
  finished: number | null;
}

export interface JobQuery {
  since?: number;
}

export interface JobsQuery {
  kind?: "productionize" | "pipeline" | "serve" | "promote" | null;
}

export interface JobsResponse {
  jobs: Job[];
}

export interface MetricPoint {
  step: number;
  value: number | null;
  timestamp: number;
}

export interface ModelResponse {
  name: string;
  tracking_uri: string;
  versions: VersionSummary[];
  history: HistoryEntry[];
}

export interface ModelSummary {
  name: string;
  aliases: { [key: string]: string };
  latest_version: string | null;
  description: string;
  updated: number;
}

export interface ModelsResponse {
  tracking_uri: string;
  models: ModelSummary[];
}

export interface NotebookQuery {
  notebook: string;
}

export interface PipelineEvent {
  event: "PipelineEvent";
  kind: string;
  step: string;
  status: string;
  message: string;
  run_id: string | null;
  duration: number | null;
}

export interface PipelineResponse {
  path: string;
  exists: boolean;
  steps: StepState[];
}

export interface PipelineResult {
  pipeline: string;
  status: string;
  steps: { [key: string]: StepOutcome };
  run_id: string | null;
  duration: number;
}

export interface PipelineRunRequest {
  notebook: string;
  force?: boolean;
  only?: string | null;
  from_step?: string | null;
}

export interface ProductionizeEvent {
  event: "ProductionizeEvent";
  step: string;
  status: "start" | "done" | "fail" | "info";
  message: string;
  elapsed: number;
}

export interface ProductionizeRequest {
  notebook: string;
  build?: boolean;
  force?: boolean;
}

/** :class:`mlops_nb.productionize.result.ProductionizeResult` with root-relative paths. */
export interface ProductionizeResult {
  service_dir: string;
  train_py: string;
  features_py: string | null;
  image: string | null;
  checks: Check[];
  start_command: string;
  input_columns: string[];
  model_var: string;
  takes_raw_columns: boolean;
  dropped: DroppedLine[];
  notes: string[];
  next_commands: string[];
  seconds: number;
  ok: boolean;
}

/** ``mlops-nb promote SOURCE --name NAME ...`` as a JSON body (paths relative to the root). */
export interface PromoteRequest {
  source: string;
  name: string;
  alias?: string;
  require?: string[];
  no_regression?: boolean;
  eval_data?: string | null;
  target?: string | null;
  metric?: string | null;
  tolerance?: number | null;
  max_drift_share?: number | null;
  reference?: string | null;
  current?: string | null;
  service?: string | null;
  force?: boolean;
  reason?: string | null;
  notebook?: string | null;
}

/** One step of a promotion while it runs (``register``, each gate, ``alias``, ``card``): :class:`mlops_nb.registry.api.PromotionEvent`. */
export interface PromotionEvent {
  event: "PromotionEvent";
  step: string;
  status: "started" | "passed" | "failed" | "skipped" | "done";
  message: string;
}

/** :class:`mlops_nb.registry.result.PromotionResult`, with its one-line ``verdict``. */
export interface PromotionResult {
  name: string;
  version: string;
  alias: string;
  passed: boolean;
  moved: boolean;
  gates: GateResult[];
  previous_version: string | null;
  source: string;
  run_id: string | null;
  model_uri: string;
  registered: boolean;
  forced: boolean;
  reason: string | null;
  decided_by: string;
  decided_at: string;
  tracking_uri: string;
  card_uri: string | null;
  decision_uri: string | null;
  verdict: string;
}

export interface Run {
  run_id: string;
  experiment_id: string;
  name: string;
  status: string;
  cell_id: string | null;
  cell_key: string | null;
  start_time: number | null;
  end_time: number | null;
  duration_s: number | null;
  params: { [key: string]: string };
  metrics: { [key: string]: number | null };
  tags: { [key: string]: string };
  url: string;
}

export interface RunDetail {
  run: Run;
  cell_source: string | null;
  figures: Figure[];
  history: { [key: string]: MetricPoint[] };
}

export interface RunsPage {
  notebook: string;
  tracking_uri: string;
  store_exists: boolean;
  total: number;
  runs: Run[];
  next_page_token: string | null;
  varying_params: string[];
  param_names: string[];
  metric_names: string[];
  tag_names: string[];
}

export interface RunsQuery {
  notebook: string;
  page_size?: number;
  page_token?: string | null;
  sort?: string;
  order?: "asc" | "desc";
  status?: "RUNNING" | "SCHEDULED" | "FINISHED" | "FAILED" | "KILLED" | null;
  tag?: string | null;
  text?: string | null;
}

export interface ServiceEvent {
  event: "ServiceEvent";
  message: string;
}

export interface ServiceInfo {
  service_dir: string;
  url: string;
  pid: number;
  running: boolean;
  log: string;
}

export interface ServiceRequest {
  service_dir: string;
}

export interface ServicesResponse {
  services: ServiceInfo[];
}

export interface StepOutcome {
  name: string;
  status: string;
  run_id: string | null;
  duration: number;
  message: string;
}

export interface StepState {
  name: string;
  needs: string[];
  cache_state: string;
  last_status: string | null;
  last_run_id: string | null;
  notebook: string;
  outputs: string[];
  reason: string;
  last_error: string | null;
  failed_cell: FailedCell | null;
}

/** The registry of the store a notebook's kernel uses (default: the server's store). */
export interface StoreQuery {
  notebook?: string | null;
}

export interface VersionResponse {
  version: string;
  tracking_uri: string;
}

export interface VersionSummary {
  version: string;
  aliases: string[];
  run_id: string | null;
  model_id: string | null;
  created: number;
  gates_passed: boolean | null;
  last_decision: Decision | null;
  has_card: boolean;
}

export interface WidgetModuleResponse {
  esm: string;
  css: string;
}
