/**
 * The Models tab's REST contract: the JSON of mlops_nb/server/registry.py, whose fields are the
 * `as_dict()` of mlops_nb/registry (query.ModelSummary, query.VersionSummary,
 * record.HistoryEntry, query.CardText, result.PromotionResult).
 */

export interface IModelSummary {
  name: string;
  aliases: Record<string, string>;
  latest_version: string | null;
  description: string;
  updated: number;
}

export interface IModels {
  tracking_uri: string;
  models: IModelSummary[];
}

export interface IDecision {
  alias: string;
  from: string | null;
  to: string;
  passed: boolean;
  moved: boolean;
  forced: boolean;
  reason: string | null;
  by: string;
  at: string;
  gates: [string, string, number | null, number | null][];
}

export interface IVersionSummary {
  version: string;
  aliases: string[];
  run_id: string | null;
  model_id: string | null;
  created: number;
  gates_passed: boolean | null;
  last_decision: IDecision | null;
  has_card: boolean;
}

export interface IHistoryEntry {
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

export interface IModelDetail {
  name: string;
  tracking_uri: string;
  versions: IVersionSummary[];
  history: IHistoryEntry[];
}

export interface ICard {
  name: string;
  version: string;
  aliases: string[];
  markdown: string;
  html: string;
}

export type GateStatus = 'passed' | 'failed' | 'skipped';

export interface IGateResult {
  gate: string;
  status: GateStatus;
  summary: string;
  metric: string | null;
  value: number | null;
  threshold: number | null;
  details: Record<string, unknown>;
}

export interface IPromotionResult {
  name: string;
  version: string;
  alias: string;
  passed: boolean;
  moved: boolean;
  forced: boolean;
  gates: IGateResult[];
  previous_version: string | null;
  source: string;
  reason: string | null;
}

/** the progress event of a promote job (api.PromotionEvent) */
export interface IPromotionEvent {
  event: 'PromotionEvent';
  step: string;
  status: 'started' | 'passed' | 'failed' | 'skipped' | 'done';
  message: string;
}

export interface IPromoteRequest {
  source: string;
  name: string;
  alias?: string;
  require?: string[];
  no_regression?: boolean;
  eval_data?: string;
  target?: string;
  max_drift_share?: number;
  current?: string;
  service?: string;
  force?: boolean;
  reason?: string;
  notebook?: string;
}
