/** The `IRequester` of a running JupyterLab: authenticated requests through ServerConnection. */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { ApiError, IRequester, queryString } from './api';

export class ServerRequester implements IRequester {
  constructor(private readonly settings = ServerConnection.makeSettings()) {}

  async request<T>(
    path: string,
    options: { method?: 'GET' | 'POST'; params?: Record<string, string>; body?: unknown } = {}
  ): Promise<T> {
    const url =
      URLExt.join(this.settings.baseUrl, 'mlops-nb', path) + queryString(options.params);
    const init: RequestInit = { method: options.method ?? 'GET' };
    if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
    } catch (error) {
      throw new ApiError(0, `the Jupyter server did not answer: ${error}`);
    }
    const text = await response.text();
    let data: any = {};
    try {
      data = text ? JSON.parse(text) : {};
    } catch {
      data = { message: text };
    }
    if (!response.ok) {
      const message =
        response.status === 404 && !data.message
          ? 'the mlops-nb server extension is not enabled: pip install mlops-nb and restart Jupyter'
          : data.message || response.statusText;
      throw new ApiError(response.status, message, data);
    }
    return data as T;
  }
}
