/**
 * The REST surface of the server extension, as the model sees it: a `Requester` that returns
 * parsed JSON or throws an `ApiError` carrying the server's message. No DOM, no JupyterLab.
 * The payload types are generated from the server's pydantic models (schema.ts).
 */
import type {
  CardResponse,
  CompareResponse,
  DriftReportResponse,
  DriftResponse,
  Job,
  JobsResponse,
  ModelResponse,
  ModelsResponse,
  PipelineResponse,
  PipelineResult,
  ProductionizeResult,
  PromotionResult,
  RunsPage,
  ServiceInfo,
  ServicesResponse,
  VersionResponse,
  WidgetModuleResponse
} from './schema';

export * from './schema';

/** Each route's response type: requests and fakes are checked against it (`*`: one path
 * segment, like a job id or a model's name). */
export interface IRoutes {
  version: VersionResponse;
  runs: RunsPage;
  'runs/compare': CompareResponse;
  pipeline: PipelineResponse;
  'pipeline/run': Job;
  productionize: Job;
  jobs: JobsResponse;
  'jobs/*': Job;
  drift: DriftResponse;
  'drift/report': DriftReportResponse;
  'drift/widget': WidgetModuleResponse;
  services: Job | ServicesResponse;
  models: ModelsResponse;
  'models/*': ModelResponse;
  'models/*/versions/*/card': CardResponse;
  promote: Job;
}

export type Route = keyof IRoutes;
export type JobState = Job['state'];

/** The result of a finished job, by the job's kind. */
export function productionizeResult(job: Job | null): ProductionizeResult | null {
  return job?.kind === 'productionize' && job.state === 'succeeded'
    ? (job.result as ProductionizeResult)
    : null;
}

export function pipelineResult(job: Job | null): PipelineResult | null {
  return job?.kind === 'pipeline' && job.state === 'succeeded' ? (job.result as PipelineResult) : null;
}

export function serviceResult(job: Job | null): ServiceInfo | null {
  return job?.kind === 'serve' && job.state === 'succeeded' ? (job.result as ServiceInfo) : null;
}

export function promotionResult(job: Job | null): PromotionResult | null {
  return job?.kind === 'promote' && job.state === 'succeeded' ? (job.result as PromotionResult) : null;
}

/** An error answered by the server (or the network): status 0 when there was no answer. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: Record<string, unknown> = {}
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface IRequestOptions {
  method?: 'GET' | 'POST';
  params?: Record<string, string>;
  body?: unknown;
}

export interface IRequester {
  /** GET or POST `path` under `/mlops-nb/` with query `params` or JSON `body`. */
  request<T>(path: string, options?: IRequestOptions): Promise<T>;
  /** GET a file (a run's figure) under `/mlops-nb/` as a Blob. */
  blob(path: string, params: Record<string, string>): Promise<Blob>;
}

export function queryString(params: Record<string, string> = {}): string {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== '');
  if (entries.length === 0) {
    return '';
  }
  return '?' + entries.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
